"""Refresh of Mapalyze layers: the background job, the layer context-menu action and the auto-refresh timer."""

from __future__ import annotations

from qgis.core import QgsProject, QgsSettings
from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal

from ...api.errors import MapbridgeError
from ...core import settings_keys
from ...core.mapalyze import layer as mapalyze_layer
from ...core.mapalyze.load import refresh_records
from ...core.service_factory import client_for
from ..background import BackgroundRunner, Outcome



class RefreshController(QObject):
    """Appends to a Mapalyze layer the records newer than its newest timestamp (never duplicates)."""

    progress = pyqtSignal(float, str)
    finished = pyqtSignal(object)  # Outcome: results is the layer

    def __init__(self, parent=None, project=None):
        super().__init__(parent)
        self.project = project
        self.runner = BackgroundRunner(self)
        self.run = None
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

        self.run = self.runner.job(f"Mapalyze: refresh {layer.name()}", job, self._done,
                                   on_progress=self.progress.emit, client=client)

    def cancel(self):
        """Stop the running refresh (the layer is left as it was)."""
        if self.run is not None:
            self.run.cancel()

    def shutdown(self):
        """Stop the running refresh without reporting back (plugin unload)."""
        self.runner.shutdown()
        self.run = None

    def _done(self, outcome):
        self.run = None
        project = self.project or QgsProject.instance()
        layer = project.mapLayer(self.layer_id) if self.layer_id else None
        if not outcome.ok:
            self.finished.emit(Outcome(False, layer, outcome.error))
            return
        value = outcome.results
        if layer is not None:
            mapalyze_layer.after_refresh(layer, value)
        name = layer.name() if layer is not None else value.layer_name
        text = (f"{name}: {value.added:,} new Mapalyze records ({value.count:,} in all)" if value.added
                else f"{name}: no new Mapalyze records")
        self.finished.emit(Outcome(True, layer, summary=text))


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
