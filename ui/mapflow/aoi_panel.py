"""The AOI part of the Mapflow tab: drawn polygon or rectangle, selected features, or the canvas extent."""

from __future__ import annotations

from qgis.core import QgsGeometry, QgsProject
from qgis.gui import QgsMapLayerComboBox
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from ...api.errors import MapbridgeError
from ...core.mapflow.aoi import aoi_from_rectangle, build_aoi
from ...core.qgis_compat import geometry_type, layer_filter
from .aoi_tool import POLYGON, RECTANGLE, AoiMapTool, polygon_band
from .layout import narrow, wrap_layout

DRAWN_POLYGON, DRAWN_RECTANGLE, SELECTED, EXTENT = "drawn_polygon", "drawn_rectangle", "selected", "extent"
# Above this many selected features the area is measured when Start is pressed, not at each selection change.
LIVE_AREA_MAX_FEATURES = 2000
SOURCES = ((DRAWN_POLYGON, "Polygon drawn on the map"), (DRAWN_RECTANGLE, "Rectangle drawn on the map"),
           (SELECTED, "Selected features of a layer"), (EXTENT, "Current map extent"))


class AoiPanel(QWidget):
    """Chooses and shows the AOI; current_aoi() returns it validated in WGS84."""

    changed = pyqtSignal()

    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.canvas = iface.mapCanvas()
        self.drawn = None  # (QgsGeometry, QgsCoordinateReferenceSystem)
        self.tool = None
        self.previous_tool = None
        self.watched = None
        self.band = polygon_band(self.canvas)
        self.area_text = ""
        self.account_text = ""
        self._build()

    def _build(self):
        layout = QFormLayout(self)
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
        row.addWidget(self.draw_button)
        row.addWidget(self.clear_button)
        self.layer_combo = QgsMapLayerComboBox(self)
        self.layer_combo.setObjectName("mapflow_aoi_layer")
        self.layer_combo.setFilters(layer_filter("PolygonLayer"))
        narrow(self.source_combo, self.layer_combo)
        row.addWidget(self.layer_combo, 1)
        layout.addRow("", wrap_layout(row, self))
        self.area_label = QLabel("Draw or pick an area.", self)
        self.area_label.setObjectName("mapflow_area")
        self.area_label.setWordWrap(True)
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

    def set_source(self, key):
        """Pick an AOI source by key."""
        self.source_combo.setCurrentIndex(self.source_combo.findData(key))

    def _source_changed(self):
        key = self.source()
        drawn = key in (DRAWN_POLYGON, DRAWN_RECTANGLE)
        self.draw_button.setVisible(drawn)
        self.clear_button.setVisible(drawn)
        self.layer_combo.setVisible(key == SELECTED)
        if not drawn and self.draw_button.isChecked():
            self.draw_button.setChecked(False)
        self.band.setVisible(drawn)
        self._layer_changed(self.layer_combo.currentLayer())
        self.refresh()

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
        if on:
            mode = RECTANGLE if self.source() == DRAWN_RECTANGLE else POLYGON
            self._unset_tool()
            tool = AoiMapTool(self.canvas, mode)
            tool.area_changed.connect(self._live_area)
            tool.drawn.connect(self.set_drawn)
            tool.cancelled.connect(lambda: self.draw_button.setChecked(False))
            # Another tool (Pan…) picked by the user: the Draw button pops up.
            tool.deactivated.connect(lambda t=tool: self._tool_deactivated(t))
            self.previous_tool = self.canvas.mapTool()
            self.tool = tool
            self.canvas.setMapTool(tool)
            self.area_label.setText("Click the corners; right-click or double-click to finish (Esc cancels)."
                                    if mode == POLYGON else "Drag a rectangle on the map (Esc cancels).")
        else:
            self._unset_tool()

    def _unset_tool(self):
        """Give the canvas back its previous tool and delete ours (Draw unchecked, drawing finished, shutdown)."""
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
        self.area_label.setText(f"{km2:.3f} km² (drawing)" + (f" · {self.account_text}" if self.account_text else ""))

    def set_drawn(self, geometry, crs=None):
        """Keep a drawn AOI (canvas CRS unless given) and show it."""
        self.drawn = (QgsGeometry(geometry), crs or self.canvas.mapSettings().destinationCrs())
        self.band.setToGeometry(geometry, None)
        self.band.setVisible(True)
        if self.draw_button.isChecked():
            self.draw_button.setChecked(False)
        self.refresh()

    def clear(self):
        """Forget the drawn AOI."""
        self.drawn = None
        self.band.reset(geometry_type("Polygon"))
        self.refresh()

    # -- the AOI ------------------------------------------------------------------------------
    def current_aoi(self):
        """The validated AOI in WGS84 (raises MapbridgeError with what to do)."""
        context = QgsProject.instance().transformContext()
        key = self.source()
        if key in (DRAWN_POLYGON, DRAWN_RECTANGLE):
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

    def set_account_text(self, text):
        """The limit and balance shown next to the area."""
        self.account_text = text
        self.refresh()

    def refresh(self):
        """Recompute and show the area (with limit and balance)."""
        layer = self.layer_combo.currentLayer()
        if self.source() == SELECTED and layer is not None and layer.selectedFeatureCount() > LIVE_AREA_MAX_FEATURES:
            self.area_text = ""
            self.area_label.setText(f"{layer.selectedFeatureCount()} features selected; the area is measured when "
                                    "you press Start.")
            self.changed.emit()
            return
        try:
            aoi = self.current_aoi()
        except MapbridgeError as exc:
            self.area_text = ""
            text = exc.message[0].upper() + exc.message[1:] + "."
        else:
            self.area_text = f"{aoi.area_km2:.3f} km²" + (f" in {aoi.part_count} polygons" if aoi.part_count > 1
                                                           else "")
            text = self.area_text + ("" if not aoi.notes else " (repaired)")
        self.area_label.setText(text + (f" · {self.account_text}" if self.account_text else ""))
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
