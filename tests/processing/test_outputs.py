"""Algorithm outputs (processing/outputs.py): which destinations GDAL writes directly."""

from __future__ import annotations

from mapbridge.processing.outputs import driver_for


def test_plain_files_get_a_gdal_driver_and_everything_else_goes_through_a_sink():
    assert driver_for("/x/out.gpkg") == "GPKG" and driver_for("/x/out.shp") == "ESRI Shapefile"
    assert driver_for("/x/out.fgb") == "FlatGeobuf" and driver_for("/x/OUT.GeoJSON") == "GeoJSON"
    assert driver_for("memory:") is None and driver_for("ogr:dbname='x.gpkg' table=\"t\"") is None
    assert driver_for("/x/out.gpkg|layername=a") is None and driver_for("") is None
