"""Previews on the map (core/mapflow/preview.py): the picture's corners land on the footprint's corners."""

from __future__ import annotations

import pytest
from qgis.core import QgsGeometry, QgsRasterLayer

from mapbridge.api.errors import MapbridgeError
from mapbridge.core.mapflow.preview import corners, footprint_geometry, georeference, wms_picture
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


FOOTPRINT = "POLYGON((37.60 55.77, 37.66 55.77, 37.66 55.74, 37.60 55.74, 37.60 55.77))"


def box_of(wkt):
    box = QgsGeometry.fromWkt(wkt).boundingBox()
    return [round(v, 4) for v in (box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum())]


def test_a_complete_wms_getmap_is_fetched_byte_for_byte_and_placed_on_the_box_it_asks_for():
    # WMS 1.3.0 in EPSG:4326: latitude first; the signature keeps its escapes (it would not match otherwise).
    url = ("https://w.example/wms?expires=99&signature=ab%2Bcd%2F%3D&SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap"
           "&LAYERS=img1&STYLES=&CRS=EPSG:4326&BBOX=55.74,37.60,55.77,37.66&WIDTH=256&HEIGHT=256&FORMAT=image/png")
    fetched, box = wms_picture(url, FOOTPRINT)
    assert fetched == url
    assert box_of(box) == [37.60, 55.74, 37.66, 55.77]
    # WMS 1.1.1 (SRS): x first; CRS:84: longitude first; another CRS: its box in WGS84.
    _, box = wms_picture("https://w.example/wms?version=1.1.1&layers=a&srs=EPSG:4326&bbox=37.60,55.74,37.66,55.77"
                         "&width=10&height=10", FOOTPRINT)
    assert box_of(box) == [37.60, 55.74, 37.66, 55.77]
    _, box = wms_picture("https://w.example/wms?LAYERS=a&CRS=CRS:84&BBOX=37.60,55.74,37.66,55.77&WIDTH=9&HEIGHT=9",
                         FOOTPRINT)
    assert box_of(box) == [37.60, 55.74, 37.66, 55.77]
    _, box = wms_picture("https://w.example/wms?LAYERS=a&CRS=EPSG:3857&BBOX=4185613,7506830,4192292,7512765"
                         "&WIDTH=9&HEIGHT=9", FOOTPRINT)
    assert box_of(box) == pytest.approx([37.60, 55.74, 37.66, 55.77], abs=0.001)


def test_an_incomplete_wms_url_is_completed_for_the_footprint_and_one_naming_no_layer_is_refused():
    fetched, box = wms_picture("https://w.example/wms?signature=x%2By&LAYERS=img1", FOOTPRINT)
    assert fetched.startswith("https://w.example/wms?signature=x%2By&LAYERS=img1&")     # what came stays as it was
    assert "REQUEST=GetMap" in fetched and "CRS=EPSG%3A4326" in fetched
    assert "BBOX=55.74%2C37.6%2C55.77%2C37.66" in fetched      # latitude first, as WMS 1.3.0 has it in EPSG:4326
    assert "WIDTH=1024" in fetched and "HEIGHT=" in fetched
    assert box_of(box) == [37.60, 55.74, 37.66, 55.77]
    with pytest.raises(MapbridgeError) as info:
        wms_picture("https://w.example/wms?REQUEST=GetMap&BBOX=1,2,3,4", FOOTPRINT)
    assert "names no layer" in info.value.user_message() and info.value.service == "mapflow"
