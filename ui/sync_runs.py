"""What the Layers panel's synced layers run: Sync now, a sync when edits are saved (one at a time per layer, once
more if saved again meanwhile) with a one-line summary in the message bar, and Unlink."""

from __future__ import annotations

from qgis.core import Qgis, QgsProcessingFeatureSourceDefinition
from qgis.PyQt.QtCore import QObject
from qgis.PyQt.QtWidgets import QMessageBox

from ..api.errors import MapbridgeError, service_title
from ..core.sync.choices import ALGORITHMS, SELECTED_ONLY
from ..core.sync.items import describe_counts
from ..core.sync.links import forget_links, layer_links
from ..core.sync.marker import marks_of, unmark
from .background import BackgroundRunner
from .notify import show_error, show_message


def confirm(parent, title, text):
    """Ask before something that cannot be undone."""
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def sync_input(layer, link):
    """INPUT of a sync run again from the layer: the layer, or its current selection when the link was made from a
    selection (refused when nothing is selected: that sync would delete every feature from the map)."""
    if not link.parameters.get(SELECTED_ONLY):
        return layer.id()
    if not layer.selectedFeatureCount():
        title = service_title(link.service)
        raise MapbridgeError(
            f"'{layer.name()}' is synced with {title} map {link.map_id} from its selected features, and none is "
            f"selected now: nothing was sent (syncing no feature would delete them all from the map)",
            service=link.service,
            hint="Select the features the map should hold and sync again, or sync the whole layer from Mapbridge ▸ "
                 "Push without 'Selected features only'")
    return QgsProcessingFeatureSourceDefinition(layer.id(), True)


class SyncRuns(QObject):
    """Runs the syncs of the layers SyncIndicators knows."""

    def __init__(self, indicators, parent=None):
        super().__init__(parent)
        self.indicators = indicators
        self.iface = indicators.iface
        self.project = indicators.project
        self.runner = BackgroundRunner(self)
        self.running = {}                   # layer id → number of its syncs under way
        self.again = set()                  # layer ids saved again while a sync ran: one more after it

    def saved(self, layer_id):
        """A layer's edits were saved: sync it with the maps it syncs with on save (after a sync under way)."""
        marks = [m for m in self.indicators.marks.get(layer_id, []) if m.get("on_save")]
        if not marks:
            return
        if self.running.get(layer_id):
            self.again.add(layer_id)         # edits saved while it syncs: once more when it ends
            return
        layer = self.project.mapLayer(layer_id)
        if layer is not None:
            self.sync_now(layer, only=marks)

    def sync_now(self, layer, only=None):
        """Sync the layer with each of its maps (or only those marks) in the background; the message bar tells."""
        try:
            links = [link for link in layer_links(layer) if link.map_id and link.service in ALGORITHMS]
        except MapbridgeError as exc:
            show_error(self.iface, exc)
            return
        if only is not None:
            wanted = {(m["service"], m["map_id"]) for m in only}
            links = [link for link in links if (link.service, link.map_id) in wanted]
        if not links:
            show_error(self.iface, MapbridgeError(f"the layer '{layer.name()}' is not synced with any map",
                                                  hint="Sync it from Mapbridge ▸ Push with 'Keep this map in sync'"))
            return
        for link in links:
            try:
                source = sync_input(layer, link)
            except MapbridgeError as exc:
                show_error(self.iface, exc)
                continue
            # Lower-case keys are what the link keeps besides the algorithm's parameters.
            params = {key: value for key, value in link.parameters.items() if not key.islower()}
            params.update(INPUT=source, OUTPUT="memory:", MAP_ID=link.map_id)
            self.running[layer.id()] = self.running.get(layer.id(), 0) + 1
            try:
                self.runner.algorithm(ALGORITHMS[link.service], params,
                                      f"Mapbridge: sync {layer.name()} with {service_title(link.service)}",
                                      lambda outcome, lid=layer.id(), s=link.service: self._synced(lid, s, outcome))
            except MapbridgeError as exc:
                self.running[layer.id()] -= 1
                show_error(self.iface, exc)

    def _synced(self, layer_id, service, outcome):
        self.running[layer_id] = max(0, self.running.get(layer_id, 1) - 1)
        if outcome.ok:
            text = f"{service_title(service)}: {describe_counts(outcome.results)}"
            failed = outcome.results.get("FAILED") or outcome.results.get("NOT_SENT")
            show_message(self.iface, text, Qgis.MessageLevel.Warning if failed or outcome.warnings
                         else Qgis.MessageLevel.Success)
        else:
            show_error(self.iface, outcome.error)
        if not self.running[layer_id] and layer_id in self.again:
            self.again.discard(layer_id)
            self.saved(layer_id)

    def unlink(self, layer):
        """Forget the layer's links (after asking); the features stay on the maps."""
        marks = self.indicators.marks.get(layer.id()) or marks_of(layer)
        maps = ", ".join(f"{service_title(m['service'])} map {m['map_id']}" for m in marks) or "its maps"
        parent = self.iface.mainWindow() if self.iface is not None else None
        if not confirm(parent, "Unlink from web map",
                       f"Forget that '{layer.name()}' is synced with {maps}?\n\nThe features stay on the map; the "
                       f"next sync to it would send every feature again."):
            return
        try:
            removed = forget_links(layer)
        except MapbridgeError as exc:
            show_error(self.iface, exc)
            return
        for mark in marks_of(layer):
            unmark(layer, mark["service"], mark["map_id"])
        self.indicators.refresh(layer)
        show_message(self.iface, f"'{layer.name()}' is no longer synced ({len(removed)} link"
                                 f"{'s' if len(removed) != 1 else ''} forgotten).")

    def shutdown(self):
        """Detach the syncs under way (they end quietly)."""
        self.runner.shutdown()
