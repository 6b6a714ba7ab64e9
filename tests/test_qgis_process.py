"""qgis_process (the command line Processing runner) sees the provider and runs an algorithm."""

from __future__ import annotations


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
