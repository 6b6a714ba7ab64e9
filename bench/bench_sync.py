"""Sync a 10,000-feature GeoPackage layer after 1 % of its features changed vs a full re-push of the layer, per
service, in the same run against the sandbox in its own process.

Each repeat starts from a reset sandbox and a fresh copy of the layer: the layer is synced once (not timed), then
100 features change (80 edited or moved, 10 deleted, 10 added) and the timed sync runs; the full re-push is the
same layer pushed whole right after (Mapsemble: upserted by its key onto the map that holds it; Mapiry: onto an
empty map, which is how a changed layer is republished without a sync).

Two network profiles, each the same for the sync and the re-push it is compared with: a network-like one (20 ms
per request, as bench_push uses, over a line of 10 Mbit/s up and 50 Mbit/s down, a common broadband or 4G line:
the sandbox holds each request while its bytes cross the uplink and each answer while they cross the downlink,
concurrent requests sharing the line; for Mapiry also its documented rate limits, 20 bulk requests an hour, with
the hour compressed to 36 s so the bench ends: the real hour makes the re-push 100 times longer and the ratio
smaller still), and none at all (CPU only, reported as information: reading the layer and writing a report row per
feature, which a sync cannot skip, against building and sending every payload).
Figures: best sync / best re-push, and how the write requests follow the changes, not the size of the layer.
For Mapsemble also the floor of any sync that writes the issue's report (one row per input feature): copying the
layer's rows into a memory sink in C++ plus one round trip per request, over the same re-push (information).
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import NamedTuple


from bench_push import init_processing
from sandbox_process import SandboxProcess

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


SERVICES = {
    "mapsemble": {"sync": "mapbridge:mapsemble_sync", "push": "mapbridge:mapsemble_push",
                  "sync_params": {"MAP_ID": "ms_demo", "LABEL_FIELD": "name", "KEY_FIELD": "code"},
                  "push_params": {"MAP_ID": "ms_demo", "LABEL_FIELD": "name", "REMOTE_ID_FIELD": "code",
                                  "FIELDS": ["name", "code", "value", "day"]}},
    "mapiry": {"sync": "mapbridge:mapiry_sync", "push": "mapbridge:mapiry_push",
               "sync_params": {"NAME_FIELD": "name", "KEY_FIELD": "code"},
               "push_params": {"NAME_FIELD": "name"}},
}
class Profile(NamedTuple):
    """A network as the sandbox plays it, the same for a sync and the re-push it is compared with."""

    latency_ms: float = 0           # added to every request
    limits: bool = False            # Mapiry's documented rate limits
    window: float = 3600            # their window in seconds
    upload_mbps: float = 0          # the client's line (0: no limit)
    download_mbps: float = 0

    def configure(self, sandbox):
        sandbox.configure(mapiry_rate_limits=self.limits, mapiry_rate_window=self.window,
                          latency_ms=self.latency_ms, upload_mbps=self.upload_mbps, download_mbps=self.download_mbps)

    def describe(self):
        if not (self.latency_ms or self.limits or self.upload_mbps or self.download_mbps):
            return "no network (CPU only)"
        where = f"{self.latency_ms:g} ms per request"
        if self.upload_mbps or self.download_mbps:
            where += f" over a line of {self.upload_mbps:g} Mbit/s up, {self.download_mbps:g} Mbit/s down"
        if self.limits:
            where += f", Mapiry's documented rate limits with the hour compressed to {self.window:.0f} s"
        return where


CPU_ONLY = Profile()
LINE = {"upload_mbps": 10, "download_mbps": 50}
NETWORK = {"mapsemble": Profile(20, **LINE), "mapiry": Profile(20, True, 36, **LINE)}


class Bench:
    """The sandbox, a template layer per size, and the runs."""

    def __init__(self, sandbox, workdir):
        self.sandbox, self.workdir = sandbox, workdir
        self.templates = {}
        self.runs = 0

    def template(self, n):
        if n not in self.templates:
            self.templates[n] = Path(self.workdir) / f"layer-{n}.gpkg"
            make_gpkg(self.templates[n], n)
        return self.templates[n]

    def repeat(self, service, n, n_changed, profile, with_push):
        """(sync seconds, sync write requests, sync requests, re-push seconds or None, request bytes the sync and
        the re-push sent) for one repeat."""
        spec = SERVICES[service]
        self.runs += 1
        self.sandbox.reset()
        CPU_ONLY.configure(self.sandbox)
        path = Path(self.workdir) / f"{service}-{self.runs}.gpkg"
        shutil.copy(self.template(n), path)
        layer = open_layer(path)
        params = dict(spec["sync_params"], INPUT=layer, OUTPUT="memory:")
        if service == "mapiry":
            params["MAP_ID"] = self.sandbox.new_mapiry_map(f"Sync {self.runs}")
        _, first = run_alg(spec["sync"], params)
        assert first["CREATED"] == layer.featureCount(), first
        change(layer, n_changed, self.runs)
        # Fresh rate-limit windows from here on: the untimed first sync used none of them.
        profile.configure(self.sandbox)
        self.sandbox.clear_requests()
        seconds, result = run_alg(spec["sync"], params)
        log = self.sandbox.requests_log()
        assert result["FAILED"] == 0 and result["NOT_SENT"] == 0, result
        assert result["CREATED"] + result["UPDATED"] + result["DELETED"] == n_changed, result
        push_seconds = push_bytes = None
        if with_push:
            push_params = dict(spec["push_params"], INPUT=layer, OUTPUT="memory:")
            if service == "mapiry":
                push_params["MAP_ID"] = self.sandbox.new_mapiry_map(f"Republish {self.runs}")
            self.sandbox.clear_requests()
            push_seconds, pushed = run_alg(spec["push"], push_params)
            assert pushed["FAILED"] == 0 and pushed["CREATED"] + pushed["UPDATED"] == layer.featureCount(), pushed
            push_bytes = sum(r["body_size"] for r in self.sandbox.requests_log())
        del layer
        return (seconds, sum(1 for r in log if r["method"] in WRITES), len(log), push_seconds,
                sum(r["body_size"] for r in log), push_bytes)


def report_copy_seconds(path, repeats=3):
    """Best time to copy every feature of a layer into a Processing memory sink, all in C++ (no Python per feature):
    the least a report with one row per input feature costs, whatever a sync does to find what changed."""
    from qgis.core import QgsProcessingContext, QgsProcessingUtils

    layer = open_layer(path)
    best = None
    for _ in range(repeats):
        context = QgsProcessingContext()
        started = time.perf_counter()
        sink, _ = QgsProcessingUtils.createFeatureSink("memory:", context, layer.fields(), layer.wkbType(),
                                                       layer.crs())
        assert sink.addFeatures(layer.getFeatures())
        del sink
        seconds = time.perf_counter() - started
        best = seconds if best is None else min(best, seconds)
    return best


def floor_row(bench, service, n, profile, sync_row):
    """The least any sync keeping the issue's report could take, over the same re-push: copying the report rows
    (report_copy_seconds) plus one round trip per request this sync sent, with no other work at all."""
    copy = report_copy_seconds(bench.template(n))
    requests_sent, best_push = sync_row["requests"], sync_row["push_seconds"]
    floor = copy + requests_sent * profile.latency_ms / 1000
    return {"name": f"{service}: floor of any sync with a report row per feature, vs full re-push",
            "value": floor / best_push, "target": None, "unit": "x",
            "details": f"copying the {n:,} rows into a memory sink in C++ {copy * 1000:.0f} ms + {requests_sent} "
                       f"requests x {profile.latency_ms:g} ms = {floor * 1000:.0f} ms, against the re-push's "
                       f"{best_push:.3f} s (information: what the 5 % target leaves for everything else)"}


def ratio_row(bench, service, n, n_changed, profile, repeats, target):
    """Best sync / best full re-push; the re-push is timed once when rate limits make it minutes long."""
    syncs, pushes, counts = [], [], []
    for k in range(repeats):
        with_push = k == 0 or not profile.limits
        seconds, n_writes, n_requests, push_seconds, sync_bytes, push_bytes = bench.repeat(
            service, n, n_changed, profile, with_push)
        syncs.append(seconds)
        counts.append((n_writes, n_requests, sync_bytes))
        if push_seconds is not None:
            pushes.append((push_seconds, push_bytes))
    best_sync, (best_push, push_bytes) = min(syncs), min(pushes)
    return {"name": f"{service}: sync {n:,} features, {n_changed} changed, vs full re-push"
                    + ("" if profile != CPU_ONLY else " (CPU only)"),
            "value": best_sync / best_push, "target": target, "unit": "x",
            "details": f"sync {best_sync:.3f} s (median {statistics.median(syncs):.3f} of {len(syncs)}), full re-push "
                       f"{best_push:.3f} s (best of {len(pushes)}); the sync sent {counts[0][0]} write requests of "
                       f"{counts[0][1]} ({counts[0][2] / 1e3:,.0f} kB of request bodies), the re-push "
                       f"{push_bytes / 1e6:,.2f} MB; {profile.describe()}",
            "requests": counts[0][1], "push_seconds": best_push}, counts[0][0]


def run(quick=False):
    """Rows: sync vs full re-push per service and profile, and how the write requests follow the changes."""
    n, n_changed = (2000, 20) if quick else (10_000, 100)
    repeats = 2 if quick else REPEATS
    sandbox = SandboxProcess(100, "--no-rate-limits")
    env = sandbox.env
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    provider = init_processing()
    workdir = tempfile.mkdtemp(prefix="mapbridge-bench-sync-")
    try:
        bench = Bench(sandbox, workdir)
        for service in SERVICES:
            row, writes = ratio_row(bench, service, n, n_changed, NETWORK[service], repeats, 0.05)
            yield row
            if service == "mapsemble":
                yield floor_row(bench, service, n, NETWORK[service], row)
            row, _ = ratio_row(bench, service, n, n_changed, CPU_ONLY, repeats, None)
            yield row
            _, double_writes, double_total, *_ = bench.repeat(service, 2 * n, n_changed, CPU_ONLY, False)
            yield {"name": f"{service}: write requests for {n_changed} changes, {2 * n:,} vs {n:,} features",
                   "value": double_writes / writes, "target": 1.0, "unit": "x",
                   "details": f"{double_writes} write requests ({double_total} in all) at {2 * n:,} features, "
                              f"{writes} at {n:,}: they follow the changes, not the layer"}
            _, more_writes, more_total, *_ = bench.repeat(service, n, 2 * n_changed, CPU_ONLY, False)
            yield {"name": f"{service}: write requests for {2 * n_changed} vs {n_changed} changes",
                   "value": more_writes / writes, "target": 2.0, "unit": "x",
                   "details": f"{more_writes} write requests ({more_total} in all) for {2 * n_changed} changes, "
                              f"{writes} for {n_changed} (batched creates and deletes grow slower than the changes)"}
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
        sandbox.stop()
