"""Synced layers in the Layers panel: an indicator (map and last sync in its tooltip), Sync now, Unlink, and a sync
in the background each time their edits are saved, with a one-line summary in the message bar.

Made when the plugin loads, so it stays light: the link store is read only for layers that may have links, a
moment after they are added.
"""

from __future__ import annotations

import os

from qgis.core import Qgis, QgsProject, QgsVectorLayer
from qgis.gui import QgsLayerTreeView, QgsLayerTreeViewIndicator
from qgis.PyQt.QtCore import QObject, QTimer
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QMessageBox

from ..api.errors import MapbridgeError, service_title
from ..core.sync.choices import ALGORITHMS
from ..core.log import log_exception
from ..core.sync.marker import PROPERTY, marks_of, unmark

ICON_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "icons", "mapbridge.svg")


def confirm(parent, title, text):
    """Ask before something that cannot be undone."""
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def describe_mark(mark):
    """"Synced with Mapsemble map ms_demo · last sync 2025-06-01 14:03 UTC · syncs when edits are saved"."""
    text = f"Synced with {service_title(mark['service'])} map {mark['map_id']}"
    last = mark.get("last_sync") or ""
    if last:
        text += f" · last sync {last.replace('T', ' ').replace('Z', '')[:16]} UTC"
    if mark.get("on_save"):
        text += " · syncs when edits are saved"
    return text


class SyncIndicators(QObject):
    """Knows which project layers are synced; shows it and runs their syncs."""

    def __init__(self, iface, on_change=None, project=None, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.project = project or QgsProject.instance()
        self.on_change = on_change          # on_change(layer, synced): the plugin shows or hides its menu entries
        self.marks = {}                     # layer id → its link marks
        self.indicators = {}                # layer id → QgsLayerTreeViewIndicator
        self.watched = {}                   # layer id → layer whose signals are connected
        self.runner = None
        self.running = {}                   # layer id → number of its syncs under way
        self.again = set()                  # layer ids saved again while a sync ran: one more after it
        self.project.layersAdded.connect(self._layers_added)
        self.project.layersWillBeRemoved.connect(self._layers_removed)
        self._layers_added(list(self.project.mapLayers().values()))

    # -- which layers are synced --------------------------------------------------------------------
    def is_synced(self, layer):
        """True for a layer with at least one link (what the Sync now and Unlink entries need)."""
        return bool(self.marks.get(layer.id())) if layer is not None else False

    def _layers_added(self, layers):
        ids = [layer.id() for layer in layers if isinstance(layer, QgsVectorLayer)]
        if ids:
            # The layer tree gets its nodes (and Processing its custom properties) just after: look then.
            QTimer.singleShot(0, lambda: self._look(ids))

    def _look(self, ids):
        try:
            self._look_at(ids)
        except Exception as exc:  # noqa: BLE001 - a timer's slot must not take QGIS down; the log tells why
            log_exception(exc)

    def _look_at(self, ids):
        for layer_id in ids:
            layer = self.project.mapLayer(layer_id)
            if layer is None:
                continue
            if layer_id not in self.watched:
                slots = (lambda key, lid=layer_id: self._property_changed(lid, key),
                         lambda lid=layer_id: self._saved(lid))
                layer.customPropertyChanged.connect(slots[0])
                layer.afterCommitChanges.connect(slots[1])
                self.watched[layer_id] = (layer, slots)
            self.refresh(layer, from_store=not marks_of(layer))

    def _property_changed(self, layer_id, key):
        if key == PROPERTY:
            layer = self.project.mapLayer(layer_id)
            if layer is not None:
                try:
                    self.refresh(layer)
                except Exception as exc:  # noqa: BLE001 - a slot must not take QGIS down; the log tells why
                    log_exception(exc)

    def refresh(self, layer, from_store=False):
        """Read the layer's marks again (and, for a layer without any, its store) and show them."""
        marks = marks_of(layer)
        if not marks and from_store and _may_have_links(layer):
            marks = self._marks_from_store(layer)
        was = bool(self.marks.get(layer.id()))
        self.marks[layer.id()] = marks
        self._show(layer, marks)
        if bool(marks) != was and self.on_change is not None:
            self.on_change(layer, bool(marks))

    @staticmethod
    def _marks_from_store(layer):
        """Links made elsewhere (qgis_process, another project) of a GeoPackage layer, as marks."""
        from ..core.sync.links import layer_links

        try:
            links = layer_links(layer)
        except MapbridgeError:
            return []
        return [{"service": link.service, "map_id": link.map_id, "last_sync": link.last_sync,
                 "key_field": link.key_field, "on_save": False} for link in links if link.map_id]

    def _layers_removed(self, ids):
        for layer_id in ids:
            self._hide(layer_id)
            self.marks.pop(layer_id, None)
            self.watched.pop(layer_id, None)       # its signals go with it

    # -- the indicator -----------------------------------------------------------------------------
    def _view(self):
        view = self.iface.layerTreeView() if self.iface is not None else None
        return view if isinstance(view, QgsLayerTreeView) else None

    def _show(self, layer, marks):
        self._hide(layer.id())
        view = self._view()
        node = self.project.layerTreeRoot().findLayer(layer.id())
        if not marks or view is None or node is None:
            return
        indicator = QgsLayerTreeViewIndicator(view)
        indicator.setIcon(QIcon(ICON_PATH))
        indicator.setToolTip("\n".join(describe_mark(mark) for mark in marks))
        view.addIndicator(node, indicator)
        self.indicators[layer.id()] = (node, indicator)

    def _hide(self, layer_id):
        shown = self.indicators.pop(layer_id, None)
        view = self._view()
        if shown is not None and view is not None:
            try:
                view.removeIndicator(*shown)
            except RuntimeError:
                pass        # the node went with its layer

    def tooltip(self, layer):
        """The indicator's tooltip of a layer, or "" when it shows none."""
        shown = self.indicators.get(layer.id())
        return shown[1].toolTip() if shown is not None else ""

    # -- syncing ------------------------------------------------------------------------------------
    def _saved(self, layer_id):
        try:
            self._sync_saved(layer_id)
        except Exception as exc:  # noqa: BLE001 - a slot must not take QGIS down; the log tells why
            log_exception(exc)

    def _sync_saved(self, layer_id):
        marks = [m for m in self.marks.get(layer_id, []) if m.get("on_save")]
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
        from ..core.sync.links import layer_links
        from .background import BackgroundRunner
        from .notify import show_error

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
        if self.runner is None:
            self.runner = BackgroundRunner(self)
        for link in links:
            params = dict(link.parameters, INPUT=layer.id(), OUTPUT="memory:", MAP_ID=link.map_id)
            self.running[layer.id()] = self.running.get(layer.id(), 0) + 1
            try:
                self.runner.algorithm(ALGORITHMS[link.service], params,
                                      f"Mapbridge: sync {layer.name()} with {service_title(link.service)}",
                                      lambda outcome, lid=layer.id(), s=link.service: self._synced(lid, s, outcome))
            except MapbridgeError as exc:
                self.running[layer.id()] -= 1
                show_error(self.iface, exc)

    def _synced(self, layer_id, service, outcome):
        from ..core.sync.items import describe_counts
        from .notify import show_error, show_message

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
            self._saved(layer_id)

    def unlink(self, layer):
        """Forget the layer's links (after asking); the features stay on the maps."""
        from ..core.sync.links import forget_links
        from .notify import show_error, show_message

        marks = self.marks.get(layer.id()) or marks_of(layer)
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
        self.refresh(layer)
        show_message(self.iface, f"'{layer.name()}' is no longer synced ({len(removed)} link"
                                 f"{'s' if len(removed) != 1 else ''} forgotten).")

    def shutdown(self):
        """Undo everything: signals, indicators, runs."""
        for signal, slot in ((self.project.layersAdded, self._layers_added),
                             (self.project.layersWillBeRemoved, self._layers_removed)):
            try:
                signal.disconnect(slot)
            except (TypeError, RuntimeError):
                pass        # already gone
        for layer, (on_property, on_saved) in self.watched.values():
            try:
                layer.customPropertyChanged.disconnect(on_property)
                layer.afterCommitChanges.disconnect(on_saved)
            except (TypeError, RuntimeError):
                pass        # the layer is gone
        for layer_id in list(self.indicators):
            self._hide(layer_id)
        if self.runner is not None:
            self.runner.shutdown()
        self.watched.clear()
        self.marks.clear()


def _may_have_links(layer):
    """GeoPackage layers, whose links may have been made elsewhere (qgis_process, another project): their store
    is looked at. Other layers show their links once synced in this project (they carry a mark)."""
    return layer.providerType() == "ogr" and ".gpkg" in layer.source().lower()
