"""Push 10,000 features to Mapsemble and 2,000 points to Mapiry vs a plain requests loop sending the same batches.

Each repeat runs the plain loop and the push back to back on a freshly reset sandbox (in its own process,
rate limits off), so load from elsewhere hits both alike; the figure is best push / best plain loop over
REPEATS, and the details give the per-feature times and the median of the paired ratios too.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import requests
from sandbox_process import SandboxProcess

ROOT = Path(__file__).resolve().parent.parent
QGIS_PLUGINS = "/usr/share/qgis/python/plugins"
REPEATS = 7


def init_processing():
    """QGIS Processing with the Mapbridge provider (QgsApplication is up: bench/run.py started it)."""
    from qgis.core import QgsApplication

    if QGIS_PLUGINS not in sys.path:
        sys.path.insert(0, QGIS_PLUGINS)
    from processing.core.Processing import Processing

    Processing.initialize()
    from mapbridge.processing.provider import MapbridgeProvider

    registry = QgsApplication.processingRegistry()
    if registry.providerById("mapbridge") is None:
        provider = MapbridgeProvider()
        registry.addProvider(provider)
        return provider
    return None


def make_layer(n, fields):
    """A memory point layer of n features in EPSG:3857 (so the push also transforms)."""
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer

    layer = QgsVectorLayer("Point?crs=EPSG:3857" + "".join(f"&field={f}" for f in fields), "bench", "memory")
    features = []
    for i in range(n):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(500000 + i * 7.0, 6800000 + (i % 977) * 5.0)))
        feature.setAttributes([f"Place {i}", f"ID-{i}", i * 0.5, "2024-05-01"][:len(fields)])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def payload_batches(layer, builder, size):
    """The request items our push sends, cut like it cuts them (built with the same code, outside the timing)."""
    items = [builder(f) for f in layer.getFeatures()]
    return [items[i:i + size] for i in range(0, len(items), size)]


def run_push(alg_id, params):
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsProject

    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    started = time.perf_counter()
    result = processing.run(alg_id, params, context=context, feedback=QgsProcessingFeedback())
    return time.perf_counter() - started, result


def plain_loop(url, token, bodies):
    """The baseline: one requests session posting the same bodies one after the other."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    started = time.perf_counter()
    for body in bodies:
        response = session.post(url, json=body, timeout=60)
        response.raise_for_status()
    elapsed = time.perf_counter() - started
    session.close()
    return elapsed


def bench_mapsemble(sandbox, n, latency_ms):
    """(ours, plain) lists of seconds over REPEATS for n features to a Mapsemble map."""
    from qgis.core import QgsCoordinateTransformContext

    from mapbridge.core.push.payloads import MapsemblePayloads

    base = sandbox.url("mapsemble")
    layer = make_layer(n, ["name:string", "code:string", "value:double", "day:string"])
    builder = MapsemblePayloads(layer.fields(), layer.crs(), QgsCoordinateTransformContext(), label_field="name")
    bodies = [{"type": "FeatureCollection", "features": batch} for batch in payload_batches(layer, builder, 500)]
    ours, plain = [], []
    for _ in range(REPEATS):
        sandbox.reset()
        sandbox.configure(latency_ms=latency_ms)
        plain.append(plain_loop(f"{base}/maps/ms_plain/features", sandbox.token("mapsemble"), bodies))
        sandbox.reset()
        sandbox.configure(latency_ms=latency_ms)
        elapsed, result = run_push("mapbridge:mapsemble_push", {
            "INPUT": layer, "MAP_ID": "ms_plain", "LABEL_FIELD": "name", "OUTPUT": "memory:"})
        assert result["CREATED"] == n, result
        ours.append(elapsed)
    return ours, plain, len(bodies)


def bench_mapiry(sandbox, n, latency_ms):
    """(ours, plain) lists of seconds over REPEATS for n points to an existing empty Mapiry map."""
    from qgis.core import QgsCoordinateTransformContext

    from mapbridge.core.push.payloads import MapiryPayloads

    base = sandbox.url("mapiry")
    token = sandbox.token("mapiry")
    layer = make_layer(n, ["name:string"])
    builder = MapiryPayloads(layer.fields(), layer.crs(), QgsCoordinateTransformContext(), "name")
    bodies = [{"locations": batch} for batch in payload_batches(layer, builder, 100)]

    def new_map():
        sandbox.reset()
        sandbox.configure(latency_ms=latency_ms)
        return sandbox.new_mapiry_map("Bench")

    ours, plain = [], []
    for _ in range(REPEATS):
        map_id = new_map()
        plain.append(plain_loop(f"{base}/maps/{map_id}/locations/bulk", token, bodies))
        map_id = new_map()
        elapsed, result = run_push("mapbridge:mapiry_push", {
            "INPUT": layer, "MAP_ID": map_id, "NAME_FIELD": "name", "OUTPUT": "memory:"})
        assert result["CREATED"] == n, result
        ours.append(elapsed)
    return ours, plain, len(bodies)


def row(name, n, ours, plain, requests_count, latency_ms):
    """A ratio row: best push / best plain loop; per-feature times and the median paired ratio in the details."""
    where = "local sandbox, no added latency (CPU-bound)" if not latency_ms else f"{latency_ms} ms per request"
    best_ours, best_plain = min(ours), min(plain)
    paired = statistics.median(o / p for o, p in zip(ours, plain))
    return {"name": name, "value": best_ours / best_plain, "target": 1.2, "unit": "x",
            "details": f"push {best_ours:.3f} s ({best_ours / n * 1e6:.1f} µs/feature), plain loop {best_plain:.3f} s "
                       f"({best_plain / n * 1e6:.1f} µs/feature), median paired ratio {paired:.2f}, best of "
                       f"{len(ours)}, {requests_count} requests, {where}"}


def run(quick=False):
    """Yield the ratio rows: Mapsemble and Mapiry, without and with a network-like latency."""
    n_mapsemble, n_mapiry = (2000, 400) if quick else (10_000, 2000)
    sandbox = SandboxProcess(100, "--no-rate-limits")
    env = sandbox.env
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    provider = init_processing()
    try:
        for latency_ms in (0, 20):
            suffix = "" if not latency_ms else f" ({latency_ms} ms latency)"
            ours, plain, count = bench_mapsemble(sandbox, n_mapsemble, latency_ms)
            yield row(f"push {n_mapsemble} features to Mapsemble vs plain loop{suffix}", n_mapsemble, ours, plain,
                      count, latency_ms)
            ours, plain, count = bench_mapiry(sandbox, n_mapiry, latency_ms)
            yield row(f"push {n_mapiry} points to Mapiry vs plain loop{suffix}", n_mapiry, ours, plain, count,
                      latency_ms)
    finally:
        if provider is not None:
            from qgis.core import QgsApplication

            QgsApplication.processingRegistry().removeProvider(provider)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        sandbox.stop()
