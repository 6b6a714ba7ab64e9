"""The Mapflow AOI (core/mapflow/aoi.py): ellipsoidal area, extents in other CRSs, repair, merge and refusal."""

from __future__ import annotations

import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsGeometry, QgsRectangle

from mapbridge.api.errors import MapbridgeError
from mapbridge.core.mapflow.aoi import aoi_from_rectangle, build_aoi, ellipsoidal_area_m2

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")


def test_ellipsoidal_area_of_a_degree_cell_at_the_equator():
    area = ellipsoidal_area_m2(QgsGeometry.fromRect(QgsRectangle(0, 0, 1, 1)))
    assert area / 1e6 == pytest.approx(12308.78, rel=1e-3)


def test_aoi_from_3857_extent_is_lon_lat_with_the_same_area():
    aoi = aoi_from_rectangle(QgsRectangle(4187350, 7508000, 4188450, 7508900),
                             QgsCoordinateReferenceSystem("EPSG:3857"))
    ring = aoi.geojson()["coordinates"][0]
    assert all(37.6 < x < 37.7 and 55.7 < y < 55.8 for x, y in ring)
    # Web Mercator exaggerates areas by 1/cos²(lat): 0.99 km² on the map is about 0.31 km² on the ground.
    assert aoi.area_km2 == pytest.approx(0.99 * 0.3176, rel=0.02)


def test_aoi_validation_repairs_merges_and_refuses():
    bowtie = QgsGeometry.fromWkt("POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))")
    aoi = build_aoi([bowtie], WGS84)
    assert aoi.notes and "repaired with makeValid" in aoi.notes[0] and aoi.geometry.isGeosValid()
    two = build_aoi([QgsGeometry.fromRect(QgsRectangle(0, 0, 0.01, 0.01)),
                     QgsGeometry.fromRect(QgsRectangle(0.005, 0, 0.02, 0.01)),
                     QgsGeometry.fromRect(QgsRectangle(1, 1, 1.01, 1.01))], WGS84)
    assert two.part_count == 2 and two.geojson()["type"] == "MultiPolygon" and two.feature_count == 3
    with_z = build_aoi([QgsGeometry.fromWkt("POLYGON Z((0 0 5, 0.01 0 5, 0.01 0.01 5, 0 0 5))")], WGS84)
    assert all(len(p) == 2 for p in with_z.geojson()["coordinates"][0])
    with pytest.raises(MapbridgeError, match="not a polygon"):
        build_aoi([QgsGeometry.fromWkt("LINESTRING(0 0, 1 1)")], WGS84)
    with pytest.raises(MapbridgeError, match="empty"):
        build_aoi([], WGS84)


@pytest.mark.parametrize("wkt", [
    "POLYGON((179.99 -16.5, -179.99 -16.5, -179.99 -16.48, 179.99 -16.48, 179.99 -16.5))",   # vertex by vertex
    "POLYGON((179.99 -16.5, 180.01 -16.5, 180.01 -16.48, 179.99 -16.48, 179.99 -16.5))",     # beyond 180
    "POLYGON((179.98 -16.51, -179.98 -16.51, -179.98 -16.47, 179.98 -16.47, 179.98 -16.51),"
    "(179.995 -16.495, -179.995 -16.495, -179.995 -16.485, 179.995 -16.485, 179.995 -16.495))",  # with a hole
])
def test_an_aoi_across_the_antimeridian_is_split_into_a_multipolygon_of_its_real_area(wkt):
    geometry = QgsGeometry.fromWkt(wkt)
    aoi = build_aoi([geometry], WGS84)
    body = aoi.geojson()
    assert body["type"] == "MultiPolygon" and len(body["coordinates"]) == 2
    xs = [x for polygon in body["coordinates"] for ring in polygon for x, _ in ring]
    assert min(xs) >= -180 and max(xs) <= 180
    assert {round(x) for x in xs} == {-180, 180}
    # The real area (0.02° or 0.04° squares at 16.5° S: about 4.7 km², or 18.9 km² less a 1.1 km² hole), not a
    # band round the world of some 40,000 km².
    assert aoi.area_km2 == pytest.approx(4.72 if "179.99 " in wkt else 17.72, rel=0.02)
    assert any("antimeridian" in note for note in aoi.notes)


def test_an_aoi_far_from_the_antimeridian_is_left_as_it_is():
    aoi = build_aoi([QgsGeometry.fromRect(QgsRectangle(10, 10, 10.01, 10.01))], WGS84)
    assert aoi.geojson()["type"] == "Polygon" and not aoi.notes
