"""The Push tab's sync options: keep the map in step with the layer (the mapbridge:*_sync algorithms instead of
*_push), the key and Mapiry layer fields, sync when edits are saved, and the preview of what a sync will do."""

from __future__ import annotations

from qgis.core import QgsFeatureRequest, QgsProject, QgsVectorLayerFeatureSource
from qgis.gui import QgsFieldComboBox
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import QCheckBox, QFormLayout, QLabel, QWidget

from ...api.errors import MapbridgeError
from ...core.sync.choices import ALGORITHMS
from ...core.sync.marker import PROPERTY, marks_of, set_on_save
from ..background import BackgroundRunner

# The push parameters a sync takes over (the rest, such as METHOD or REMOTE_ID_FIELD, have no meaning in a sync).
KEPT = {"mapiry": ("INPUT", "OUTPUT", "MAP_ID", "NEW_MAP_TITLE", "NAME_FIELD", "DESCRIPTION_FIELD", "GEOMETRY_MODE"),
        "mapsemble": ("INPUT", "OUTPUT", "MAP_ID", "LABEL_FIELD", "FIELDS")}


class SyncPanel(QWidget):
    """Shown for the services a layer can be kept in sync with (Mapiry, Mapsemble)."""

    changed = pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.service = None
        self.layer = None
        self.preview_run = None
        self.runner = BackgroundRunner(self)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.keep_check = QCheckBox("Keep this map in sync with the layer", self)
        self.keep_check.setObjectName("PushKeepInSync")
        self.keep_check.setToolTip("Send only what changed since the last sync: new features are created, changed "
                                   "ones updated, deleted ones removed from the map; unchanged ones are not sent")
        form.addRow(self.keep_check)
        self.key_label = QLabel("Key field", self)
        self.key_combo = QgsFieldComboBox(self)
        self.key_combo.setObjectName("SyncKeyField")
        self.key_combo.setAllowEmptyFieldName(True)
        self.key_combo.setToolTip("What identifies a feature across edits; empty: the feature id (stable in a "
                                  "GeoPackage)")
        form.addRow(self.key_label, self.key_combo)
        self.layer_label = QLabel("Mapiry layers from", self)
        self.layer_combo = QgsFieldComboBox(self)
        self.layer_combo.setObjectName("SyncLayerField")
        self.layer_combo.setAllowEmptyFieldName(True)
        self.layer_combo.setToolTip("Each value becomes a Mapiry layer (made when missing) holding its locations")
        form.addRow(self.layer_label, self.layer_combo)
        self.on_save_check = QCheckBox("Sync when edits are saved", self)
        self.on_save_check.setObjectName("SyncOnSave")
        self.on_save_check.setToolTip("Each time the layer's edits are saved, sync in the background and say what "
                                      "changed in the message bar")
        form.addRow(self.on_save_check)
        for signal in (self.keep_check.toggled, self.key_combo.fieldChanged, self.layer_combo.fieldChanged):
            signal.connect(self._changed)
        self._show_options()

    # -- state ------------------------------------------------------------------------------------
    def _changed(self, *args):
        self._show_options()
        self.changed.emit()

    def _show_options(self):
        on = self.keep_check.isChecked()
        for widget in (self.key_label, self.key_combo, self.on_save_check):
            widget.setVisible(on)
        for widget in (self.layer_label, self.layer_combo):
            widget.setVisible(on and self.service == "mapiry")

    def set_service(self, service):
        """Offered for Mapiry and Mapsemble only."""
        self.service = service
        self.setVisible(service in ALGORITHMS)
        self._restore()
        self._show_options()

    def set_layer(self, layer):
        """Field combos follow the layer; a layer synced before comes with its sync options ticked."""
        if self.layer is not None:
            try:
                self.layer.afterCommitChanges.disconnect(self._layer_saved)
                self.layer.customPropertyChanged.disconnect(self._mark_changed)
            except (TypeError, RuntimeError):
                pass        # the layer is gone
        self.layer = layer
        if layer is not None:
            layer.afterCommitChanges.connect(self._layer_saved)
            layer.customPropertyChanged.connect(self._mark_changed)
        self.key_combo.setLayer(layer)
        self.layer_combo.setLayer(layer)
        self._restore()

    def _layer_saved(self):
        if self.active():
            self.changed.emit()         # the preview counts again

    def _mark_changed(self, key):
        if key == PROPERTY and self.active():
            self.changed.emit()         # synced meanwhile (Sync now, on save, the toolbox): count again

    def _restore(self):
        mark = self.mark()
        self.keep_check.setChecked(mark is not None)
        if mark is not None:
            self.key_combo.setField(mark.get("key_field") or "")
            self.on_save_check.setChecked(bool(mark.get("on_save")))
        self.layer_combo.setField(self._linked_parameter(mark, "LAYER_FIELD") or "")

    def _linked_parameter(self, mark, name):
        """A parameter the layer's link to the marked map was last synced with (None when unknown)."""
        if mark is None:
            return None
        from ...core.sync.links import layer_links

        try:
            links = layer_links(self.layer)
        except MapbridgeError:
            return None         # the link cannot be read now: the option stays as the user sets it
        for link in links:
            if (link.service, link.map_id) == (mark["service"], mark["map_id"]):
                return link.parameters.get(name)
        return None

    def mark(self):
        """The layer's link mark for the chosen service, or None."""
        if self.layer is None or self.service not in ALGORITHMS:
            return None
        marks = [m for m in marks_of(self.layer) if m["service"] == self.service]
        return marks[-1] if marks else None

    def active(self):
        """True when the tab runs a sync instead of a push."""
        return self.isVisibleTo(self.parentWidget()) and self.service in ALGORITHMS and self.keep_check.isChecked()

    # -- running ----------------------------------------------------------------------------------
    def sync_run(self, params):
        """(algorithm id, parameters) of the sync that replaces the push with these parameters."""
        out = {key: value for key, value in params.items() if key in KEPT[self.service]}
        out["KEY_FIELD"] = self.key_combo.currentField() or None
        if self.service == "mapiry":
            out["LAYER_FIELD"] = self.layer_combo.currentField() or None
        return ALGORITHMS[self.service], out

    def finished(self, layer, outcome, service):
        """After a sync from the tab: the layer remembers whether to sync when its edits are saved."""
        map_id = (outcome.results or {}).get("MAP_ID") or outcome.partial.get("MAP_ID")
        if outcome.ok and layer is not None:
            for mark in marks_of(layer):
                if mark["service"] == service and (not map_id or mark["map_id"] == map_id):
                    set_on_save(layer, service, mark["map_id"], self.on_save_check.isChecked())
        self.changed.emit()             # the preview counts against the link as it is now

    # -- preview ----------------------------------------------------------------------------------
    def preview(self, layer, selected_only, params, label):
        """Count in the background what a sync with these (push) parameters would do; the label tells."""
        from ...core.sync.factory import make_applier
        from ...core.sync.place import place_of
        from ...core.sync.preview import preview_sync

        if self.preview_run is not None:
            self.preview_run.cancel()
        _, sync_params = self.sync_run(params)
        try:
            generated = [layer.dataProvider().fields().at(i).name() for i in layer.dataProvider().pkAttributeIndexes()]
            applier = make_applier(self.service, sync_params, layer.fields(), layer.crs(),
                                   QgsProject.instance().transformContext(), generated=generated)
            place = place_of(layer)
        except MapbridgeError as exc:
            label.setText(exc.user_message())
            return
        request = QgsFeatureRequest()
        if selected_only:
            request.setFilterFids(layer.selectedFeatureIds())
        source = QgsVectorLayerFeatureSource(layer)       # made here, read in the worker thread
        key, title = sync_params.get("KEY_FIELD"), sync_params.get("NEW_MAP_TITLE") if not sync_params.get(
            "MAP_ID") else None
        fields = layer.fields()
        label.setText("Comparing the layer with its last sync…")

        def job(feedback):
            return preview_sync(applier, place, fields, source.getFeatures(request), key, title, feedback.isCanceled)

        def done(outcome):
            if run is not self.preview_run:
                return          # a newer preview replaced this one
            self.preview_run = None
            if outcome.ok and outcome.results is not None:
                label.setText(outcome.results.text())
            elif not outcome.cancelled:
                label.setText(outcome.message)

        run = self.preview_run = self.runner.job("Mapbridge: sync preview", job, done, hidden=True)

    def shutdown(self):
        """Stop a preview under way."""
        self.runner.shutdown()
        self.preview_run = None
        self.set_layer(None)
