"""Mapflow result loading: a 200,000-polygon result vs ogr2ogr of the same GeoJSON, and peak memory growth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sandbox_process import SandboxProcess

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / ".build" / "plugins"
AOI = {"type": "Polygon", "coordinates": [[[37.60, 55.74], [37.66, 55.74], [37.66, 55.77], [37.60, 55.77],
                                           [37.60, 55.74]]]}  # about 7 km²


def mapflow_client(url, token):
    """A Mapflow client for the sandbox."""
    sys.path.insert(0, str(PLUGINS))
    from mapbridge.api.config import ServiceConfig
    from mapbridge.api.mapflow import MapflowClient

    return MapflowClient(ServiceConfig("mapflow", url, token))


def finished_processing(client):
    """A processing with status OK (the sandbox finishes at once with --processing-seconds 0)."""
    answer = client.create_processing({"name": "bench", "wdName": "🏠 Buildings", "geometry": AOI,
                                       "params": {"sourceParams": {"dataProvider": {"providerName": "Mapbox",
                                                                                    "zoom": 18}}}})
    for _ in range(100):
        if client.processing(answer["id"])["status"] == "OK":
            return answer["id"]
        time.sleep(0.1)
    raise RuntimeError("the sandbox processing did not finish")


def load_in_subprocess(url, token, processing_id, output):
    """Run mapbridge:mapflow_results in a fresh QGIS process; returns its {seconds, rss_before_mb, peak_mb}."""
    env = dict(os.environ, MAPBRIDGE_MAPFLOW_URL=url, MAPBRIDGE_MAPFLOW_TOKEN=token, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, __file__, "--child", processing_id, output], env=env,
                          capture_output=True, text=True, timeout=900)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"the loader failed: {proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def ogr2ogr_seconds(source, output):
    """Wall time of ogr2ogr GeoJSON → GeoPackage."""
    if os.path.exists(output):
        os.remove(output)
    started = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "GPKG", output, source], check=True, capture_output=True, timeout=900)
    return time.perf_counter() - started


def measure(result_features, folder, repeats):
    """(best load seconds, best ogr2ogr seconds, peak RSS growth MB, file MB) for one result size."""
    sandbox = SandboxProcess(10, "--processing-seconds", "0", "--result-features", str(result_features))
    url, token = sandbox.url("mapflow"), sandbox.token("mapflow")
    try:
        client = mapflow_client(url, token)
        processing_id = finished_processing(client)
        geojson = os.path.join(folder, f"result-{result_features}.geojson")
        client.download_result(processing_id, geojson)  # also makes the sandbox generate its file once
        loads, baselines, growth = [], [], []
        for i in range(repeats):
            baselines.append(ogr2ogr_seconds(geojson, os.path.join(folder, f"ogr-{result_features}-{i}.gpkg")))
            child = load_in_subprocess(url, token, processing_id,
                                       os.path.join(folder, f"mapbridge-{result_features}-{i}.gpkg"))
            loads.append(child["seconds"])
            growth.append(child["peak_mb"] - child["rss_before_mb"])
            if child["features"] != result_features:
                raise RuntimeError(f"loaded {child['features']} features instead of {result_features}")
        return min(loads), min(baselines), min(growth), os.path.getsize(geojson) / 1e6
    finally:
        sandbox.stop()


def run(quick=False):
    """Rows for bench/run.py."""
    big, small = (40_000, 10_000) if quick else (200_000, 50_000)
    repeats = 1 if quick else 2
    with tempfile.TemporaryDirectory(prefix="bench-mapflow-") as folder:
        load, baseline, growth_big, size = measure(big, folder, repeats)
        yield {"name": f"mapflow: load a {big:,}-polygon result / ogr2ogr", "value": load / baseline,
               "target": 1.3, "unit": "x",
               "details": f"{load:.2f} s vs ogr2ogr {baseline:.2f} s; GeoJSON {size:.0f} MB (download included)"}
        _, _, growth_small, _ = measure(small, folder, 1)
        yield {"name": f"mapflow: peak RSS growth, {big:,} vs {small:,} polygons", "value":
               growth_big / max(growth_small, 1.0), "target": 2.0, "unit": "x",
               "details": f"{growth_big:.0f} MB vs {growth_small:.0f} MB (proportional would be "
                          f"{big / small:.0f}x)"}
        yield {"name": f"mapflow: peak RSS growth loading {big:,} polygons", "value": growth_big, "target": None,
               "unit": "MB", "details": f"GeoJSON of {size:.0f} MB"}


def _vm(field):
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def child(processing_id, output):
    """In the loader process: QGIS, the provider, then time mapflow_results alone."""
    sys.path.insert(0, str(PLUGINS))
    from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingFeedback, QgsVectorLayer

    app = QgsApplication([], False)
    app.initQgis()
    from mapbridge.processing.mapflow_results import MapflowResultsAlgorithm
    from mapbridge.processing.provider import MapbridgeProvider

    class MapflowResultsProvider(MapbridgeProvider):
        """Only the algorithm measured (the other jobs' modules are not loaded)."""

        def loadAlgorithms(self):  # noqa: N802 - QGIS API name
            self.addAlgorithm(MapflowResultsAlgorithm())

    provider = MapflowResultsProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("mapbridge:mapflow_results")
    context, feedback = QgsProcessingContext(), QgsProcessingFeedback()
    before = _vm("VmRSS")
    started = time.perf_counter()
    results, ok = algorithm.run({"PROCESSING_ID": processing_id, "OUTPUT": output}, context, feedback)
    seconds = time.perf_counter() - started
    if not ok:
        raise SystemExit("mapflow_results failed")
    features = QgsVectorLayer(results["OUTPUT"], "r", "ogr").featureCount()
    print(json.dumps({"seconds": seconds, "rss_before_mb": before, "peak_mb": _vm("VmHWM"), "features": features}))
    sys.stdout.flush()
    os._exit(0)  # skip QGIS teardown: only the figures matter here


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--child":
    child(sys.argv[2], sys.argv[3])
