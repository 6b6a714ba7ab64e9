"""Refresh and Sync of Mapalyze layers (the background jobs, in place) and the auto-refresh timer."""

from __future__ import annotations

from dataclasses import dataclass

from qgis.core import QgsProject, QgsSettings
from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal

from ...api.errors import MapbridgeError
from ...core import settings_keys
from ...core.mapalyze import layer as mapalyze_layer
from ...core.mapalyze.load import refresh_records
from ...core.mapalyze.sync import SyncResult, sync_records
from ...core.service_factory import client_for
from ..background import BackgroundRunner, Outcome

REFRESH, SYNC = "refresh", "sync"


@dataclass
class Updated:
    """What a refresh or sync did to one layer."""

    layer: object            # the QgsVectorLayer (None if it left the project meanwhile)
    mode: str
    name: str
    added: int = 0
    changed: int = 0
    removed: int = 0
    count: int = 0

    def describe(self):
        """"+3 added, ~1 changed, −2 removed" / "3 new records" / "no new records"."""
        if self.mode == SYNC:
            text = SyncResult("", "", added=self.added, changed=self.changed, removed=self.removed).describe()
            return "already up to date" if text == "no changes" else text
        if self.added:
            return f"{self.added:,} new record{'s' if self.added != 1 else ''}"
        return "no new records"


class RefreshController(QObject):
    """One refresh or sync at a time; progress(percent, text) while it runs, finished(Outcome of an Updated)."""

    progress = pyqtSignal(float, str)
    finished = pyqtSignal(object)

    def __init__(self, parent=None, project=None):
        super().__init__(parent)
        self.project = project
        self.runner = BackgroundRunner(self)
        self.run = None
        self.layer_id = None
        self.mode = REFRESH
        self.form_names = {}     # form id -> name, for the legend of forms new to a layer

    @property
    def busy(self):
        """True while a refresh or sync runs."""
        return self.runner.busy

    def refresh(self, layer, quiet=False):
        """Add the records created on the server since the layer's watermark (background)."""
        self._start(layer, REFRESH, quiet)

    def sync(self, layer):
        """Make the layer hold exactly what Mapalyze holds: add, update, remove (background)."""
        self._start(layer, SYNC, False)

    def _start(self, layer, mode, quiet):
        if not mapalyze_layer.is_mapalyze_layer(layer):
            raise MapbridgeError("this layer was not loaded from Mapalyze", hint="Select a Mapalyze layer")
        if self.busy:
            raise MapbridgeError("a Mapalyze refresh or sync is already running", hint="Wait for it or cancel it")
        if layer.isEditable():
            raise MapbridgeError(f"the layer {layer.name()} is being edited",
                                 hint=f"Save or discard your edits, then {mode}")
        info = mapalyze_layer.info(layer)
        client = client_for("mapalyze")
        client.config.require_token()
        self.layer_id, self.mode = layer.id(), mode

        def job(feedback):
            if mode == SYNC:
                return sync_records(client, info["path"], info["layer_name"], form_id=info["form_id"],
                                    since=info["since"], feedback=feedback)
            return refresh_records(client, info["path"], info["layer_name"], form_id=info["form_id"],
                                   watermark=info["watermark"], floor=info["since"], feedback=feedback)

        verb = "sync" if mode == SYNC else "refresh"
        self.run = self.runner.job(f"Mapalyze: {verb} {layer.name()}", job, self._done,
                                   on_progress=self.progress.emit, client=client, hidden=quiet)

    def cancel(self):
        """Stop the running refresh or sync (the layer is left as it was)."""
        if self.run is not None:
            self.run.cancel()

    def shutdown(self):
        """Stop the running job without reporting back (plugin unload)."""
        self.runner.shutdown()
        self.run = None

    def _done(self, outcome):
        self.run = None
        project = self.project or QgsProject.instance()
        layer = project.mapLayer(self.layer_id) if self.layer_id else None
        if not outcome.ok:
            self.finished.emit(Outcome(False, layer, outcome.error, warnings=outcome.warnings))
            return
        value = outcome.results
        if layer is not None:
            mapalyze_layer.after_refresh(layer, value, self.form_names)
        updated = Updated(layer, self.mode, layer.name() if layer is not None else value.layer_name,
                          added=value.added, changed=getattr(value, "changed", 0),
                          removed=getattr(value, "removed", 0), count=value.count)
        summary = f"{updated.name}: {updated.describe()} ({updated.count:,} records)"
        self.finished.emit(Outcome(True, updated, warnings=outcome.warnings, summary=summary))


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
