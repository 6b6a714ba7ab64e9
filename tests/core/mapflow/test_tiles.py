"""Tile layers (core/mapflow/tiles.py): XYZ/TMS/Quadkey URIs and extents from TileJSON."""

from __future__ import annotations

import pytest
from qgis.core import QgsCoordinateReferenceSystem

from mapbridge.core.mapflow.tiles import raster_tiles_layer, tile_json_extent, vector_tiles_layer, xyz_uri


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
