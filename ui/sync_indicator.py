"""Synced layers in the Layers panel: an indicator (map and last sync in its tooltip), Sync now, Unlink, and a sync
in the background each time their edits are saved, with a one-line summary in the message bar.

Made when the plugin loads, so it stays light: what it needs besides Qt and QGIS is imported where it is used, and
the link store is read only for layers that may have links, a moment after they are added.
"""

from __future__ import annotations

import os

from qgis.core import QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QObject, QTimer
from qgis.PyQt.QtGui import QIcon

from ..core.sync.marker import PROPERTY, marks_of

ICON_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "icons", "mapbridge.svg")


def service_title(service):
    """The service's name (the errors module is loaded when first needed, not at QGIS start)."""
    from ..api.errors import service_title as title

    return title(service)


def log_exception(exc):
    """Log an error once (see core/log.py)."""
    from ..core.log import log_exception as log

    return log(exc)


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
        self._runs = None
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
        from ..api.errors import MapbridgeError
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
        from qgis.gui import QgsLayerTreeView      # here: its first use costs a few ms, not at QGIS start

        view = self.iface.layerTreeView() if self.iface is not None else None
        return view if isinstance(view, QgsLayerTreeView) else None

    def _show(self, layer, marks):
        from qgis.gui import QgsLayerTreeViewIndicator

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
        view = self._view() if shown is not None else None
        if view is not None:
            try:
                view.removeIndicator(*shown)
            except RuntimeError:
                pass        # the node went with its layer

    def tooltip(self, layer):
        """The indicator's tooltip of a layer, or "" when it shows none."""
        shown = self.indicators.get(layer.id())
        return shown[1].toolTip() if shown is not None else ""

    # -- syncing (ui/sync_runs.py, loaded on first use) --------------------------------------------
    def runs(self):
        """The part that runs syncs and unlinks, made the first time it is needed."""
        if self._runs is None:
            from .sync_runs import SyncRuns

            self._runs = SyncRuns(self, self)
        return self._runs

    def _saved(self, layer_id):
        if not any(m.get("on_save") for m in self.marks.get(layer_id, [])):
            return
        # afterCommitChanges comes while QGIS is still finishing the commit (edit buffer, signals, reload): the sync
        # reads the layer once the event loop is back, never beside the commit.
        QTimer.singleShot(0, lambda: self._sync_saved(layer_id))

    def _sync_saved(self, layer_id):
        if not any(m.get("on_save") for m in self.marks.get(layer_id, [])):
            return      # unlinked or shut down meanwhile
        try:
            self.runs().saved(layer_id)
        except Exception as exc:  # noqa: BLE001 - a slot must not take QGIS down; the log tells why
            log_exception(exc)

    def sync_now(self, layer):
        """Sync the layer with each of its maps in the background (its layer menu's Sync now)."""
        self.runs().sync_now(layer)

    def unlink(self, layer):
        """Forget the layer's links after asking (its layer menu's Unlink)."""
        self.runs().unlink(layer)

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
        if self._runs is not None:
            self._runs.shutdown()
        self.watched.clear()
        self.marks.clear()


def _may_have_links(layer):
    """GeoPackage layers, whose links may have been made elsewhere (qgis_process, another project): their store
    is looked at. Other layers show their links once synced in this project (they carry a mark)."""
    return layer.providerType() == "ogr" and ".gpkg" in layer.source().lower()
