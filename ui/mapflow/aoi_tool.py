"""A map tool that draws the AOI as QGIS's digitising tools do: polygon (click the corners, right-click or double-click
to finish, Backspace undoes the last corner) or rectangle (drag), snapping where the project enables it, Esc cancels
the shape, and the tool stays active after a shape so the view never changes under the mouse."""

from __future__ import annotations

import contextlib

from qgis.core import (
    QgsCsException,
    QgsDistanceArea,
    QgsGeometry,
    QgsPointLocator,
    QgsPointXY,
    QgsProject,
    QgsRectangle,
)
from qgis.gui import QgsMapTool, QgsRubberBand, QgsSnapIndicator
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor

from ...core.qgis_compat import geometry_type

POLYGON = "polygon"
RECTANGLE = "rectangle"
FILL = QColor(255, 127, 0, 60)
STROKE = QColor(255, 127, 0)


def polygon_band(canvas):
    """A rubber band styled for AOIs."""
    band = QgsRubberBand(canvas, geometry_type("Polygon"))
    band.setFillColor(FILL)
    band.setStrokeColor(STROKE)
    band.setWidth(2)
    return band


def canvas_area_km2(canvas, geometry):
    """Ellipsoidal area (km²) of a geometry in the canvas CRS."""
    calculator = QgsDistanceArea()
    calculator.setSourceCrs(canvas.mapSettings().destinationCrs(), QgsProject.instance().transformContext())
    calculator.setEllipsoid("WGS84")
    try:
        return abs(calculator.measureArea(geometry)) / 1e6
    except QgsCsException:  # a transform failure just means no live area
        return 0.0


class AoiMapTool(QgsMapTool):
    """Polygon: click the corners, right-click or double-click to finish. Rectangle: drag. Esc cancels the shape."""

    area_changed = pyqtSignal(float)  # km², while drawing
    drawn = pyqtSignal(QgsGeometry)  # the finished AOI in the canvas CRS
    cancelled = pyqtSignal()  # the shape being drawn was dropped (Esc)

    def __init__(self, canvas, mode=POLYGON):
        super().__init__(canvas)
        self.canvas_ = canvas
        self.mode = mode
        self.points = []
        self.start = None
        self.band = polygon_band(canvas)
        self.snap_indicator = QgsSnapIndicator(canvas)
        self.setCursor(Qt.CursorShape.CrossCursor)

    # -- state ----------------------------------------------------------------------------------
    def set_mode(self, mode):
        """Draw polygons or rectangles from now on (the shape being drawn is dropped)."""
        self.mode = mode
        self.reset()

    def reset(self):
        """Forget the shape being drawn."""
        self.points = []
        self.start = None
        self.band.reset(geometry_type("Polygon"))

    @property
    def sketching(self):
        """True while a shape is being drawn."""
        return bool(self.points) or self.start is not None

    def remove_band(self):
        """Take the rubber band and the snap indicator off the canvas (on shutdown)."""
        self.reset()
        self.snap_indicator.setMatch(QgsPointLocator.Match())
        scene = self.canvas_.scene()
        if scene is not None and self.band.scene() is scene:
            scene.removeItem(self.band)

    def current_geometry(self, extra=None):
        """The polygon drawn so far (with a moving point), or None."""
        if self.mode == RECTANGLE:
            if self.start is None or extra is None:
                return None
            rect = QgsRectangle(self.start, extra)
            return QgsGeometry.fromRect(rect) if rect.width() > 0 and rect.height() > 0 else None
        points = self.points + ([extra] if extra is not None else [])
        if len(points) < 3:
            return None
        return QgsGeometry.fromPolygonXY([points + [points[0]]])

    def _show(self, geometry):
        self.band.setToGeometry(geometry or QgsGeometry(), None)
        self.area_changed.emit(canvas_area_km2(self.canvas_, geometry) if geometry else 0.0)

    def _point(self, event):
        """The event's map point, snapped as the project's snapping settings say; shows the snap indicator."""
        match = event.mapPointMatch() if hasattr(event, "mapPointMatch") else None
        point = event.snapPoint()
        if match is not None:
            self.snap_indicator.setMatch(match)
        return QgsPointXY(point)

    # -- events ---------------------------------------------------------------------------------
    def canvasPressEvent(self, event):  # noqa: N802 - QGIS API name
        point = self._point(event)
        if self.mode == RECTANGLE:
            if event.button() == Qt.MouseButton.LeftButton:
                self.start = point
            return
        if event.button() == Qt.MouseButton.RightButton:
            self._finish()
        elif event.button() == Qt.MouseButton.LeftButton:
            self.points.append(point)
            self._show(self.current_geometry())

    def canvasMoveEvent(self, event):  # noqa: N802 - QGIS API name
        point = self._point(event)
        if self.mode == RECTANGLE and self.start is None:
            return
        if self.mode == POLYGON and not self.points:
            return
        self._show(self.current_geometry(point))

    def canvasReleaseEvent(self, event):  # noqa: N802 - QGIS API name
        if self.mode == RECTANGLE and self.start is not None and event.button() == Qt.MouseButton.LeftButton:
            geometry = self.current_geometry(self._point(event))
            self.start = None
            if geometry is not None:
                self._emit(geometry)
            else:
                self.reset()

    def canvasDoubleClickEvent(self, event):  # noqa: N802 - QGIS API name
        if self.mode == POLYGON and event.button() == Qt.MouseButton.LeftButton:
            self._finish()

    def keyPressEvent(self, event):  # noqa: N802 - QGIS API name
        # QgsMapCanvas's convention is backwards: a key the tool handles is marked *ignored* so the canvas does not
        # act on it too; keys left accepted (arrows, PgUp/PgDn…) still pan and zoom the map while drawing.
        if self._handle_key(event):
            event.ignore()

    def _key_while_pressed(self, event):
        """While a mouse button is down the canvas only emits keyPressed (Esc during a rectangle drag comes here)."""
        if self._handle_key(event):
            event.ignore()

    def _handle_key(self, event):
        """Esc drops the shape, Backspace/Delete the last corner; True when the key was used."""
        if event.key() == Qt.Key.Key_Escape and self.sketching:
            self.reset()
            self.cancelled.emit()
            return True
        if event.key() in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete) and self.points:
            self.points.pop()
            self._show(self.current_geometry())
            return True
        return False

    def activate(self):
        """Listen to keys the canvas keeps from the tool while a mouse button is down."""
        super().activate()
        self.canvas_.keyPressed.connect(self._key_while_pressed)

    def deactivate(self):
        """Drop an unfinished shape when another tool takes over."""
        with contextlib.suppress(TypeError, RuntimeError):   # not connected (deactivated twice)
            self.canvas_.keyPressed.disconnect(self._key_while_pressed)
        self.reset()
        self.snap_indicator.setMatch(QgsPointLocator.Match())
        super().deactivate()

    def _finish(self):
        # A double-click also sent a press at the same place: drop the duplicate corner.
        while len(self.points) >= 2 and self.points[-1] == self.points[-2]:
            self.points.pop()
        geometry = self.current_geometry()
        if geometry is None:
            return
        self._emit(geometry)

    def _emit(self, geometry):
        self.reset()
        self.drawn.emit(geometry)
