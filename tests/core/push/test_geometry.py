"""Geometries to WGS84 payload coordinates (core/push/geometry.py): Z/M, multi-part, curves, skips with reasons."""

from __future__ import annotations

import math

import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransformContext, QgsGeometry

from mapbridge.core.push.geometry import MODE_CENTROID, SkipFeature, WgsConverter

CTX = QgsCoordinateTransformContext()


def converter(crs="EPSG:4326"):
    return WgsConverter(QgsCoordinateReferenceSystem(crs), CTX)


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


@pytest.mark.parametrize("crs,wkt,reason", [
    ("EPSG:3857", "POINT(0 1000000000)", "do not transform back"),            # clamped to the pole
    ("EPSG:3857", "POINT(40000000 0)", "do not transform back"),              # wrapped round the world
    ("EPSG:32633", "POINT(500000 1000000000)", "do not transform back"),
    ("EPSG:32633", "POINT(-5000000 6000000)", "outside the area of use of EPSG:32633"),
    ("EPSG:32633", "POINT(100000000 6000000)", "cannot be transformed"),
    ("EPSG:3857", "LINESTRING(0 0, 0 1000000000)", "do not transform back"),
    ("EPSG:3857", "POLYGON((0 0, 1000 0, 1000 1e12, 0 0))", "do not transform back"),
])
def test_coordinates_no_transform_can_honestly_produce_are_skipped_with_a_reason(crs, wkt, reason):
    conv = converter(crs)
    geometry = QgsGeometry.fromWkt(wkt)
    for call in (conv.point, conv.geojson):
        with pytest.raises(SkipFeature) as info:
            call(geometry)
        assert reason in info.value.reason


@pytest.mark.parametrize("crs,wkt,expected", [
    ("EPSG:3857", "POINT(0 21000000)", (0.0, 85.7436)),           # just past the area of use, transforms back
    ("EPSG:25833", "POINT(1500000 7500000)", (37.4095, 65.9855)),   # a national grid used past its official area
    ("EPSG:32633", "POINT(500000 6000000)", (15.0, 54.1481)),
])
def test_honest_positions_near_or_inside_the_area_of_use_are_sent(crs, wkt, expected):
    lng, lat = converter(crs).point(QgsGeometry.fromWkt(wkt))
    assert (lng, lat) == pytest.approx(expected, abs=1e-4)
