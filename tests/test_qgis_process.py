"""qgis_process (the command line Processing runner) sees the provider and runs an algorithm."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QGIS_PROCESS = "/usr/bin/qgis_process.bin"

pytestmark = pytest.mark.skipif(not Path(QGIS_PROCESS).exists(), reason="qgis_process.bin not installed")


@pytest.fixture
def qgis_process_env(tmp_path, sandbox):
    env = dict(os.environ)
    env.update(sandbox.env())
    env.update({"QGIS_PLUGINPATH": str(ROOT / ".build" / "plugins"), "QT_QPA_PLATFORM": "offscreen",
                "QGIS_CUSTOM_CONFIG_PATH": str(tmp_path / "profile")})
    subprocess.run([QGIS_PROCESS, "plugins", "enable", "mapbridge"], env=env, check=True, capture_output=True,
                   timeout=120)
    return env


def qgis_process(env, *args):
    """Run qgis_process.bin and return its stdout."""
    proc = subprocess.run([QGIS_PROCESS, *args], env=env, capture_output=True, text=True, timeout=300)
    return proc


def test_provider_is_listed(qgis_process_env):
    out = qgis_process(qgis_process_env, "list").stdout
    assert "mapbridge:check_connections" in out


def test_check_connections_runs_against_sandbox(qgis_process_env, sandbox):
    proc = qgis_process(qgis_process_env, "--json", "run", "mapbridge:check_connections")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert result["results"]["CONNECTED"] == 4
    assert {r.service for r in sandbox.requests} == {"mapalyze", "mapflow", "mapiry", "mapsemble"}
