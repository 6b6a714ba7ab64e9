"""The GeoPackage writer on its own (core/mapalyze/record_writer.py): exact widening of rows already written,
duplicates, PointZ, appending, in both GDAL error modes."""

from __future__ import annotations

import pytest
from qgis.core import QgsWkbTypes

from mapbridge.core.mapalyze.record_writer import RecordWriter
from mapbridge.core.qgis_compat import FIELD_INT
from mapbridge.tests.core.mapalyze.helpers import assert_spatial_index, assert_valid_gpkg, features_by_id, gpkg_layer


@pytest.fixture(params=["gdal-exceptions", "gdal-return-codes"])
def gdal_error_mode(request):
    """Run a writer test in both GDAL error modes: QGIS's Processing turns exceptions on (3.28+), 3.22 does not."""
    was_on = gdal_exceptions(request.param == "gdal-exceptions")
    yield request.param
    gdal_exceptions(was_on)


def gdal_exceptions(on):
    """Turn GDAL/OGR exceptions on or off (handlers are stacked: off goes in reverse order); returns the old mode."""
    from osgeo import gdal, ogr

    was_on = bool(gdal.GetUseExceptions())
    if on:
        gdal.UseExceptions()
        ogr.UseExceptions()
    else:
        ogr.DontUseExceptions()
        gdal.DontUseExceptions()
    return was_on


def feature(i, coords=None, **props):
    return {"type": "Feature", "id": f"r{i}", "geometry": {"type": "Point", "coordinates": coords or [i, i / 2]},
            "properties": props}


def test_rows_already_written_are_converted_exactly_when_a_field_widens(tmp_path, gdal_error_mode):
    path = str(tmp_path / "w.gpkg")
    writer = RecordWriter(path, "w")
    writer.add_page([feature(0, flag=True, num=0.1 + 0.2, when="2025-01-01T00:00:00Z", n=1),
                     feature(1, flag=False, num=1e-7, when="2025-01-02T00:00:00.250Z", n=2)])
    writer.add_page([feature(2, flag="maybe", num="text", when="later", n=None)])
    writer.finish()
    by_id = features_by_id(gpkg_layer(path))
    assert [by_id[f"r{i}"]["flag"] for i in range(3)] == ["true", "false", "maybe"]
    assert [by_id[f"r{i}"]["num"] for i in range(3)] == ["0.30000000000000004", "1e-07", "text"]
    assert [by_id[f"r{i}"]["when"] for i in range(3)] == ["2025-01-01T00:00:00Z", "2025-01-02T00:00:00.250Z", "later"]
    assert by_id["r1"]["n"] == 2
    assert [name for name, _, _ in writer.widened] == ["flag", "num", "when"]
    assert_valid_gpkg(path)  # and the scratch table is gone


def test_points_without_altitude_get_nan_once_the_layer_is_pointz(tmp_path, gdal_error_mode):
    path = str(tmp_path / "z.gpkg")
    writer = RecordWriter(path, "z")
    writer.add_page([feature(0, [1.0, 2.0]), {"type": "Feature", "id": "nogeom", "geometry": None,
                                              "properties": {}}])
    writer.add_page([feature(1, [3.0, 4.0, 125.5])])
    writer.finish()
    layer = gpkg_layer(path)
    assert layer.wkbType() == QgsWkbTypes.PointZ
    by_id = features_by_id(layer)
    assert by_id["r1"].geometry().constGet().z() == 125.5
    z = by_id["r0"].geometry().constGet().z()
    assert z != z
    assert by_id["nogeom"].geometry().isNull()
    assert writer.without_geometry == 1
    assert_valid_gpkg(path)


def test_duplicates_across_pages_are_skipped_and_gdal_indexes_the_rest(tmp_path, gdal_error_mode):
    path = str(tmp_path / "dup.gpkg")
    writer = RecordWriter(path, "d")
    assert writer.add_page([feature(i, [13.0 + i / 1000, 52.5], n=i) for i in range(800)]) == 800
    assert writer.add_page([feature(i, [13.0 + i / 1000, 52.5], n=-1) for i in range(790, 810)]) == 10
    assert writer.count() == 810
    writer.finish()
    layer = gpkg_layer(path)
    assert layer.featureCount() == 810
    assert layer.fields().field("n").type() == FIELD_INT
    assert features_by_id(layer)["r799"]["n"] == 799  # the first copy is kept
    assert_spatial_index(layer, (13.1, 52.0, 13.3, 53.0))


def test_a_big_integer_meeting_a_double_becomes_text_exactly(tmp_path, gdal_error_mode):
    path = str(tmp_path / "big.gpkg")
    writer = RecordWriter(path, "b")
    writer.add_page([feature(0, big=2 ** 60 + 1), feature(1, big=5)])
    writer.add_page([feature(2, big=0.5)])
    writer.finish()
    by_id = features_by_id(gpkg_layer(path))
    assert [by_id[f"r{i}"]["big"] for i in range(3)] == [str(2 ** 60 + 1), "5", "0.5"]


def test_appending_records_with_altitude_to_a_2d_layer(tmp_path, gdal_error_mode):
    path = str(tmp_path / "append.gpkg")
    writer = RecordWriter(path, "a")
    writer.add_page([feature(i, [13.0 + i / 100, 52.5], n=i) for i in range(5)])
    writer.finish()
    assert gpkg_layer(path).wkbType() == QgsWkbTypes.Point
    again = RecordWriter(path, "a", append=True)
    assert again.add_page([feature(4, [13.04, 52.5], n=4), feature(9, [13.2, 52.6, 80.0], n=9, extra="x")]) == 1
    again.finish()
    layer = gpkg_layer(path)
    assert layer.wkbType() == QgsWkbTypes.PointZ and layer.featureCount() == 6
    by_id = features_by_id(layer)
    assert by_id["r9"].geometry().constGet().z() == 80.0 and by_id["r9"]["extra"] == "x"
    z = by_id["r0"].geometry().constGet().z()
    assert z != z and by_id["r0"]["n"] == 0  # rewritten with its Z, its values kept
    assert_spatial_index(layer, (13.0, 52.0, 13.3, 53.0))
    assert_valid_gpkg(path)
