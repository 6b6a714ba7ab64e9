"""Entries of the Layers panel's context menu: one class for every Mapbridge entry, added and removed with the dock."""

from __future__ import annotations

from qgis.core import QgsProject
from qgis.PyQt.QtCore import QObject, QTimer
from qgis.PyQt.QtWidgets import QAction

from ..core.qgis_compat import vector_layer_type


class LayerAction(QObject):
    """A context-menu entry for vector layers; on_layer(layer) gets the layer it was chosen on.

    applies_to(layer) limits it to some layers (checked as layers are added, and by attach()); without it the
    entry shows for every vector layer."""

    def __init__(self, iface, text, object_name, on_layer, *, tooltip="", applies_to=None, parent=None,
                 project=None):
        super().__init__(parent)
        self.iface = iface
        self.on_layer = on_layer
        self.applies_to = applies_to
        self.project = project or QgsProject.instance()
        self.action = QAction(text, self)
        self.action.setObjectName(object_name)
        if tooltip:
            self.action.setToolTip(tooltip)
        self.action.triggered.connect(self._triggered)
        self.installed = False
        self.attached = set()       # ids of the layers the entry was added for (applies_to entries)
        if iface is not None and hasattr(iface, "addCustomActionForLayerType"):
            iface.addCustomActionForLayerType(self.action, "", vector_layer_type(), applies_to is None)
            self.installed = True
            if applies_to is not None:
                self.project.layersAdded.connect(self._layers_added)
                self.project.layersWillBeRemoved.connect(self._layers_removed)
                self._layers_added(list(self.project.mapLayers().values()))

    def _layers_added(self, layers):
        ids = [layer.id() for layer in layers]
        # Processing's post-processors mark toolbox outputs just after they are added: look once they ran.
        QTimer.singleShot(0, lambda: self._attach_ids(ids))

    def _layers_removed(self, ids):
        self.attached.difference_update(ids)        # a layer read again with the same id gets the entry again

    def _attach_ids(self, ids):
        for layer_id in ids:
            layer = self.project.mapLayer(layer_id)
            if layer is not None and self.applies_to(layer):
                self.attach(layer)

    def attach(self, layer):
        """Show the entry for a layer (one just marked as one it applies to)."""
        if self.installed and layer is not None and self.applies_to is not None and layer.id() not in self.attached:
            self.attached.add(layer.id())
            self.iface.addCustomActionForLayer(self.action, layer)

    def detach(self, layer):
        """Stop showing the entry for a layer it no longer applies to (QGIS has no per-layer removal: the entry is
        installed again for the other layers it was added for)."""
        if not self.installed or self.applies_to is None or layer.id() not in self.attached:
            return
        self.attached.discard(layer.id())
        self.iface.removeCustomActionForLayerType(self.action)
        self.iface.addCustomActionForLayerType(self.action, "", vector_layer_type(), False)
        for layer_id in list(self.attached):
            other = self.project.mapLayer(layer_id)
            if other is None:
                self.attached.discard(layer_id)
            else:
                self.iface.addCustomActionForLayer(self.action, other)

    def _triggered(self):
        layer = self.iface.activeLayer() if self.iface is not None else None
        if layer is not None:
            self.on_layer(layer)

    def remove(self):
        """Take the entry out of every layer's context menu."""
        if not self.installed:
            return
        self.installed = False
        if self.applies_to is not None:
            try:
                self.project.layersAdded.disconnect(self._layers_added)
                self.project.layersWillBeRemoved.disconnect(self._layers_removed)
            except TypeError:
                pass        # never connected
        self.iface.removeCustomActionForLayerType(self.action)
