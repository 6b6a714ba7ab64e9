"""Tile layers (core/mapflow/tiles.py): XYZ/TMS/Quadkey URIs, WMS preview URIs and extents from TileJSON."""

from __future__ import annotations

import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsDataSourceUri

from mapbridge.core.mapflow.tiles import raster_tiles_layer, tile_json_extent, vector_tiles_layer, wms_uri, xyz_uri


def test_uris_and_layers():
    uri = xyz_uri("https://t.example/{z}/{x}/{y}.png?key=a&b=c", 0, 20, "TMS")
    assert "type=xyz" in uri and "zmax=20" in uri and "%7B-y%7D" in uri and "key%3Da%26b%3Dc" in uri
    raster = raster_tiles_layer("https://t.example/{z}/{x}/{y}.png", "imagery")
    assert raster.isValid() and raster.providerType() == "wms"
    vector = vector_tiles_layer("https://t.example/{z}/{x}/{y}.pbf", "results")
    assert vector.isValid() and vector.sourceMinZoom() == 14 and vector.sourceMaxZoom() == 25


def test_extent_from_tilejson_bounds():
    extent = tile_json_extent({"bounds": [37.6156, 55.7558, 37.6256, 55.7608]},
                              QgsCoordinateReferenceSystem("EPSG:3857"))
    assert extent.xMinimum() == pytest.approx(4187360, abs=50) and extent.width() == pytest.approx(1113, abs=5)
    assert tile_json_extent({"bounds": [1, 2]}, QgsCoordinateReferenceSystem("EPSG:3857")) is None


def test_a_wms_getmap_url_becomes_a_qgis_wms_source_keeping_its_signature():
    uri = QgsDataSourceUri()
    uri.setEncodedUri(wms_uri("https://w.example/wms?service=WMS&request=GetMap&version=1.3.0&layers=img1&styles="
                              "&crs=EPSG:3857&bbox=1,2,3,4&width=256&height=256&format=image/jpeg&expires=99&signature=ab12"))
    assert uri.param("layers") == "img1" and uri.param("styles") == ""
    assert uri.param("crs") == "EPSG:3857" and uri.param("format") == "image/jpeg"
    # What QGIS asks itself is gone from the endpoint; a pre-signed URL's own parameters stay.
    assert uri.param("url") == "https://w.example/wms?expires=99&signature=ab12"
    defaults = QgsDataSourceUri()
    defaults.setEncodedUri(wms_uri("https://w.example/wms?LAYERS=img2"))
    assert defaults.param("crs") == "EPSG:4326" and defaults.param("format") == "image/png"
    assert wms_uri("https://w.example/wms?REQUEST=GetMap") is None       # no layer named: nothing to show
