"""The Push tab: pick a service, a target and a layer; an exact preview counted in the background; a question
before big pushes; the push in the background; the report layer kept beside the project."""

from __future__ import annotations

from qgis.core import (
    Qgis,
    QgsFeatureRequest,
    QgsProcessingFeatureSourceDefinition,
    QgsProject,
    QgsSettings,
    QgsVectorLayer,
)
from qgis.gui import QgsFieldComboBox, QgsMapLayerComboBox
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...api.errors import MapbridgeError, service_title
from ...core import settings_keys
from ...core.push.field_guess import guess_name_field
from ...core.push.items import describe_counts
from ...core.push.report import report_counts
from ...core.push.report_files import new_report_path, report_layer_name
from ...core.qgis_compat import FIELD_STRING, layer_filter, request_flag
from ...core.sync.items import describe_counts as describe_sync
from ...core.sync.items import report_counts as sync_report_counts
from ..background import BackgroundRunner
from ..notify import show_error, show_message, show_success
from .confirm import confirm
from .field_list import FieldChecklist
from .preview_counter import PreviewCounter
from .sync_panel import SyncPanel
from .targets import MapalyzeTarget, MapiryTarget, MapsembleTarget

PREVIEW_DELAY_MS = 300
NAME_SAMPLE = 200           # features read (main thread, names only) to guess the name field


class PushTab(QWidget):
    """Dock tab that pushes a layer's (selected) features through the mapbridge:*_push algorithms."""

    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.runner = BackgroundRunner(self)
        self.run = None
        self.run_is_sync = False
        self.report_path = None
        self.watched_layer = None
        self.closed = False
        self.data_version = 0           # bumped when the layer's features or selection change
        self.push_when_counted = False  # Push was pressed before the count was ready
        self._build()
        self._layer_changed(self.layer_combo.currentLayer())

    # -- building ------------------------------------------------------------------------------
    def _build(self):
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.service_combo = QComboBox(self)
        self.service_combo.setObjectName("PushService")
        self.targets = [MapiryTarget(self), MapsembleTarget(self), MapalyzeTarget(self)]
        self.stack = QStackedWidget(self)
        for target in self.targets:
            self.service_combo.addItem(service_title(target.service), target.service)
            self.stack.addWidget(target)
        form.addRow("Send to", self.service_combo)
        layout.addLayout(form)
        layout.addWidget(self.stack)

        self.source_form = QFormLayout()
        self.source_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.layer_combo = QgsMapLayerComboBox(self)
        self.layer_combo.setObjectName("PushLayer")
        self.layer_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.layer_combo.setMinimumContentsLength(10)
        self.layer_combo.setFilters(layer_filter("VectorLayer"))
        self.source_form.addRow("Layer", self.layer_combo)
        self.selected_check = QCheckBox("Selected features only", self)
        self.selected_check.setObjectName("PushSelectedOnly")
        self.source_form.addRow("", self.selected_check)
        self.name_label = QLabel("Name field", self)
        self.name_combo = QgsFieldComboBox(self)
        self.name_combo.setObjectName("PushNameField")
        self.name_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.name_combo.setMinimumContentsLength(10)
        self.name_combo.setAllowEmptyFieldName(True)
        self.source_form.addRow(self.name_label, self.name_combo)
        self.fields_label = QLabel("Attributes to send", self)
        self.fields_list = FieldChecklist(self)
        self.source_form.addRow(self.fields_label, self.fields_list)
        layout.addLayout(self.source_form)
        self.sync_panel = SyncPanel(self)
        layout.addWidget(self.sync_panel)

        self.preview_label = QLabel(self)
        self.preview_label.setObjectName("PushPreview")
        self.preview_label.setWordWrap(True)
        layout.addWidget(self.preview_label)
        buttons = QHBoxLayout()
        self.push_button = QPushButton("Push", self)
        self.push_button.setObjectName("PushButton")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("PushCancel")
        self.cancel_button.setEnabled(False)
        buttons.addWidget(self.push_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("PushProgress")
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        self.status_label = QLabel(self)
        self.status_label.setObjectName("PushStatus")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        layout.addStretch(1)

        self.counter = PreviewCounter(self)
        self.counter.counted.connect(self._counted)
        self.preview_timer = QTimer(self)
        self.preview_timer.setSingleShot(True)
        self.preview_timer.setInterval(PREVIEW_DELAY_MS)
        self.preview_timer.timeout.connect(self.update_preview)

        saved = QgsSettings().value(settings_keys.PUSH_SERVICE, "mapiry", type=str)
        self.service_combo.setCurrentIndex(max(0, self.service_combo.findData(saved)))
        self._service_changed()
        self.service_combo.currentIndexChanged.connect(self._service_changed)
        self.layer_combo.layerChanged.connect(self._layer_changed)
        mapiry, mapsemble, _ = self.targets
        # Whatever changes what the payloads look like counts again.
        for signal in (self.selected_check.toggled, self.name_combo.fieldChanged, self.fields_list.itemChanged,
                       mapiry.mode_combo.currentIndexChanged, mapsemble.method_combo.currentIndexChanged,
                       *(combo.fieldChanged for target in self.targets for combo in target.field_combos)):
            signal.connect(self.schedule_preview)
        self.sync_panel.changed.connect(self._sync_changed)
        self.push_button.clicked.connect(self.start_push)
        self.cancel_button.clicked.connect(self.cancel_push)

    # -- state -----------------------------------------------------------------------------------
    def target(self):
        """The widget of the chosen service."""
        return self.targets[self.stack.currentIndex()]

    def _service_changed(self):
        self.stack.setCurrentIndex(self.service_combo.currentIndex())
        target = self.target()
        QgsSettings().setValue(settings_keys.PUSH_SERVICE, target.service)
        self.name_label.setText(target.name_label)
        self.name_label.setVisible(bool(target.name_label))
        self.name_combo.setVisible(bool(target.name_label))
        self.fields_label.setVisible(target.uses_attributes)
        self.fields_list.setVisible(target.uses_attributes)
        self._default_fields()
        if self.run is None:
            # The last push's summary and bar belong to the service it went to.
            self.status_label.clear()
            self.progress.setVisible(False)
        self.sync_panel.set_service(target.service)
        self._sync_changed()
        if self.isVisible():
            target.activate()
        self.schedule_preview()

    def _default_fields(self):
        layer = self.layer_combo.currentLayer()
        self.fields_list.set_layer(layer, self.target().default_fields(layer) if layer is not None else None)

    def showEvent(self, event):  # noqa: N802 - Qt API name
        """Load the account's maps/forms when the tab is first shown (not at QGIS start, never with a prompt)."""
        super().showEvent(event)
        self.target().activate()

    def _sync_changed(self):
        self.push_button.setText("Sync" if self.sync_panel.active() else "Push")
        self.schedule_preview()

    def _layer_changed(self, layer):
        self._unwatch()
        self.watched_layer = layer
        self.name_combo.setLayer(layer)
        for target in self.targets:
            target.set_layer(layer)
        self.sync_panel.set_layer(layer)
        if layer is not None:
            self._default_fields()
            layer.selectionChanged.connect(self._selection_changed)
            layer.dataChanged.connect(self._data_changed)
            self.name_combo.setField(self._guess_name_field(layer))
        else:
            self.fields_list.set_layer(None)
        has_selection = layer is not None and layer.selectedFeatureCount() > 0
        self.selected_check.setEnabled(has_selection)
        self.selected_check.setChecked(has_selection)
        self._data_changed()

    @staticmethod
    def _guess_name_field(layer):
        """A text field with many distinct, word-like values, read from the first few features (names only)."""
        fields = layer.fields()
        texts = [i for i, field in enumerate(fields) if field.type() == FIELD_STRING]
        request = QgsFeatureRequest().setLimit(NAME_SAMPLE).setFlags(request_flag("NoGeometry"))
        request.setSubsetOfAttributes(texts)
        rows = [feature.attributes() for feature in layer.getFeatures(request)] if texts else []
        return guess_name_field(fields, rows)

    def _unwatch(self):
        if self.watched_layer is None:
            return
        for signal, slot in ((self.watched_layer.selectionChanged, self._selection_changed),
                             (self.watched_layer.dataChanged, self._data_changed)):
            try:
                signal.disconnect(slot)
            except (TypeError, RuntimeError):
                pass        # the layer was deleted or never connected: nothing to undo
        self.watched_layer = None

    def _data_changed(self, *args):
        self.data_version += 1
        self.counter.forget()
        self.schedule_preview()

    def _selection_changed(self, *args):
        layer = self.watched_layer
        count = layer.selectedFeatureCount() if layer is not None else 0
        if count == 0:
            self.selected_check.setChecked(False)
            self.selected_check.setEnabled(False)
        elif not self.selected_check.isEnabled():
            self.selected_check.setEnabled(True)
            self.selected_check.setChecked(True)
        self._data_changed()

    def open_for_layer(self, layer):
        """Show the dock on this tab with the layer chosen (the "Push to…" context-menu entry)."""
        if isinstance(layer, QgsVectorLayer):
            self.layer_combo.setLayer(layer)
        dock = self.parent()
        while dock is not None and not hasattr(dock, "show_tab"):
            dock = dock.parent()
        if dock is not None:
            dock.show_tab("Push")

    # -- preview -------------------------------------------------------------------------------------
    def schedule_preview(self, *args):
        """Count again a moment after the last change (the line says so meanwhile, never an old count)."""
        inputs = self._inputs()
        if not isinstance(inputs, str) and not self.sync_panel.active() and self.counter.result_for(inputs[4]) is None:
            self.preview_label.setText("Counting the features…")
        self.preview_timer.start()

    def _inputs(self):
        """(layer, target, name field, field names, key) of the form, or a problem to show instead (str)."""
        layer = self.layer_combo.currentLayer()
        if layer is None:
            return "Choose a layer to push."
        target = self.target()
        name_field = self.name_combo.currentField() or None
        field_names = self.fields_list.checked_names()
        problem = target.payload_problem(name_field, field_names)
        if problem:
            return problem
        settings = tuple(combo.currentField() for combo in target.field_combos)
        mapiry, mapsemble, _ = self.targets
        key = (layer.id(), self.data_version, self.selected_check.isChecked(), target.service, name_field,
               tuple(field_names) if field_names is not None else None, settings,
               mapiry.mode_combo.currentIndex(), mapsemble.method_combo.currentIndex())
        return layer, target, name_field, field_names, key

    def update_preview(self):
        """Start the exact count (background); "247 features will be sent, 3 skipped: no geometry" when done."""
        inputs = self._inputs()
        if isinstance(inputs, str):
            self.preview_label.setText(inputs)
            return
        layer, target, name_field, field_names, key = inputs
        if self.sync_panel.active():
            # What a sync will do: compared with the link in the background ("12 to update, 3 to create, …").
            self.sync_panel.preview(layer, self.selected_check.isChecked(), target.parameters(name_field, field_names),
                                    self.preview_label)
            return
        ready = self.counter.result_for(key)
        if ready is not None:
            self.preview_label.setText(ready.text())
            return
        try:
            factory = target.payload_factory(layer, QgsProject.instance().transformContext(), name_field,
                                             field_names)
        except MapbridgeError as exc:
            self.preview_label.setText(exc.user_message())
            return
        if not self.counter.counting(key):
            self.preview_label.setText("Counting the features…")
        self.counter.count(key, layer, self.selected_check.isChecked(), factory)

    def _counted(self, key, outcome):
        if self.closed:
            return
        current = self._inputs()
        if isinstance(current, str) or current[4] != key:
            return
        if not outcome.ok:
            if self.push_when_counted:
                self.push_when_counted = False
                self._waiting(False)
                self.status_label.setText(f"Not pushed: the features could not be counted ({outcome.message})")
            self.preview_label.setText(outcome.message)
            return
        self.preview_label.setText(outcome.results.text())
        if self.push_when_counted:
            self.push_when_counted = False
            self._waiting(False)
            self._confirm_and_push(outcome.results)

    # -- running -------------------------------------------------------------------------------------
    def parameters(self):
        """The algorithm parameters the form describes (raises MapbridgeError when something is missing)."""
        layer = self.layer_combo.currentLayer()
        if layer is None:
            raise MapbridgeError("choose a layer to push")
        target = self.target()
        name_field = self.name_combo.currentField() or None
        field_names = self.fields_list.checked_names()
        problem = target.problem(name_field, field_names)
        if problem:
            raise MapbridgeError(problem, service=target.service)
        source = layer.id()
        if self.selected_check.isChecked() and layer.selectedFeatureCount() > 0:
            source = QgsProcessingFeatureSourceDefinition(layer.id(), True)
        self.report_path = new_report_path(layer.name(), target.service, QgsProject.instance())
        params = {"INPUT": source, "OUTPUT": self.report_path}
        params.update(target.parameters(name_field, field_names))
        return params

    def start_push(self):
        """Check the form, wait for the exact count, ask before a big push, then push in the background."""
        if self.run is not None:
            return
        target = self.target()
        problem = target.problem(self.name_combo.currentField() or None, self.fields_list.checked_names())
        inputs = self._inputs()
        if problem or isinstance(inputs, str):
            self.status_label.setText(show_error(self.iface, MapbridgeError(problem or inputs,
                                                                           service=target.service)))
            return
        if self.sync_panel.active():
            # A sync mirrors the input on the map: the preview line already says what it will do, nothing to ask.
            self._launch(None)
            return
        preview = self.counter.result_for(inputs[4])
        if preview is None:
            self.push_when_counted = True
            self._waiting(True)
            self.status_label.setText("Counting the features to push…")
            self.update_preview()
            return
        self._confirm_and_push(preview)

    def _waiting(self, busy):
        """Buttons while a push is counted or runs: Cancel stops either."""
        self.push_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def _confirm_and_push(self, preview):
        layer, target = self.layer_combo.currentLayer(), self.target()
        whole_layer = not self.selected_check.isChecked()
        if not confirm(self, preview, layer, target, whole_layer):
            self.status_label.setText("Push cancelled before anything was sent.")
            return
        self._launch(preview)

    def _launch(self, preview):
        """Run the push (or, with "Keep this map in sync", the sync) algorithm in the background."""
        layer, target = self.layer_combo.currentLayer(), self.target()
        try:
            params = self.parameters()
            algorithm, self.run_is_sync = target.algorithm, self.sync_panel.active()
            if self.run_is_sync:
                algorithm, params = self.sync_panel.sync_run(params)
            verb = "sync" if self.run_is_sync else "push"
            self.run = self.runner.algorithm(
                algorithm, params, f"Mapbridge: {verb} {layer.name()} to {service_title(target.service)}",
                self._finished, on_progress=self._progress)
        except MapbridgeError as exc:
            self.status_label.setText(show_error(self.iface, exc))
            return
        self.run_service = target.service
        self.run_layer_id = layer.id()
        self.run_layer_name = layer.name()
        self.run_new_map = target.service == "mapiry" and target.new_radio.isChecked()
        self.run_title = params.get("NEW_MAP_TITLE", "")
        self._waiting(True)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        if preview is None:
            self.status_label.setText(f"Syncing {layer.name()} with {service_title(target.service)}…")
        else:
            self.status_label.setText(f"Pushing {preview.to_send:,} features to {service_title(target.service)}…")

    def cancel_push(self):
        """Ask the running push to stop (what arrived is kept and reported), or drop a push waiting for its count."""
        if self.push_when_counted:
            self.push_when_counted = False
            self._waiting(False)
            self.status_label.setText("Push cancelled before anything was sent.")
            return
        if self.run is not None:
            self.status_label.setText("Cancelling…")
            self.run.cancel()

    def _progress(self, percent, line):
        if self.closed:
            return
        self.progress.setValue(int(percent))
        if line:
            self.status_label.setText(line)

    def _finished(self, outcome):
        if self.closed:
            return
        self.run = None
        results = outcome.results or {}
        self._waiting(False)
        self.progress.setVisible(False)
        title = service_title(self.run_service)
        map_id = results.get("MAP_ID") or outcome.partial.get("MAP_ID")
        if map_id and self.run_service == "mapiry":
            self.targets[0].use_map(map_id)
        report = self._add_report()
        if self.run_is_sync:
            self.sync_panel.finished(QgsProject.instance().mapLayer(self.run_layer_id), outcome, self.run_service)
        count, describe = (sync_report_counts, describe_sync) if self.run_is_sync else \
            (report_counts, lambda tally: describe_counts(tally, results.get("SKIPPED_WHY") or ""))
        # The counts come from the results; after a cancel or failure part-way, from the report itself.
        tally = results if outcome.ok else (count(report) if report is not None else None)
        if tally is None:
            self.status_label.setText(show_error(self.iface, outcome.error))
            return
        self._summarise(outcome, title, tally, map_id, report, describe)

    def _summarise(self, outcome, title, tally, map_id, report, describe):
        """One line in the tab and one message: what arrived, what did not, the map a push created."""
        counts = describe(tally)
        verb = "sync" if self.run_is_sync else "push"
        if outcome.ok:
            summary = f"{title}: {counts}"
        elif outcome.cancelled:
            summary = f"{title}: {verb} cancelled: {counts}"
        else:
            summary = f"{title}: the {verb} stopped ({outcome.error.message}). So far: {counts}"
        if map_id and self.run_service == "mapiry":
            if self.run_new_map:
                arrived = tally.get("CREATED", 0)
                summary += (f". The new map “{self.run_title}” ({map_id}) was created"
                            + (" and is empty" if not arrived else ""))
            else:
                summary += f" (map {map_id})"
        summary += (". The report layer lists every feature." if report is not None
                    else f". The report layer could not be opened ({self.report_path}).")
        warnings = outcome.warnings if outcome.ok else []
        if warnings:
            summary += " " + warnings[-1]
        self.status_label.setText(summary)
        clean = outcome.ok and not tally.get("FAILED") and not tally.get("NOT_SENT") and report is not None
        if clean and not warnings:
            show_success(self.iface, summary)
        elif outcome.cancelled:
            show_message(self.iface, summary, Qgis.MessageLevel.Info)
        else:
            show_message(self.iface, summary, Qgis.MessageLevel.Warning)

    def _add_report(self):
        """Load the report GeoPackage into the project (also after a cancel), or None."""
        if not self.report_path:
            return None
        name = report_layer_name(self.run_layer_name, service_title(self.run_service))
        if self.run_is_sync:
            name = name.replace("Push report", "Sync report", 1)
        layer = QgsVectorLayer(self.report_path, name, "ogr")
        if not layer.isValid():
            return None
        QgsProject.instance().addMapLayer(layer)
        return layer

    def shutdown(self):
        """Cancel a running push, stop timers and loads."""
        self.closed = True
        self.preview_timer.stop()
        # A running push outlives this tab until its task ends; it no longer calls back into the tab.
        self.runner.shutdown()
        self.counter.shutdown()
        self.sync_panel.shutdown()
        self.run = None
        for target in self.targets:
            target.shutdown()
        self._unwatch()
