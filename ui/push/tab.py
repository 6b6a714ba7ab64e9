"""The Push tab: pick a service, a target and a layer; preview; push in the background; add the report."""

from __future__ import annotations

from qgis.core import (
    Qgis,
    QgsProcessingFeatureSourceDefinition,
    QgsProcessingUtils,
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
from ...core.push.items import describe_counts
from ...core.push.preview import preview
from ...core.push.report import report_counts
from ...core.sync.items import describe_counts as describe_sync
from ...core.sync.items import report_counts as sync_report_counts
from ...core.qgis_compat import layer_filter
from ..background import BackgroundRunner
from ..notify import show_error, show_message, show_success
from .field_list import FieldChecklist
from .sync_panel import SyncPanel
from .targets import MapalyzeTarget, MapiryTarget, MapsembleTarget

PREVIEW_DELAY_MS = 300


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
        self._build()
        self._layer_changed(self.layer_combo.currentLayer())

    # -- building ------------------------------------------------------------------------------
    def _build(self):
        layout = QVBoxLayout(self)
        form = QFormLayout()
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

        form2 = QFormLayout()
        self.layer_combo = QgsMapLayerComboBox(self)
        self.layer_combo.setObjectName("PushLayer")
        self.layer_combo.setFilters(layer_filter("VectorLayer"))
        form2.addRow("Layer", self.layer_combo)
        self.selected_check = QCheckBox("Selected features only", self)
        self.selected_check.setObjectName("PushSelectedOnly")
        form2.addRow("", self.selected_check)
        self.name_label = QLabel("Name field", self)
        self.name_combo = QgsFieldComboBox(self)
        self.name_combo.setObjectName("PushNameField")
        self.name_combo.setAllowEmptyFieldName(True)
        form2.addRow(self.name_label, self.name_combo)
        self.fields_label = QLabel("Attributes to send", self)
        self.fields_list = FieldChecklist(self)
        form2.addRow(self.fields_label, self.fields_list)
        layout.addLayout(form2)
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
        layout.addLayout(buttons)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        layout.addWidget(self.progress)
        self.status_label = QLabel(self)
        self.status_label.setObjectName("PushStatus")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        layout.addStretch(1)

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
        # Whatever changes what the payloads look like recounts the preview.
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
        self.sync_panel.set_service(target.service)
        self._sync_changed()
        if self.isVisible():
            target.activate()
        self.schedule_preview()

    def showEvent(self, event):  # noqa: N802 - Qt API name
        """Load the account's maps/forms when the tab is first shown (not at QGIS start)."""
        super().showEvent(event)
        self.target().activate()

    def _sync_changed(self):
        self.push_button.setText("Sync" if self.sync_panel.active() else "Push")
        self.schedule_preview()

    def _layer_changed(self, layer):
        if self.watched_layer is not None:
            try:
                self.watched_layer.selectionChanged.disconnect(self._selection_changed)
            except (TypeError, RuntimeError):
                pass        # the layer was deleted or never connected: nothing to undo
        self.watched_layer = layer
        self.name_combo.setLayer(layer)
        self.fields_list.set_layer(layer)
        for target in self.targets:
            target.set_layer(layer)
        self.sync_panel.set_layer(layer)
        if layer is not None:
            layer.selectionChanged.connect(self._selection_changed)
            self.name_combo.setField(_guess_name_field(layer))
        has_selection = layer is not None and layer.selectedFeatureCount() > 0
        self.selected_check.setEnabled(has_selection)
        self.selected_check.setChecked(has_selection)
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
        self.schedule_preview()

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
        """Recount a moment after the last change."""
        self.preview_timer.start()

    def update_preview(self):
        """"247 features will be sent, 3 skipped: no geometry"."""
        layer = self.layer_combo.currentLayer()
        target = self.target()
        name_field = self.name_combo.currentField() or None
        if layer is None:
            self.preview_label.setText("Choose a layer to push.")
            return
        field_names = self.fields_list.checked_names()
        problem = target.payload_problem(name_field, field_names)
        if problem:
            self.preview_label.setText(problem)
            return
        if self.sync_panel.active():
            self.sync_panel.preview(layer, self.selected_check.isChecked(), target.parameters(name_field, field_names),
                                    self.preview_label)
            return
        try:
            payloads = target.payloads(layer, QgsProject.instance().transformContext(), name_field, field_names)
            self.preview_label.setText(preview(layer, self.selected_check.isChecked(), payloads).text())
        except MapbridgeError as exc:
            self.preview_label.setText(exc.user_message())

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
        self.report_path = QgsProcessingUtils.generateTempFilename(f"push_report_{target.service}.gpkg")
        params = {"INPUT": source, "OUTPUT": self.report_path}
        params.update(target.parameters(name_field, field_names))
        return params

    def start_push(self):
        """Run the push algorithm in the background."""
        if self.run is not None:
            return
        target = self.target()
        try:
            params = self.parameters()
            layer = self.layer_combo.currentLayer()
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
        self.push_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.status_label.setText(f"Pushing to {service_title(target.service)}…")

    def cancel_push(self):
        """Ask the running push to stop (what arrived is kept and reported)."""
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
        ok, results = outcome.ok, outcome.results or {}
        self.push_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        title = service_title(self.run_service)
        map_id = results.get("MAP_ID") or outcome.partial.get("MAP_ID")
        if map_id and self.run_service == "mapiry":
            self.targets[0].use_map(map_id)
        report = self._add_report()
        if self.run_is_sync:
            self.sync_panel.finished(QgsProject.instance().mapLayer(self.run_layer_id), outcome, self.run_service)
        count, describe = (sync_report_counts, describe_sync) if self.run_is_sync else (report_counts, describe_counts)
        # The counts come from the results; after a cancel or failure part-way, from the report itself.
        tally = results if ok else (count(report) if report is not None else None)
        if tally is None:
            self.progress.setValue(0)
            self.status_label.setText(show_error(self.iface, outcome.error))
            return
        summary = f"{title}: {describe(tally)}"
        if map_id and self.run_service == "mapiry":
            summary += f" (map {map_id})"
        if not ok:
            summary = f"Push stopped ({outcome.message}). {summary}"
        warnings = outcome.warnings if ok else []
        if report is not None:
            summary += ". The report layer lists every feature."
        else:
            summary += f". The report layer could not be opened ({self.report_path})."
        if warnings:
            summary += " " + warnings[-1]
        self.status_label.setText(summary)
        if ok and not tally.get("FAILED") and report is not None and not warnings:
            self.progress.setValue(100)
            show_success(self.iface, summary)
        else:
            show_message(self.iface, summary, Qgis.MessageLevel.Warning)

    def _add_report(self):
        """Load the report GeoPackage into the project (also after a cancel), or None."""
        if not self.report_path:
            return None
        kind = "Sync report" if self.run_is_sync else "Push report"
        layer = QgsVectorLayer(self.report_path, f"{kind} – {self.run_layer_name} → "
                                                 f"{service_title(self.run_service)}", "ogr")
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
        self.sync_panel.shutdown()
        self.run = None
        for target in self.targets:
            target.shutdown()
        if self.watched_layer is not None:
            try:
                self.watched_layer.selectionChanged.disconnect(self._selection_changed)
            except (TypeError, RuntimeError):
                pass        # already gone
            self.watched_layer = None


def _guess_name_field(layer):
    """A likely name/label field: 'name', 'label', 'title', else the first text field."""
    names = layer.fields().names()
    for wanted in ("name", "label", "title", "nom", "naam"):
        for name in names:
            if name.lower() == wanted:
                return name
    for field in layer.fields():
        if field.typeName().lower() in ("string", "text", "varchar"):
            return field.name()
    return ""

