"""qgis_process (the command line Processing runner) sees the provider and runs the algorithms like a user's script
would (conftest's `qgis_process`)."""

from __future__ import annotations

import json

from qgis.core import QgsGeometry, QgsRectangle, QgsVectorLayer

from mapbridge.core.timestamps import epoch_seconds

ALG = "mapbridge:mapalyze_records"  # the two Mapalyze runs below
MOSCOW = QgsRectangle(37.6156, 55.7558, 37.6256, 55.7608)  # the Processing page's example AOI


def test_provider_and_every_algorithm_are_listed(qgis_process):
    out = qgis_process("list").stdout
    for alg in ("check_connections", "mapalyze_records", "mapiry_push", "mapsemble_push", "mapalyze_push",
                "mapflow_process", "mapflow_results", "mapflow_catalog", "mapflow_upload", "mapsemble_sync",
                "mapiry_sync"):
        assert f"mapbridge:{alg}" in out


def test_check_connections_runs_against_sandbox(qgis_process, sandbox):
    code, result, stderr = qgis_process.run_json("mapbridge:check_connections")
    assert code == 0, stderr
    assert result["results"]["CONNECTED"] == 4
    assert {r.service for r in sandbox.requests} == {"mapalyze", "mapflow", "mapiry", "mapsemble"}


def test_missing_token_fails_with_a_message_not_a_traceback(qgis_process, tmp_path):
    from osgeo import ogr, osr

    places = str(tmp_path / "places.gpkg")
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(places)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    layer = ds.CreateLayer("places", srs, ogr.wkbPoint)
    layer.CreateField(ogr.FieldDefn("name", ogr.OFTString))
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetField("name", "Café")
    feature.SetGeometry(ogr.CreateGeometryFromWkt("POINT (2.35 48.85)"))
    layer.CreateFeature(feature)
    ds = None
    del qgis_process.env["MAPBRIDGE_MAPIRY_TOKEN"]
    proc = qgis_process("run", "mapbridge:mapiry_push", "--", f"INPUT={places}", "MAP_ID=map_demo",
                        "NAME_FIELD=name", f"OUTPUT={tmp_path / 'r.gpkg'}")
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert "Mapiry" in text and "MAPBRIDGE_MAPIRY_TOKEN" in text
    assert "Traceback" not in text


def test_qgis_process_writes_the_geopackage(qgis_process, sandbox, tmp_path):
    out = str(tmp_path / "water.gpkg")
    code, result, stderr = qgis_process.run_json(ALG, FORM_ID="form_WaterPoint", SINCE="2025-06-01T00:00:00Z",
                                                 OUTPUT=out)
    assert code == 0, stderr
    expected = set(sandbox.state.mapalyze.created_after(epoch_seconds("2025-06-01T00:00:00Z"), "form_WaterPoint"))
    assert result["results"]["RECORDS"] == len(expected)
    layer = QgsVectorLayer(out, "water", "ogr")
    assert {f["record_id"] for f in layer.getFeatures()} == expected, "since is on the server's creation time"
    assert {r.query.get("since", [""])[0] for r in sandbox.requests if r.path == "/records"} == {
        "2025-06-01T00:00:00Z"}


def test_qgis_process_reports_a_bad_token_without_traceback(qgis_process, tmp_path):
    qgis_process.env["MAPBRIDGE_MAPALYZE_TOKEN"] = "nope"
    out = tmp_path / "denied.gpkg"
    proc = qgis_process("run", ALG, "--", f"OUTPUT={out}")
    assert proc.returncode != 0
    assert "Invalid API token" in proc.stderr + proc.stdout and "Traceback" not in proc.stderr
    assert not out.exists()


def test_qgis_process_runs_mapflow_process(qgis_process, tmp_path):
    aoi = tmp_path / "aoi.geojson"
    aoi.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                                                                          "geometry": _geojson(MOSCOW)}]}))
    out = tmp_path / "result.gpkg"
    code, result, stderr = qgis_process.run_json("mapbridge:mapflow_process", AOI=aoi, NAME="qgis_process run",
                                                 OUTPUT=out)
    assert code == 0, stderr[-2000:]
    results = result["results"]
    assert results["FEATURE_COUNT"] == 50 and results["PROCESSING_ID"]
    assert QgsVectorLayer(str(out), "r", "ogr").featureCount() == 50


def _geojson(rect):
    return json.loads(QgsGeometry.fromRect(rect).asJson())


def _places_gpkg(path, n):
    from mapbridge.tests.processing.sync_helpers import places, write_gpkg

    write_gpkg(path, places(n))
    return str(path)


def _writes(sandbox, service):
    return [r for r in sandbox.requests if r.service == service and r.method in ("POST", "PUT", "PATCH", "DELETE")]


def test_qgis_process_sync_keeps_its_link_between_runs(qgis_process, sandbox, tmp_path):
    gpkg = _places_gpkg(tmp_path / "places.gpkg", 10)
    params = dict(INPUT=gpkg, MAP_ID="ms_plain", LABEL_FIELD="name", OUTPUT=tmp_path / "r1.gpkg")
    code, result, stderr = qgis_process.run_json("mapbridge:mapsemble_sync", **params)
    assert code == 0, stderr[-2000:]
    assert result["results"]["CREATED"] == 10
    sandbox.clear_requests()
    params["OUTPUT"] = tmp_path / "r2.gpkg"
    code, result, stderr = qgis_process.run_json("mapbridge:mapsemble_sync", **params)
    assert code == 0, stderr[-2000:]
    assert (result["results"]["UNCHANGED"], result["results"]["CREATED"]) == (10, 0)
    assert _writes(sandbox, "mapsemble") == [], "a re-run with no change sends no write request"

    # A file that is no GeoPackage: the link lives in the profile's data folder, found again by the next run.
    geojson = tmp_path / "places.geojson"
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": name, "code": code}, "geometry": {"type": "Point",
                                                                                     "coordinates": [x, y]}}
        for name, code, x, y in (("A", "a", 4.9, 52.3), ("B", "b", 4.91, 52.31))]}))
    params = dict(INPUT=geojson, NEW_MAP_TITLE="From GeoJSON", NAME_FIELD="name", KEY_FIELD="code",
                  OUTPUT=tmp_path / "r3.gpkg")
    code, first, stderr = qgis_process.run_json("mapbridge:mapiry_sync", **params)
    assert code == 0, stderr[-2000:]
    assert first["results"]["CREATED"] == 2
    sandbox.clear_requests()
    code, again, stderr = qgis_process.run_json("mapbridge:mapiry_sync", **dict(params, OUTPUT=tmp_path / "r4.gpkg"))
    assert code == 0, stderr[-2000:]
    assert again["results"]["MAP_ID"] == first["results"]["MAP_ID"], "no second map for the same title"
    assert again["results"]["UNCHANGED"] == 2 and _writes(sandbox, "mapiry") == []


def test_a_sync_killed_while_creating_is_finished_by_the_next_run_without_duplicates(qgis_process, sandbox,
                                                                                    tmp_path):
    import signal
    import subprocess
    import time

    gpkg = _places_gpkg(tmp_path / "places.gpkg", 250)
    fault = sandbox.add_fault("mapiry", "latency", method="POST", path=r"/locations/bulk$", count=1,
                              latency_ms=3000)
    args = ["run", "mapbridge:mapiry_sync", "--", f"INPUT={gpkg}", "NEW_MAP_TITLE=Crash", "NAME_FIELD=name",
            f"OUTPUT={tmp_path / 'r1.gpkg'}"]
    proc = subprocess.Popen(["/usr/bin/qgis_process.bin", *args], env=qgis_process.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while fault.seen < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fault.seen >= 1, "the first bulk request reached the service"
    arrived = time.time()
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    # The service finishes the slow request (3 s) after the client died.
    while not [r for r in sandbox.requests if r.path.endswith("/bulk") and r.time >= arrived + 2.5]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    maps = [m for m in sandbox.state.mapiry.get_maps() if m["title"] == "Crash"]
    assert len(maps) == 1
    map_id = maps[0]["id"]
    before = len(sandbox.state.mapiry.locations(map_id))
    assert 0 < before < 250, "the killed run left the job half done"

    code, result, stderr = qgis_process.run_json("mapbridge:mapiry_sync", INPUT=gpkg, NEW_MAP_TITLE="Crash",
                                                 NAME_FIELD="name", OUTPUT=tmp_path / "r2.gpkg")
    assert code == 0, stderr[-2000:]
    assert result["results"]["MAP_ID"] == map_id
    stored = sandbox.state.mapiry.locations(map_id)
    assert len(stored) == 250 and len({loc["name"] for loc in stored}) == 250, "finished, nothing twice"
    assert result["results"]["CREATED"] + result["results"]["UNCHANGED"] == 250
    report = QgsVectorLayer(str(tmp_path / "r2.gpkg"), "report", "ogr")
    notes = [f["push_error"] for f in report.getFeatures() if f["push_status"] == "created"]
    linked = [n for n in notes if n == "created by an earlier sync that was interrupted; linked now"]
    assert len(linked) >= 100, "the batch the killed run was waiting for was found on the map, not sent again"
