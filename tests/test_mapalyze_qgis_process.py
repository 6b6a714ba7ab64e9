"""qgis_process runs `mapbridge:mapalyze_records` like a user's script would."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from qgis.core import QgsVectorLayer

ROOT = Path(__file__).resolve().parent.parent
QGIS_PROCESS = "/usr/bin/qgis_process.bin"

pytestmark = pytest.mark.skipif(not Path(QGIS_PROCESS).exists(), reason="qgis_process.bin not installed")


@pytest.fixture
def env(tmp_path, sandbox):
    env = dict(os.environ)
    env.update(sandbox.env())
    env.update({"QGIS_PLUGINPATH": str(ROOT / ".build" / "plugins"), "QT_QPA_PLATFORM": "offscreen",
                "QGIS_CUSTOM_CONFIG_PATH": str(tmp_path / "profile")})
    subprocess.run([QGIS_PROCESS, "plugins", "enable", "mapbridge"], env=env, check=True, capture_output=True,
                   timeout=120)
    return env


def qgis_process(env, *args):
    return subprocess.run([QGIS_PROCESS, "--json", "run", "mapbridge:mapalyze_records", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_qgis_process_writes_the_geopackage(env, sandbox, tmp_path):
    out = str(tmp_path / "water.gpkg")
    proc = qgis_process(env, "--FORM_ID=form_WaterPoint", "--SINCE=2025-06-01T00:00:00Z", f"--OUTPUT={out}")
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout[proc.stdout.index("{"):])["results"]
    expected = [r for r in sandbox.state.mapalyze.records("form_WaterPoint")
                if r["properties"]["captured_at"] > "2025-06-01T00:00:00Z"]
    assert results["RECORDS"] == len(expected)
    layer = QgsVectorLayer(out, "water", "ogr")
    assert layer.featureCount() == len(expected)
    assert {r.query.get("since", [""])[0] for r in sandbox.requests if r.path == "/records"} == {
        "2025-06-01T00:00:00Z"}


def test_qgis_process_reports_a_bad_token_without_traceback(env, tmp_path):
    env["MAPBRIDGE_MAPALYZE_TOKEN"] = "nope"
    out = tmp_path / "denied.gpkg"
    proc = qgis_process(env, f"--OUTPUT={out}")
    assert proc.returncode != 0
    assert "Invalid API token" in proc.stderr + proc.stdout and "Traceback" not in proc.stderr
    assert not out.exists()
