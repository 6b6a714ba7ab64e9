"""Refresh of Mapalyze layers: the background job, the layer context-menu action and the auto-refresh timer."""

from __future__ import annotations

from qgis.core import QgsProject, QgsSettings
from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import QAction

from ...api.errors import MapbridgeError
from ...core import settings_keys
from ...core.mapalyze import layer as mapalyze_layer
from ...core.mapalyze.load import refresh_records
from ...core.qgis_compat import vector_layer_type
from ...core.service_factory import client_for
from ..mapalyze_tasks import JobRunner

ACTION_TEXT = "Refresh from Mapalyze"


class RefreshController(QObject):
    """Appends to a Mapalyze layer the records newer than its newest timestamp (never duplicates)."""

    progress = pyqtSignal(float, str)
    finished = pyqtSignal(bool, object, str)  # ok, layer, message

    def __init__(self, parent=None, project=None):
        super().__init__(parent)
        self.project = project
        self.runner = JobRunner(self)
        self.runner.progress.connect(self.progress)
        self.layer_id = None

    @property
    def busy(self):
        """True while a refresh runs."""
        return self.runner.busy

    def refresh(self, layer):
        """Start refreshing `layer` in the background; MapbridgeError when it cannot start."""
        if not mapalyze_layer.is_mapalyze_layer(layer):
            raise MapbridgeError("this layer was not loaded from Mapalyze", hint="Select a Mapalyze layer")
        if self.busy:
            raise MapbridgeError("a Mapalyze refresh is already running", hint="Wait for it or cancel it")
        if layer.isEditable():
            raise MapbridgeError(f"the layer {layer.name()} is being edited",
                                 hint="Save or discard your edits, then refresh")
        info = mapalyze_layer.info(layer)
        client = client_for("mapalyze")
        client.config.require_token()
        self.layer_id = layer.id()

        def job(feedback):
            return refresh_records(client, info["path"], info["layer_name"], form_id=info["form_id"],
                                   since=info["newest"], feedback=feedback)

        self.runner.start(f"Mapalyze: refresh {layer.name()}", job, self._done, client)

    def cancel(self):
        """Stop the running refresh (the layer is left as it was)."""
        self.runner.cancel()

    def shutdown(self):
        """Stop the running refresh without reporting back (plugin unload)."""
        self.runner.shutdown()

    def _done(self, ok, value, _message):
        project = self.project or QgsProject.instance()
        layer = project.mapLayer(self.layer_id) if self.layer_id else None
        if not ok:
            self.finished.emit(False, layer, value.user_message() if isinstance(value, MapbridgeError)
                               else f"Mapalyze refresh failed: {value}")
            return
        if layer is not None:
            mapalyze_layer.after_refresh(layer, value)
        name = layer.name() if layer is not None else value.layer_name
        text = (f"{name}: {value.added:,} new Mapalyze records ({value.count:,} in all)" if value.added
                else f"{name}: no new Mapalyze records")
        self.finished.emit(True, layer, text)


class LayerMenuAction(QObject):
    """"Refresh from Mapalyze" in the context menu of Mapalyze layers only."""

    def __init__(self, iface, on_refresh, parent=None, project=None):
        super().__init__(parent)
        self.iface = iface
        self.on_refresh = on_refresh
        self.project = project or QgsProject.instance()
        self.action = QAction(ACTION_TEXT, self)
        self.action.setObjectName("mapbridge_mapalyze_refresh_action")
        self.action.triggered.connect(self._triggered)
        self.installed = False
        if iface is not None and hasattr(iface, "addCustomActionForLayerType"):
            iface.addCustomActionForLayerType(self.action, "", vector_layer_type(), False)
            self.installed = True
            self.project.layersAdded.connect(self._layers_added)
            self._layers_added(list(self.project.mapLayers().values()))

    def _layers_added(self, layers):
        ids = [layer.id() for layer in layers]
        # Processing's post-processors mark toolbox outputs just after they are added: look once they ran.
        QTimer.singleShot(0, lambda: self._attach(ids))

    def _attach(self, ids):
        if not self.installed:
            return
        for layer_id in ids:
            layer = self.project.mapLayer(layer_id)
            if layer is not None and mapalyze_layer.is_mapalyze_layer(layer):
                self.iface.addCustomActionForLayer(self.action, layer)

    def attach(self, layer):
        """Show the action for a layer just marked as a Mapalyze layer."""
        if self.installed and layer is not None:
            self.iface.addCustomActionForLayer(self.action, layer)

    def _triggered(self):
        layer = self.iface.activeLayer() if self.iface is not None else None
        if layer is not None:
            self.on_refresh(layer)

    def remove(self):
        """Take the action out of every layer's context menu."""
        if self.installed:
            self.installed = False
            try:
                self.project.layersAdded.disconnect(self._layers_added)
            except TypeError:
                pass
            self.iface.removeCustomActionForLayerType(self.action)


class AutoRefresh(QObject):
    """Refreshes every Mapalyze layer of the project every N minutes (0 = off, the default)."""

    def __init__(self, refresh_all, parent=None):
        super().__init__(parent)
        self.refresh_all = refresh_all
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh_all)
        self.set_minutes(self.minutes())

    @staticmethod
    def minutes():
        """The saved interval in minutes (0 = off)."""
        return max(0, QgsSettings().value(settings_keys.MAPALYZE_AUTO_REFRESH_MINUTES, 0, type=int) or 0)

    def set_minutes(self, minutes):
        """Save and apply the interval."""
        minutes = max(0, int(minutes or 0))
        QgsSettings().setValue(settings_keys.MAPALYZE_AUTO_REFRESH_MINUTES, minutes)
        if minutes:
            self.timer.start(minutes * 60 * 1000)
        else:
            self.timer.stop()

    def stop(self):
        """Stop the timer (plugin unload)."""
        self.timer.stop()
