"""The AOI part of the new-processing page: drawn polygon or rectangle, selected features, or the canvas extent."""

from __future__ import annotations

from qgis.core import QgsGeometry, QgsProject
from qgis.gui import QgsMapLayerComboBox
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QPushButton, QWidget

from ...api.errors import MapbridgeError
from ...core.mapflow.aoi import aoi_from_rectangle, build_aoi
from ...core.qgis_compat import geometry_type, layer_filter
from .aoi_tool import POLYGON, RECTANGLE, AoiMapTool, polygon_band
from .layout import narrow, wrap_layout, wrapped_label

DRAWN_POLYGON, DRAWN_RECTANGLE, SELECTED, EXTENT = "drawn_polygon", "drawn_rectangle", "selected", "extent"
MODES = {DRAWN_POLYGON: POLYGON, DRAWN_RECTANGLE: RECTANGLE}
# Above this many selected features the area is measured when Start is pressed, not at each selection change.
LIVE_AREA_MAX_FEATURES = 2000
SOURCES = ((DRAWN_POLYGON, "Polygon drawn on the map"), (DRAWN_RECTANGLE, "Rectangle drawn on the map"),
           (SELECTED, "Selected features of a layer"), (EXTENT, "Current map extent"))
HINTS = {POLYGON: "Click the corners; right-click or double-click finishes, Backspace undoes a corner, Esc cancels.",
         RECTANGLE: "Drag a rectangle on the map (Esc cancels)."}


class AoiPanel(QWidget):
    """Chooses and shows the AOI; current_aoi() returns it validated in WGS84; `changed` on every change."""

    changed = pyqtSignal()

    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.canvas = iface.mapCanvas()
        self.drawings = {POLYGON: None, RECTANGLE: None}  # mode -> (QgsGeometry, QgsCoordinateReferenceSystem)
        self.tool = None
        self.previous_tool = None
        self.watched = None
        self.band = polygon_band(self.canvas)
        self.area_text = ""
        self.aoi = None   # the last AOI measured, or None
        self.aoi_error = ""   # why there is none (empty while it is only being drawn or measured at Start)
        self._build()

    def _build(self):
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.source_combo = QComboBox(self)
        self.source_combo.setObjectName("mapflow_aoi_source")
        for key, label in SOURCES:
            self.source_combo.addItem(label, key)
        layout.addRow("AOI", self.source_combo)
        row = QHBoxLayout()
        self.draw_button = QPushButton("Draw on the map", self)
        self.draw_button.setObjectName("mapflow_draw")
        self.draw_button.setCheckable(True)
        self.clear_button = QPushButton("Clear", self)
        row.addWidget(self.draw_button, 1)
        row.addWidget(self.clear_button)
        self.layer_combo = QgsMapLayerComboBox(self)
        self.layer_combo.setObjectName("mapflow_aoi_layer")
        self.layer_combo.setFilters(layer_filter("PolygonLayer"))
        narrow(self.source_combo, self.layer_combo)
        row.addWidget(self.layer_combo, 1)
        layout.addRow("", wrap_layout(row, self))
        self.area_label = wrapped_label("Draw or pick an area.", self, "mapflow_area")
        layout.addRow("Area", self.area_label)
        self.source_combo.currentIndexChanged.connect(self._source_changed)
        self.draw_button.toggled.connect(self._draw_toggled)
        self.clear_button.clicked.connect(self.clear)
        self.layer_combo.layerChanged.connect(self._layer_changed)
        self.canvas.extentsChanged.connect(self._extent_changed)
        self.canvas.destinationCrsChanged.connect(self._extent_changed)
        self._source_changed()

    # -- sources --------------------------------------------------------------------------------
    def source(self):
        """The key of the chosen AOI source."""
        return self.source_combo.currentData()

    def mode(self):
        """The drawing mode of the chosen source, or None."""
        return MODES.get(self.source())

    def set_source(self, key):
        """Pick an AOI source by key."""
        self.source_combo.setCurrentIndex(self.source_combo.findData(key))

    def _source_changed(self):
        mode = self.mode()
        self.draw_button.setVisible(mode is not None)
        self.clear_button.setVisible(mode is not None)
        self.layer_combo.setVisible(self.source() == SELECTED)
        if mode is None and self.draw_button.isChecked():
            self.draw_button.setChecked(False)
        elif mode is not None and self.tool is not None:
            self.tool.set_mode(mode)
        self._show_drawing()
        self._layer_changed(self.layer_combo.currentLayer())

    def _show_drawing(self):
        """The rubber band shows the chosen mode's own drawing (a polygon is not kept as the rectangle)."""
        drawing = self.drawings.get(self.mode()) if self.mode() else None
        if drawing is None:
            self.band.reset(geometry_type("Polygon"))
        else:
            self.band.setToGeometry(drawing[0], drawing[1])
        self.band.setVisible(drawing is not None)

    def _layer_changed(self, layer):
        self._layer_changed_disconnect()
        if layer is not None and self.source() == SELECTED:
            layer.selectionChanged.connect(self.refresh)
            self.watched = layer
        self.refresh()

    def _extent_changed(self):
        if self.source() == EXTENT:
            self.refresh()

    # -- drawing --------------------------------------------------------------------------------
    def _draw_toggled(self, on):
        if not on:
            self._unset_tool()
            self.refresh()
            return
        mode = self.mode() or POLYGON
        self._unset_tool()
        tool = AoiMapTool(self.canvas, mode)
        tool.area_changed.connect(self._live_area)
        tool.drawn.connect(self._tool_drew)
        tool.cancelled.connect(self.refresh)
        # Another tool (Pan…) picked by the user: the Draw button pops up.
        tool.deactivated.connect(lambda t=tool: self._tool_deactivated(t))
        self.previous_tool = self.canvas.mapTool()
        self.tool = tool
        self.canvas.setMapTool(tool)
        self.area_label.setText(HINTS[mode])

    def _unset_tool(self):
        """Give the canvas back its previous tool and delete ours (Draw unchecked, source changed, shutdown)."""
        if self.tool is None:
            return
        tool, self.tool = self.tool, None
        previous, self.previous_tool = self.previous_tool, None
        if self.canvas.mapTool() is tool:
            self.canvas.unsetMapTool(tool)
            if previous is not None:
                try:
                    self.canvas.setMapTool(previous)
                except RuntimeError:
                    pass  # the previous tool was deleted meanwhile: the canvas keeps no tool
        self._drop_tool(tool)

    def _tool_deactivated(self, tool):
        """The user picked another map tool: forget ours (the canvas is switching, so do not set tools here)."""
        if tool is not self.tool:
            return  # our own _unset_tool() is taking it off
        self.tool = None
        self.previous_tool = None
        self._drop_tool(tool)
        self.draw_button.setChecked(False)

    @staticmethod
    def _drop_tool(tool):
        tool.remove_band()
        tool.deleteLater()

    def _live_area(self, km2):
        self.area_label.setText(f"{km2:.3f} km² (drawing)")

    def _tool_drew(self, geometry):
        # Like QGIS's digitising tools the tool stays active: the next shape replaces this one.
        self.set_drawn(geometry, mode=self.tool.mode if self.tool is not None else self.mode())

    def set_drawn(self, geometry, crs=None, mode=None):
        """Keep a drawn AOI (canvas CRS unless given) for a mode (the chosen one unless given) and show it."""
        mode = mode or self.mode() or POLYGON
        self.drawings[mode] = (QgsGeometry(geometry), crs or self.canvas.mapSettings().destinationCrs())
        if self.mode() != mode:
            self.set_source(DRAWN_POLYGON if mode == POLYGON else DRAWN_RECTANGLE)
        self._show_drawing()
        self.refresh()

    @property
    def drawn(self):
        """The chosen mode's drawing (geometry, crs), or None."""
        return self.drawings.get(self.mode()) if self.mode() else None

    def clear(self):
        """Forget the chosen mode's drawing."""
        if self.mode():
            self.drawings[self.mode()] = None
        if self.tool is not None:
            self.tool.reset()
        self._show_drawing()
        self.refresh()

    # -- the AOI ------------------------------------------------------------------------------
    def current_aoi(self):
        """The validated AOI in WGS84 (raises MapbridgeError with what to do)."""
        context = QgsProject.instance().transformContext()
        key = self.source()
        if key in MODES:
            if self.drawn is None:
                raise MapbridgeError("no area has been drawn yet", service="mapflow",
                                     hint="Press 'Draw on the map' and draw the area")
            geometry, crs = self.drawn
            return build_aoi([geometry], crs, context, ["drawn on the map"])
        if key == SELECTED:
            layer = self.layer_combo.currentLayer()
            if layer is None:
                raise MapbridgeError("no polygon layer is chosen", service="mapflow", hint="Pick a polygon layer")
            features = layer.selectedFeatures()
            if not features:
                raise MapbridgeError(f"no features are selected in '{layer.name()}'", service="mapflow",
                                     hint="Select the polygons to process")
            return build_aoi([f.geometry() for f in features], layer.crs(), context,
                             [f"feature {f.id()} of '{layer.name()}'" for f in features])
        return aoi_from_rectangle(self.canvas.extent(), self.canvas.mapSettings().destinationCrs(), context)

    def refresh(self):
        """Measure and show the AOI; `changed` tells the page (cost, problems)."""
        layer = self.layer_combo.currentLayer()
        self.aoi, self.aoi_error = None, ""
        if self.source() == SELECTED and layer is not None and layer.selectedFeatureCount() > LIVE_AREA_MAX_FEATURES:
            self.area_text = ""
            self.area_label.setText(f"{layer.selectedFeatureCount()} features selected; the area is measured when "
                                    "you press Start.")
            self.changed.emit()
            return
        try:
            self.aoi = self.current_aoi()
        except MapbridgeError as exc:
            self.area_text = ""
            text = exc.message[0].upper() + exc.message[1:] + "."
            self.aoi_error = exc.message
        else:
            parts = self.aoi.part_count
            self.area_text = f"{self.aoi.area_km2:.3f} km²" + (f" in {parts} polygons" if parts > 1 else "")
            text = self.area_text + ("" if not self.aoi.notes else " (repaired)")
        if self.tool is not None and self.tool.mode == self.mode() and self.drawn is None:
            text = HINTS[self.tool.mode]
        self.area_label.setText(text)
        self.changed.emit()

    def shutdown(self):
        """Unset the map tool, remove the rubber bands and disconnect from layers and the canvas."""
        self._unset_tool()
        self._layer_changed_disconnect()
        for signal in (self.canvas.extentsChanged, self.canvas.destinationCrsChanged):
            try:
                signal.disconnect(self._extent_changed)
            except (TypeError, RuntimeError):
                pass
        self.band.reset(geometry_type("Polygon"))
        scene = self.canvas.scene()
        if scene is not None and self.band.scene() is scene:
            scene.removeItem(self.band)

    def _layer_changed_disconnect(self):
        if self.watched is not None:
            try:
                self.watched.selectionChanged.disconnect(self.refresh)
            except (TypeError, RuntimeError):
                pass
            self.watched = None
