"""The layer context-menu entry "Push to…" (vector layers), added and removed with the dock."""

from __future__ import annotations

from qgis.PyQt.QtWidgets import QAction

from ...core.qgis_compat import vector_layer_type


class PushLayerAction:
    """Adds "Push to…" to every vector layer's context menu; `on_layer(layer)` gets the clicked layer."""

    TEXT = "Push to…"

    def __init__(self, iface, on_layer, parent=None):
        self.iface = iface
        self.on_layer = on_layer
        self.action = QAction(self.TEXT, parent)
        self.action.setObjectName("MapbridgePushToAction")
        self.action.setToolTip("Send this layer's (selected) features to Mapiry, Mapsemble or Mapalyze")
        self.action.triggered.connect(self._triggered)
        self.added = False
        if iface is not None:
            iface.addCustomActionForLayerType(self.action, "", vector_layer_type(), True)
            self.added = True

    def _triggered(self):
        layer = self.iface.activeLayer() if self.iface is not None else None
        self.on_layer(layer)

    def remove(self):
        """Take the entry out of the context menu."""
        if self.added:
            self.iface.removeCustomActionForLayerType(self.action)
            self.added = False
