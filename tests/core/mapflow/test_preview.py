"""Previews on the map (core/mapflow/preview.py): the picture's corners land on the footprint's corners."""

from __future__ import annotations

import pytest
from qgis.core import QgsRasterLayer

from mapbridge.core.mapflow.preview import corners, footprint_geometry, georeference
from mapbridge.sandbox.mapflow.imagery import png


def test_corners_of_four_and_of_many_points():
    square = footprint_geometry("POLYGON((0 1, 1 1, 1 0, 0 0, 0 1))")
    assert corners(square) == [(0, 1), (1, 1), (1, 0), (0, 0)]
    reverse = footprint_geometry("POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))")
    assert corners(reverse) == [(0, 1), (1, 1), (1, 0), (0, 0)]
    nine = footprint_geometry({"type": "Polygon", "coordinates": [[[0, 1], [0.5, 1.01], [1, 1], [1.01, 0.5], [1, 0],
                                                                   [0.5, -0.01], [0, 0], [-0.01, 0.5], [0, 1]]]})
    assert corners(nine) == [(0, 1), (1, 1), (1, 0), (0, 0)]


def test_a_png_is_placed_on_its_footprint(tmp_path):
    path = georeference(png(64, 48), "POLYGON((37.60 55.76, 37.62 55.76, 37.62 55.75, 37.60 55.75, 37.60 55.76))",
                        str(tmp_path), "image 1")
    layer = QgsRasterLayer(path, "preview")
    assert layer.isValid() and layer.crs().authid() == "EPSG:4326" and layer.bandCount() == 4
    extent = layer.extent()
    assert extent.xMinimum() == pytest.approx(37.60, abs=1e-3) and extent.xMaximum() == pytest.approx(37.62, abs=1e-3)
    assert extent.yMinimum() == pytest.approx(55.75, abs=1e-3) and extent.yMaximum() == pytest.approx(55.76, abs=1e-3)
