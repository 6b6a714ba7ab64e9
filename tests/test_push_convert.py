"""Feature → payload conversion: WGS84, Z/M, multi-part, curves, skips with reasons, JSON values."""

from __future__ import annotations

import math

import pytest
from qgis.core import (
    NULL,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransformContext,
    QgsFeature,
    QgsFields,
    QgsGeometry,
)
from qgis.PyQt.QtCore import QByteArray, QDate, QDateTime, Qt, QTime

from mapbridge.core.push.geometry import MODE_CENTROID, SkipFeature, WgsConverter
from mapbridge.core.push.preview import Preview
from mapbridge.core.push.values import BinaryValue, is_binary_field, json_value
from mapbridge.core.qgis_compat import FIELD_BINARY, FIELD_STRING, make_field

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")
CTX = QgsCoordinateTransformContext()


def converter(crs="EPSG:4326"):
    return WgsConverter(QgsCoordinateReferenceSystem(crs), CTX)


def test_json_values():
    assert json_value(NULL) is None and json_value(None) is None
    assert json_value(3) == 3 and json_value(2.5) == 2.5 and json_value(True) is True
    assert json_value(float("nan")) is None
    assert json_value(QDate(2024, 2, 29)) == "2024-02-29"
    assert json_value(QTime(7, 5, 3)) == "07:05:03"
    assert json_value(QDateTime(QDate(2024, 2, 29), QTime(7, 5, 3), Qt.TimeSpec.UTC)) == "2024-02-29T07:05:03Z"
    assert json_value(QDateTime(QDate(2024, 2, 29), QTime(7, 5, 3, 250))) == "2024-02-29T07:05:03.250"
    assert json_value(["a", NULL, 2]) == ["a", None, 2]
    assert json_value({"k": QDate(2020, 1, 1)}) == {"k": "2020-01-01"}
    with pytest.raises(BinaryValue):
        json_value(QByteArray(b"x"))
    assert is_binary_field(make_field("b", FIELD_BINARY)) and not is_binary_field(make_field("s", FIELD_STRING))


def test_point_z_m_and_multipoint():
    conv = converter()
    assert conv.point(QgsGeometry.fromWkt("POINT ZM (1 2 3 4)")) == [1.0, 2.0]
    assert conv.point(QgsGeometry.fromWkt("POINT ZM (1 2 3 4)"), keep_z=True) == [1.0, 2.0, 3.0]
    assert conv.point(QgsGeometry.fromWkt("MULTIPOINT((1 2))")) == [1.0, 2.0]
    assert conv.point(QgsGeometry.fromWkt("MULTIPOINT((0 0),(1 1),(10 10))")) == [1.0, 1.0]   # a member point
    assert conv.point(QgsGeometry.fromWkt("MULTIPOINT((0 0),(2 2))"), MODE_CENTROID) == [1.0, 1.0]


def test_projected_point_is_transformed_in_lng_lat_order():
    x = 6378137.0 * math.radians(139.7006)
    y = 6378137.0 * math.log(math.tan(math.pi / 4 + math.radians(35.6654) / 2))
    lng, lat = converter("EPSG:3857").point(QgsGeometry.fromWkt(f"POINT({x} {y})"))
    assert lng == pytest.approx(139.7006, abs=1e-6) and lat == pytest.approx(35.6654, abs=1e-6)


@pytest.mark.parametrize("wkt, reason", [
    (None, "no geometry"),
    ("POINT EMPTY", "empty geometry"),
    ("POINT(400 10)", "outside the WGS84 range"),
    ("POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))", "invalid geometry: Self-intersection"),
])
def test_skips_have_reasons(wkt, reason):
    geometry = QgsGeometry.fromWkt(wkt) if wkt else QgsGeometry()
    with pytest.raises(SkipFeature) as info:
        converter().geojson(geometry) if wkt and "POLYGON" in wkt else converter().point(geometry)
    assert reason in info.value.reason


def test_geojson_is_2d_lon_lat_and_curves_are_segmentized():
    conv = converter()
    line = conv.geojson(QgsGeometry.fromWkt("LINESTRING Z (1 2 3, 4 5 6)"))
    assert line == {"type": "LineString", "coordinates": [[1, 2], [4, 5]]}
    curve = conv.geojson(QgsGeometry.fromWkt("CIRCULARSTRING(0 0, 1 1, 2 0)"))
    assert curve["type"] == "LineString" and len(curve["coordinates"]) > 3
    multi = conv.geojson(QgsGeometry.fromWkt("MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)),((5 5, 6 5, 6 6, 5 5)))"))
    assert multi["type"] == "MultiPolygon" and len(multi["coordinates"]) == 2


def test_layer_without_crs_is_taken_as_wgs84():
    conv = WgsConverter(QgsCoordinateReferenceSystem(), CTX)
    assert conv.point(QgsGeometry.fromWkt("POINT(5 6)")) == [5.0, 6.0]
    with pytest.raises(SkipFeature, match="the layer has no CRS"):
        conv.point(QgsGeometry.fromWkt("POINT(500000 6000000)"))


def test_preview_text():
    from collections import Counter

    assert Preview(247, Counter({"no geometry": 3}), 250, 250).text() == \
        "247 features will be sent, 3 skipped: no geometry"
    assert Preview(1, Counter(), 1, 1).text() == "1 feature will be sent"
    text = Preview(5, Counter({"no geometry": 2, "no name": 1}), 8, 10).text()
    assert text == "5 features will be sent, 3 skipped: 2 no geometry, 1 no name (counted over the first 8 of 10)"


def test_payload_of_a_feature_with_a_null_name_is_a_skip():
    from mapbridge.core.push.payloads import MapiryPayloads

    fields = QgsFields()
    fields.append(make_field("name", FIELD_STRING))
    feature = QgsFeature(fields)
    feature.setAttributes([NULL])
    feature.setGeometry(QgsGeometry.fromWkt("POINT(1 2)"))
    with pytest.raises(SkipFeature, match="no name"):
        MapiryPayloads(fields, WGS84, CTX, "name")(feature)
