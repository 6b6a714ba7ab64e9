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
                "mapflow_process", "mapflow_results", "mapflow_catalog", "mapflow_upload"):
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
