"""The sandbox standalone (sandbox/__main__.py): `python -m sandbox` from the checkout or as mapbridge.sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

import mapbridge

ROOT = Path(mapbridge.__file__).resolve().parent


def _read_startup(proc):
    lines = []
    deadline = time.time() + 20
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("export MAPBRIDGE_MAPSEMBLE_TOKEN="):
            return lines
    err = proc.stderr.read() if proc.poll() is not None else ""
    raise AssertionError(f"standalone sandbox did not start: {lines} {err}")


@pytest.mark.parametrize("module", ["sandbox", "mapbridge.sandbox"])
def test_standalone_runner(module, tmp_path):
    env = dict(os.environ)
    cwd = ROOT
    if module == "mapbridge.sandbox":
        (tmp_path / "mapbridge").symlink_to(ROOT)
        env["PYTHONPATH"] = str(tmp_path)
        cwd = tmp_path
    proc = subprocess.Popen([sys.executable, "-m", module, "--port", "0", "--records", "100"], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = _read_startup(proc)
        urls = dict(line.split(" ", 1) for line in lines[:4])
        assert list(urls) == ["mapalyze", "mapflow", "mapiry", "mapsemble"]
        assert urls["mapalyze"].startswith("http://127.0.0.1:") and urls["mapalyze"].endswith("/mapalyze/v1")
        assert "export MAPBRIDGE_MAPALYZE_URL=" + urls["mapalyze"] in lines
        r = requests.get(urls["mapalyze"] + "/records", headers={"Authorization": "Bearer sandbox-mapalyze-token"})
        assert r.json()["total"] == 100
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
