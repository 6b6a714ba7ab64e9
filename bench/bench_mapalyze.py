"""Mapalyze load: wall time vs the hand-made floor, memory growth with the record count, main-thread stalls."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from sandbox_process import SandboxProcess

ROOT = Path(__file__).resolve().parent.parent
PAGE = 500
RUNS = 3  # best of N for each timed figure (the same N for the floor and for Mapbridge)


def _page_urls(sandbox, total):
    return [(sandbox.url("mapalyze") + "/records", {"format": "geojson", "limit": PAGE, "offset": offset})
            for offset in range(0, max(total, 1), PAGE)]


def floor_seconds(sandbox, total, workdir):
    """Sequential raw fetch of every page + one ogr2ogr of the concatenated GeoJSON into a GeoPackage."""
    started = time.perf_counter()
    session = requests.Session()
    headers = {"Authorization": f"Bearer {sandbox.token('mapalyze')}"}
    parts = []
    for url, params in _page_urls(sandbox, total):
        body = session.get(url, params=params, headers=headers, timeout=60).content
        start = body.index(b'"features":[') + len(b'"features":[')
        end = body.rindex(b"]")
        if end > start:
            parts.append(body[start:end])
    geojson = os.path.join(workdir, "floor.geojson")
    with open(geojson, "wb") as out:
        out.write(b'{"type":"FeatureCollection","features":[' + b",".join(parts) + b"]}")
    gpkg = os.path.join(workdir, "floor.gpkg")
    subprocess.run(["ogr2ogr", "-f", "GPKG", gpkg, geojson], check=True, capture_output=True)
    return time.perf_counter() - started


def mapbridge_seconds(sandbox, workdir):
    """Mapbridge's load of every record (the algorithm's job) into a GeoPackage."""
    from mapbridge.api.config import resolve
    from mapbridge.api.mapalyze import MapalyzeClient
    from mapbridge.core.mapalyze.load import load_records

    path = os.path.join(workdir, "mapbridge.gpkg")
    if os.path.exists(path):
        os.remove(path)
    started = time.perf_counter()
    client = MapalyzeClient(resolve("mapalyze", sandbox.url("mapalyze"), sandbox.token("mapalyze"), environ={}))
    result = load_records(client, path, "records")
    client.close()
    return time.perf_counter() - started, result


def timed_ratio(sandbox, total, workdir):
    floors, ours, result = [], [], None
    for _ in range(RUNS):
        floors.append(floor_seconds(sandbox, total, workdir))
        seconds, result = mapbridge_seconds(sandbox, workdir)
        ours.append(seconds)
    if result.count != total:
        raise AssertionError(f"Mapbridge loaded {result.count} of {total} records")
    return min(ours) / min(floors), min(ours), min(floors)


MEMORY_SCRIPT = r"""
import json, os, resource, sys, threading, time
sys.path.insert(0, sys.argv[1])
from qgis.core import QgsApplication
app = QgsApplication([], False); app.initQgis()
from mapbridge.api.config import resolve
from mapbridge.api.mapalyze import MapalyzeClient
from mapbridge.core.mapalyze.load import load_records

PAGE = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE
peak = [0]
done = threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.005)
client = MapalyzeClient(resolve("mapalyze", sys.argv[2], sys.argv[3], environ={}))
before = rss()
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
result = load_records(client, sys.argv[4], "records")
done.set(); sampler.join()
peak[0] = max(peak[0], rss())
print(json.dumps({"count": result.count, "peak": peak[0], "before": before}))
"""


def peak_memory_mb(sandbox, workdir, records):
    """(peak RSS, RSS before the load) in MB of a fresh process loading `records` records (sampled every 5 ms)."""
    sandbox.configure(records=records)
    sandbox.clear_requests()
    path = os.path.join(workdir, f"mem_{records}.gpkg")
    proc = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(ROOT / ".build" / "plugins"),
                           sandbox.url("mapalyze"), sandbox.token("mapalyze"), path], capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not line:
        raise RuntimeError(f"memory run failed: {proc.stderr[-2000:]}")
    data = json.loads(line[-1])
    if data["count"] != records:
        raise AssertionError(f"memory run loaded {data['count']} of {records}")
    return data["peak"] / 2 ** 20, data["before"] / 2 ** 20


def heartbeat_ms(sandbox, workdir, total):
    """Largest gap of a 10 ms main-thread QTimer while the dock's background run loads every record."""
    from qgis.core import QgsApplication, QgsProject
    from qgis.PyQt.QtCore import QEventLoop, QTimer

    from mapbridge.processing.provider import MapbridgeProvider
    from mapbridge.ui.mapalyze.loader import LoadController

    registry = QgsApplication.processingRegistry()
    if registry.providerById("mapbridge") is None:
        registry.addProvider(MapbridgeProvider())
    os.environ["MAPBRIDGE_MAPALYZE_URL"] = sandbox.url("mapalyze")
    os.environ["MAPBRIDGE_MAPALYZE_TOKEN"] = sandbox.token("mapalyze")
    gaps = []
    last = [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    loop = QEventLoop()
    outcome = {}
    controller = LoadController(None)

    def finished(result):
        outcome.update(ok=result.ok, layer=result.results, message=result.message)
        QTimer.singleShot(300, loop.quit)  # keep measuring while the layer is added and drawn

    controller.finished.connect(finished)
    timer.start()
    last[0] = time.perf_counter()
    controller.load(form_id=None, since=None, folder=workdir)
    loop.exec()
    timer.stop()
    if not outcome.get("ok"):
        raise RuntimeError(outcome.get("message"))
    layer = outcome["layer"]
    if layer.featureCount() != total:
        raise AssertionError(f"dock loaded {layer.featureCount()} of {total}")
    QgsProject.instance().removeAllMapLayers()
    return max(gaps[1:]) * 1000.0


def run(quick=False):
    """Yield the Mapalyze figures."""
    total = 20_000 if quick else 100_000
    small = 4_000 if quick else 20_000
    workdir = tempfile.mkdtemp(prefix="mapbridge-bench-mapalyze-")
    sandbox = SandboxProcess(total, "--no-rate-limits")
    try:
        # Warm the server (it serialises each record once) so neither side pays for it.
        floor_seconds(sandbox, total, workdir)
        ratio, ours, floor = timed_ratio(sandbox, total, workdir)
        yield {"name": f"mapalyze load {total // 1000}k / (raw fetch + ogr2ogr)", "value": ratio, "target": 1.0,
               "unit": "x", "details": f"mapbridge {ours:.2f} s, floor {floor:.2f} s"}
        sandbox.configure(latency_ms=20)
        sandbox.clear_requests()
        ratio, ours, floor = timed_ratio(sandbox, total, workdir)
        sandbox.configure(latency_ms=0)
        sandbox.clear_requests()
        yield {"name": f"mapalyze load {total // 1000}k, 20 ms latency / floor", "value": ratio, "target": 0.8,
               "unit": "x", "details": f"mapbridge {ours:.2f} s, floor {floor:.2f} s"}
        stall = heartbeat_ms(sandbox, workdir, total)
        yield {"name": f"mapalyze dock load {total // 1000}k: longest main-thread stall", "value": stall,
               "target": 100, "unit": "ms", "details": "10 ms QTimer heartbeat during the background load"}
        low, low_before = peak_memory_mb(sandbox, workdir, small)
        high, high_before = peak_memory_mb(sandbox, workdir, total)
        yield {"name": f"mapalyze peak memory {total // 1000}k - {small // 1000}k", "value": high - low,
               "target": 25, "unit": "MB",
               "details": f"peak RSS {high:.0f} MB vs {low:.0f} MB (the load adds {high - high_before:.0f} MB "
                          f"vs {low - low_before:.0f} MB)"}
    finally:
        sandbox.stop()
        shutil.rmtree(workdir, ignore_errors=True)
