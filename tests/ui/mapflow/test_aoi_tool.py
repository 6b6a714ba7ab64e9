"""Drawing the AOI (ui/mapflow/aoi_tool.py, aoi_panel.py) with real mouse and key events on the canvas, as QGIS's
digitising tools do: no side effects on the view, Esc, Backspace, right-click, snapping, polygon vs rectangle."""

from __future__ import annotations

import pytest
from qgis.core import (
    QgsFeature,
    QgsGeometry,
    QgsPointXY,
    QgsProject,
    QgsRectangle,
    QgsSnappingConfig,
    QgsTolerance,
    QgsVectorLayer,
)
from qgis.gui import QgsMapCanvasSnappingUtils, QgsMapToolPan
from qgis.PyQt.QtCore import QCoreApplication, QEvent, QPointF, Qt
from qgis.PyQt.QtGui import QKeyEvent, QMouseEvent

from mapbridge.tests.ui.mapflow.conftest import wait_until
from mapbridge.ui.mapflow.aoi_panel import DRAWN_POLYGON, DRAWN_RECTANGLE
from mapbridge.ui.mapflow.aoi_tool import AoiMapTool

CORNERS = ((37.605, 55.752), (37.625, 55.752), (37.625, 55.765), (37.605, 55.765))


@pytest.fixture
def drawing(tab, canvas):
    """The canvas sized like a real one, Pan as the user's tool, and the Draw button pressed (polygon)."""
    canvas.resize(800, 600)
    canvas.setExtent(QgsRectangle(37.60, 55.75, 37.64, 55.77))
    canvas.refresh()
    pan = QgsMapToolPan(canvas)
    canvas.setMapTool(pan)
    panel = tab.new_page.aoi_panel
    panel.set_source(DRAWN_POLYGON)
    panel.draw_button.setChecked(True)
    assert isinstance(canvas.mapTool(), AoiMapTool)
    yield panel
    panel.draw_button.setChecked(False)
    QgsProject.instance().setSnappingConfig(QgsSnappingConfig())


def pixel(canvas, x, y):
    point = canvas.getCoordinateTransform().transform(QgsPointXY(x, y))
    return QPointF(point.x(), point.y())


def mouse(canvas, kind, x, y, button=Qt.MouseButton.LeftButton):
    """A real mouse event sent to the canvas's viewport (as a user's click would be)."""
    position = pixel(canvas, x, y)
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    event = QMouseEvent(kind, position, position, button, buttons, Qt.KeyboardModifier.NoModifier)
    QCoreApplication.sendEvent(canvas.viewport(), event)


def click(canvas, x, y, button=Qt.MouseButton.LeftButton):
    mouse(canvas, QEvent.Type.MouseButtonPress, x, y, button)
    mouse(canvas, QEvent.Type.MouseButtonRelease, x, y, button)


def double_click(canvas, x, y):
    """What Qt sends for a double-click: press, release, double-click, release."""
    mouse(canvas, QEvent.Type.MouseButtonPress, x, y)
    mouse(canvas, QEvent.Type.MouseButtonRelease, x, y)
    mouse(canvas, QEvent.Type.MouseButtonDblClick, x, y)
    mouse(canvas, QEvent.Type.MouseButtonRelease, x, y)


def key(canvas, which):
    QCoreApplication.sendEvent(canvas, QKeyEvent(QEvent.Type.KeyPress, which, Qt.KeyboardModifier.NoModifier))


def test_double_click_finishes_without_moving_the_map_and_the_tool_stays(drawing, canvas):
    extent = canvas.extent()
    tool = canvas.mapTool()
    for x, y in CORNERS[:3]:
        click(canvas, x, y)
    mouse(canvas, QEvent.Type.MouseMove, *CORNERS[3])
    assert "km² (drawing)" in drawing.area_label.text()
    double_click(canvas, *CORNERS[3])
    QCoreApplication.processEvents()
    assert drawing.drawn is not None and drawing.aoi is not None
    assert drawing.aoi.area_km2 == pytest.approx(1.8, rel=0.1)
    assert canvas.mapTool() is tool and drawing.draw_button.isChecked()   # like Add Polygon: still drawing
    assert canvas.extent() == extent, "the view did not move"
    vertices = drawing.drawn[0].asPolygon()[0]
    assert len(vertices) == 5   # four corners and the closing one: the double-click added no extra corner
    assert "km²" in drawing.area_label.text() and "drawing" not in drawing.area_label.text()


def test_esc_drops_the_shape_and_shows_the_kept_area_again(drawing, canvas):
    for x, y in CORNERS:
        click(canvas, x, y)
    click(canvas, *CORNERS[0], Qt.MouseButton.RightButton)   # right-click finishes
    kept = drawing.area_label.text()
    assert kept.endswith("km²") and drawing.aoi is not None
    click(canvas, 37.61, 55.755)
    click(canvas, 37.62, 55.755)
    mouse(canvas, QEvent.Type.MouseMove, 37.62, 55.76)
    assert "(drawing)" in drawing.area_label.text()
    key(canvas, Qt.Key.Key_Escape)
    assert drawing.area_label.text() == kept and not canvas.mapTool().sketching
    assert drawing.aoi.area_km2 == pytest.approx(1.8, rel=0.1)


def test_esc_during_a_rectangle_drag_draws_nothing(drawing, canvas):
    drawing.set_source(DRAWN_RECTANGLE)
    tool = canvas.mapTool()
    mouse(canvas, QEvent.Type.MouseButtonPress, 37.61, 55.755)
    mouse(canvas, QEvent.Type.MouseMove, 37.615, 55.758)
    assert "(drawing)" in drawing.area_label.text() and tool.sketching
    key(canvas, Qt.Key.Key_Escape)   # the button is still down: the canvas only emits keyPressed
    assert not tool.sketching and "(drawing)" not in drawing.area_label.text()
    mouse(canvas, QEvent.Type.MouseMove, 37.62, 55.76)
    mouse(canvas, QEvent.Type.MouseButtonRelease, 37.62, 55.76)
    assert drawing.drawn is None and drawing.aoi is None and not drawing.band.isVisible()
    assert canvas.mapTool() is tool


def test_arrow_and_page_keys_still_move_the_map_while_drawing(drawing, canvas):
    for x, y in CORNERS[:2]:
        click(canvas, x, y)
    mouse(canvas, QEvent.Type.MouseMove, *CORNERS[2])
    before = canvas.extent()
    key(canvas, Qt.Key.Key_Left)
    moved = canvas.extent()
    assert moved.center().x() < before.center().x() and moved.width() == pytest.approx(before.width())
    key(canvas, Qt.Key.Key_PageUp)   # zoom in
    assert canvas.extent().width() < moved.width()
    assert canvas.mapTool().sketching and len(canvas.mapTool().points) == 2, "the shape being drawn is kept"
    key(canvas, Qt.Key.Key_Escape)
    assert not canvas.mapTool().sketching


def test_backspace_undoes_the_last_corner(drawing, canvas):
    for x, y in CORNERS:
        click(canvas, x, y)
    click(canvas, 37.63, 55.769)   # a wrong corner
    key(canvas, Qt.Key.Key_Backspace)
    click(canvas, *CORNERS[0], Qt.MouseButton.RightButton)
    assert len(drawing.drawn[0].asPolygon()[0]) == 5
    assert drawing.aoi.area_km2 == pytest.approx(1.8, rel=0.1)


def test_rectangle_and_polygon_keep_their_own_drawing(drawing, canvas):
    for x, y in CORNERS:
        click(canvas, x, y)
    click(canvas, *CORNERS[0], Qt.MouseButton.RightButton)
    polygon_area = drawing.aoi.area_km2
    drawing.set_source(DRAWN_RECTANGLE)
    assert drawing.drawn is None and drawing.aoi is None, "the polygon is not kept as the rectangle"
    assert canvas.mapTool().mode == "rectangle" and not drawing.band.isVisible()
    mouse(canvas, QEvent.Type.MouseButtonPress, 37.61, 55.755)
    mouse(canvas, QEvent.Type.MouseMove, 37.615, 55.758)
    mouse(canvas, QEvent.Type.MouseButtonRelease, 37.615, 55.758)
    assert drawing.aoi.area_km2 == pytest.approx(0.105, rel=0.15)
    drawing.set_source(DRAWN_POLYGON)
    assert drawing.aoi.area_km2 == pytest.approx(polygon_area)


def test_corners_snap_to_layers_where_snapping_is_on(drawing, canvas):
    points = QgsVectorLayer("Point?crs=EPSG:4326", "corners", "memory")
    feature = QgsFeature()
    target = QgsPointXY(37.6051234, 55.7521234)
    feature.setGeometry(QgsGeometry.fromPointXY(target))
    points.dataProvider().addFeatures([feature])
    QgsProject.instance().addMapLayer(points)
    config = QgsSnappingConfig()
    config.setEnabled(True)
    config.setMode(QgsSnappingConfig.SnappingMode.AllLayers)
    config.setTolerance(15)
    config.setUnits(QgsTolerance.UnitType.Pixels)
    QgsProject.instance().setSnappingConfig(config)
    utils = QgsMapCanvasSnappingUtils(canvas)
    utils.setConfig(config)
    canvas.setSnappingUtils(utils)   # as the QGIS desktop does for its canvas
    near = QgsPointXY(37.6052, 55.7522)
    assert wait_until(lambda: utils.snapToMap(near).isValid(), 10)   # the snapping index is built in the background
    for x, y in CORNERS[1:]:
        click(canvas, x, y)
    click(canvas, 37.6052, 55.7522)   # a few pixels from the point
    click(canvas, 37.6052, 55.7522, Qt.MouseButton.RightButton)
    vertices = drawing.drawn[0].asPolygon()[0]
    assert any(v.x() == pytest.approx(target.x(), abs=1e-9) and v.y() == pytest.approx(target.y(), abs=1e-9)
               for v in vertices), vertices
    QgsProject.instance().removeMapLayer(points.id())


def test_draw_tool_is_deleted_when_unset_and_pan_unchecks_draw(tab, canvas):
    from qgis.PyQt import sip

    def flush_deletes():
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    panel = tab.new_page.aoi_panel
    panel.set_source(DRAWN_POLYGON)
    tools = []
    for _ in range(3):
        panel.draw_button.setChecked(True)
        tools.append(panel.tool)
        panel.draw_button.setChecked(False)
        flush_deletes()
    assert all(sip.isdeleted(t) for t in tools) and not canvas.findChildren(AoiMapTool)
    panel.draw_button.setChecked(True)
    tool = panel.tool
    pan = QgsMapToolPan(canvas)
    canvas.setMapTool(pan)  # the user picks Pan
    assert not panel.draw_button.isChecked() and panel.tool is None
    assert canvas.mapTool() is pan
    flush_deletes()
    assert sip.isdeleted(tool) and canvas.mapTool() is pan
