"""Sync a 10,000-feature GeoPackage layer after 1 % of its features changed vs a full re-push of the layer, per
service, in the same run against a sandbox in its own process (rate limits off; see below for Mapiry's).

Each repeat starts from a reset sandbox and a fresh copy of the layer: the layer is synced once (not timed), then
100 features change (80 edited or moved, 10 deleted, 10 added) and the timed sync runs; the full re-push is the
same layer pushed whole (Mapsemble: upserted by its key onto the map that holds it; Mapiry: onto an empty map, as
republishing works without a sync). Figures: best sync / best re-push over REPEATS, and the write requests a sync
sends for 100 changes in a 10,000- and in a 20,000-feature layer (requests follow the changes, not the size).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_push import init_processing, reset, set_latency, start_sandbox  # noqa: E402

REPEATS = 5
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def make_gpkg(path, n):
    """A GeoPackage of n points (EPSG:3857, so every payload is transformed) with name, code, value, day."""
    from osgeo import ogr, osr

    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3857)
    layer = ds.CreateLayer("places", srs, ogr.wkbPoint)
    for name, kind in (("name", ogr.OFTString), ("code", ogr.OFTString), ("value", ogr.OFTReal),
                       ("day", ogr.OFTString)):
        layer.CreateField(ogr.FieldDefn(name, kind))
    layer.StartTransaction()
    for i in range(n):
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("name", f"Place {i}")
        feature.SetField("code", f"ID-{i}")
        feature.SetField("value", i * 0.5)
        feature.SetField("day", "2024-05-01")
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({500000 + i * 7.0} {6800000 + (i % 977) * 5.0})"))
        layer.CreateFeature(feature)
    layer.CommitTransaction()
    ds = None


def open_layer(path):
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(f"{path}|layername=places", "places", "ogr")
    assert layer.isValid(), path
    return layer


def change(layer, n_changed, seed):
    """Edit n_changed features through QGIS: 80 % attributes or geometry, 10 % deleted, 10 % added."""
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY

    ids = sorted(f.id() for f in layer.getFeatures())
    step = max(1, len(ids) // n_changed)
    picked = ids[seed % step::step][:n_changed]
    edited, deleted = picked[:n_changed * 8 // 10], picked[n_changed * 8 // 10:n_changed * 9 // 10]
    added = n_changed - len(edited) - len(deleted)
    name, value = layer.fields().lookupField("name"), layer.fields().lookupField("value")
    layer.startEditing()
    for k, fid in enumerate(edited):
        if k % 2:
            layer.changeAttributeValue(fid, name, f"Edited {fid} {seed}")
            layer.changeAttributeValue(fid, value, -1.0 * k)
        else:
            point = layer.getFeature(fid).geometry().asPoint()
            layer.changeGeometry(fid, QgsGeometry.fromPointXY(QgsPointXY(point.x() + 3.0, point.y() - 2.0)))
    for fid in deleted:
        layer.deleteFeature(fid)
    for k in range(added):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(400000 + k * 11.0, 6700000 + seed)))
        feature.setAttributes([None, f"Added {k} {seed}", f"NEW-{seed}-{k}", float(k), "2024-06-01"])
        layer.addFeature(feature)
    assert layer.commitChanges(), layer.commitErrors()


def run_alg(alg_id, params):
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsProject

    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    started = time.perf_counter()
    result = processing.run(alg_id, params, context=context, feedback=QgsProcessingFeedback())
    return time.perf_counter() - started, result


def requests_log(control):
    return requests.get(control + "/requests", timeout=60).json()


def clear_requests(control):
    requests.delete(control + "/requests", timeout=30).raise_for_status()


def new_mapiry_map(env, title):
    answer = requests.post(f"{env['MAPBRIDGE_MAPIRY_URL']}/maps", json={"title": title}, timeout=30,
                           headers={"Authorization": f"Bearer {env['MAPBRIDGE_MAPIRY_TOKEN']}"})
    answer.raise_for_status()
    return answer.json()["data"]["id"]


SERVICES = {
    "mapsemble": {"sync": "mapbridge:mapsemble_sync", "push": "mapbridge:mapsemble_push",
                  "sync_params": {"MAP_ID": "ms_demo", "LABEL_FIELD": "name", "KEY_FIELD": "code"},
                  "push_params": {"MAP_ID": "ms_demo", "LABEL_FIELD": "name", "REMOTE_ID_FIELD": "code",
                                  "FIELDS": ["name", "code", "value", "day"]}},
    "mapiry": {"sync": "mapbridge:mapiry_sync", "push": "mapbridge:mapiry_push",
               "sync_params": {"NAME_FIELD": "name", "KEY_FIELD": "code"},
               "push_params": {"NAME_FIELD": "name"}},
}


def one_repeat(service, env, control, workdir, template, n_changed, seed, with_push):
    """(sync seconds, sync write requests, sync requests, re-push seconds or None) for one repeat."""
    spec = SERVICES[service]
    reset(control)
    path = Path(workdir) / f"{service}-{seed}.gpkg"
    shutil.copy(template, path)
    layer = open_layer(path)
    params = dict(spec["sync_params"], INPUT=layer, OUTPUT="memory:")
    if service == "mapiry":
        params["MAP_ID"] = new_mapiry_map(env, f"Sync {seed}")
    _, first = run_alg(spec["sync"], params)
    assert first["CREATED"] == layer.featureCount(), first
    change(layer, n_changed, seed)
    clear_requests(control)
    seconds, result = run_alg(spec["sync"], params)
    log = requests_log(control)
    assert result["FAILED"] == 0 and result["NOT_SENT"] == 0, result
    changed = result["CREATED"] + result["UPDATED"] + result["DELETED"]
    assert changed == n_changed, result
    push_seconds = None
    if with_push:
        push_params = dict(spec["push_params"], INPUT=layer, OUTPUT="memory:")
        if service == "mapiry":
            push_params["MAP_ID"] = new_mapiry_map(env, f"Republish {seed}")
        push_seconds, pushed = run_alg(spec["push"], push_params)
        assert pushed["FAILED"] == 0 and pushed["CREATED"] + pushed["UPDATED"] == layer.featureCount(), pushed
    del layer
    return seconds, sum(1 for r in log if r["method"] in WRITES), len(log), push_seconds


def run(quick=False):
    """Rows: sync vs re-push per service (target ≤ 0.05), and write requests at 10,000 vs 20,000 features."""
    n, n_changed = (2000, 20) if quick else (10_000, 100)
    repeats = 2 if quick else REPEATS
    proc, env = start_sandbox()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    provider = init_processing()
    workdir = tempfile.mkdtemp(prefix="mapbridge-bench-sync-")
    try:
        control = env["MAPBRIDGE_MAPSEMBLE_URL"].split("/mapsemble/")[0] + "/_sandbox"
        set_latency(control, 0)
        template, double = Path(workdir) / "layer.gpkg", Path(workdir) / "double.gpkg"
        make_gpkg(template, n)
        make_gpkg(double, 2 * n)
        for service in SERVICES:
            syncs, pushes, writes, total = [], [], [], []
            for seed in range(repeats):
                seconds, n_writes, n_requests, push_seconds = one_repeat(service, env, control, workdir, template,
                                                                         n_changed, seed, True)
                syncs.append(seconds)
                pushes.append(push_seconds)
                writes.append(n_writes)
                total.append(n_requests)
            best_sync, best_push = min(syncs), min(pushes)
            yield {"name": f"{service}: sync {n:,} features, {n_changed} changed, vs full re-push",
                   "value": best_sync / best_push, "target": 0.05, "unit": "x",
                   "details": f"sync {best_sync:.3f} s (median {statistics.median(syncs):.3f}), re-push "
                              f"{best_push:.3f} s (median {statistics.median(pushes):.3f}), best of {repeats}; the sync "
                              f"sent {writes[0]} write requests of {total[0]} requests"}
            _, big_writes, big_total, _ = one_repeat(service, env, control, workdir, double, n_changed, 99, False)
            yield {"name": f"{service}: write requests for {n_changed} changes, {2 * n:,} vs {n:,} features",
                   "value": big_writes / writes[0], "target": 1.0, "unit": "x",
                   "details": f"{big_writes} write requests ({big_total} in all) at {2 * n:,} features, "
                              f"{writes[0]} ({total[0]} in all) at {n:,}"}
    finally:
        if provider is not None:
            from qgis.core import QgsApplication

            QgsApplication.processingRegistry().removeProvider(provider)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(workdir, ignore_errors=True)
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
