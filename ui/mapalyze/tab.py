"""The Mapalyze tab: load records as a layer (in the background), refresh or sync a loaded layer, auto-refresh,
export."""

from __future__ import annotations

from datetime import datetime

from qgis.core import Qgis, QgsProject, QgsSettings
from qgis.gui import QgsDateTimeEdit, QgsFileWidget
from qgis.PyQt.QtCore import QDateTime, Qt
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...api.errors import MapbridgeError
from ...core import credentials, settings_keys
from ...core.log import log
from ...core.mapalyze import layer as mapalyze_layer
from ...core.service_factory import client_for
from ..background import BackgroundRunner
from ..notify import ask, show_error, show_message, show_outcome, show_success
from .export_box import ExportBox
from .loader import LoadController
from .refresh import REFRESH, SYNC, AutoRefresh, RefreshController

ALL_FORMS = "All forms"
NO_LAYER = "Select a Mapalyze layer in the Layers panel, or load one."


class MapalyzeTab(QWidget):
    """Form filter, optional since, output folder, Load/Cancel with progress; Refresh and Sync of the selected
    Mapalyze layer, auto-refresh; Export."""

    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.loader = LoadController(self)
        self.loader.progress.connect(self._progress)
        self.loader.finished.connect(self._loaded)
        self.refresher = RefreshController(self)
        self.refresher.progress.connect(self._progress)
        self.refresher.finished.connect(self._updated)
        self.forms_runner = BackgroundRunner(self)
        self.form_names = self.loader.form_names = self.refresher.form_names = {}
        self.last_layer_id = None
        self._queue = []          # layers an auto-refresh still has to do
        self._auto = None         # the auto-refresh under way: {"added": {name: n}, "errors": [...], "layers": n}
        self._build()
        self.auto = AutoRefresh(self.refresh_all, self)
        self.auto_spin.setValue(self.auto.minutes())
        self.auto_spin.valueChanged.connect(self.auto.set_minutes)
        self._forms_loaded = False
        if iface is not None and hasattr(iface, "currentLayerChanged"):
            iface.currentLayerChanged.connect(self._show_layer)
        self._show_layer()

    # -- layout --------------------------------------------------------------------------------
    def _build(self):
        layout = QVBoxLayout(self)
        load_box = QGroupBox("Load records", self)
        form = QFormLayout(load_box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)

        form_row = QHBoxLayout()
        self.form_combo = QComboBox(load_box)
        self.form_combo.setObjectName("mapalyze_form")
        self.form_combo.setEditable(True)
        self.form_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.form_combo.setMinimumContentsLength(12)
        self.form_combo.addItem(ALL_FORMS, "")
        self.form_combo.setToolTip("A form id (e.g. form_GridInspection), or All forms; ⟳ lists your forms")
        self.forms_button = QPushButton("⟳", load_box)
        self.forms_button.setToolTip("Fetch the list of forms from Mapalyze")
        self.forms_button.setMaximumWidth(32)
        self.forms_button.clicked.connect(lambda: self.fetch_forms())
        form_row.addWidget(self.form_combo, 1)
        form_row.addWidget(self.forms_button)
        form.addRow("Form", form_row)

        self.since_check = QCheckBox("Since (UTC)", load_box)
        self.since_check.setObjectName("mapalyze_since_enabled")
        self.since_check.setToolTip("Only the records that reached Mapalyze after this time (UTC)")
        self.since_edit = QgsDateTimeEdit(load_box)
        self.since_edit.setObjectName("mapalyze_since")
        self.since_edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        self.since_edit.setTimeSpec(Qt.TimeSpec.UTC)
        self.since_edit.setAllowNull(False)
        self.since_edit.setDateTime(QDateTime.currentDateTimeUtc().addDays(-7))
        self.since_edit.setEnabled(False)
        self.since_edit.setToolTip("Timestamp in UTC: records created on Mapalyze after it")
        self.since_check.toggled.connect(self.since_edit.setEnabled)
        form.addRow(self.since_check, self.since_edit)

        self.folder_widget = QgsFileWidget(load_box)
        self.folder_widget.setObjectName("mapalyze_folder")
        self.folder_widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.folder_widget.setFilePath(QgsSettings().value(settings_keys.MAPALYZE_OUTPUT_FOLDER, "", type=str) or "")
        self.folder_widget.lineEdit().setPlaceholderText("Beside the project, or the Mapbridge data folder")
        self.folder_widget.fileChanged.connect(
            lambda path: QgsSettings().setValue(settings_keys.MAPALYZE_OUTPUT_FOLDER, path))
        form.addRow("Output folder", self.folder_widget)

        buttons = QHBoxLayout()
        self.load_button = QPushButton("Load", load_box)
        self.load_button.setObjectName("mapalyze_load")
        self.load_button.setToolTip("Load the records as a new layer")
        self.load_button.clicked.connect(self.load)
        self.cancel_button = QPushButton("Cancel", load_box)
        self.cancel_button.setObjectName("mapalyze_cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons.addWidget(self.load_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        form.addRow(buttons)
        layout.addWidget(load_box)

        update_box = QGroupBox("Loaded layer", self)
        update = QFormLayout(update_box)
        self.layer_label = QLabel(NO_LAYER, update_box)
        self.layer_label.setObjectName("mapalyze_layer")
        self.layer_label.setWordWrap(True)
        update.addRow(self.layer_label)
        row = QHBoxLayout()
        self.refresh_button = QPushButton("Refresh", update_box)
        self.refresh_button.setObjectName("mapalyze_refresh")
        self.refresh_button.setToolTip("Add the records that reached Mapalyze since the last load, refresh or sync")
        self.refresh_button.clicked.connect(self.refresh_current)
        self.sync_button = QPushButton("Sync", update_box)
        self.sync_button.setObjectName("mapalyze_sync")
        self.sync_button.setToolTip("Bring the layer fully up to date in place: add new records, update changed "
                                    "ones, remove those gone from Mapalyze (its style and place are kept)")
        self.sync_button.clicked.connect(self.sync_current)
        row.addWidget(self.refresh_button)
        row.addWidget(self.sync_button)
        row.addStretch(1)
        update.addRow(row)
        self.auto_spin = QSpinBox(update_box)
        self.auto_spin.setObjectName("mapalyze_auto_refresh")
        self.auto_spin.setRange(0, 24 * 60)
        self.auto_spin.setSuffix(" min")
        self.auto_spin.setSpecialValueText("Off")
        self.auto_spin.setToolTip("Refresh every Mapalyze layer of the project every N minutes (Off: never); "
                                  "a message appears only when records arrive")
        update.addRow("Auto-refresh", self.auto_spin)
        layout.addWidget(update_box)

        self.progress_bar = QProgressBar(self)
        self.progress_bar.setObjectName("mapalyze_progress")
        self.progress_bar.setVisible(False)
        layout.addWidget(self.progress_bar)
        self.status = QLabel("", self)
        self.status.setObjectName("mapalyze_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)

        self.export_box = ExportBox(self.iface, self.filters, self.describe_filters, self)
        layout.addWidget(self.export_box)
        layout.addStretch(1)
        for signal in (self.form_combo.currentTextChanged, self.since_check.toggled, self.since_edit.dateTimeChanged):
            signal.connect(self.export_box.show_filters)
        self.export_box.show_filters()

    # -- inputs --------------------------------------------------------------------------------
    def form_id(self):
        """The chosen form id, or None for all forms."""
        index = self.form_combo.currentIndex()
        text = self.form_combo.currentText().strip()
        if index >= 0 and self.form_combo.itemText(index) == text and self.form_combo.itemData(index) is not None:
            return self.form_combo.itemData(index) or None
        return None if text in ("", ALL_FORMS) else text

    def since(self):
        """The since timestamp as ISO 8601 UTC, or None."""
        if not self.since_check.isChecked():
            return None
        return self.since_edit.dateTime().toUTC().toString("yyyy-MM-ddTHH:mm:ss") + "Z"

    def filters(self):
        """(form id or None, since or None)."""
        return self.form_id(), self.since()

    def describe_form(self):
        """"Tree survey (form_TreeSurvey)", "form_X" or "all forms"."""
        form_id = self.form_id()
        if not form_id:
            return "all forms"
        name = self.form_names.get(form_id)
        return f"{name} ({form_id})" if name else form_id

    def describe_filters(self):
        """"Tree survey (form_TreeSurvey), created since 2025-03-14 09:22:11 UTC" / "all forms, every record"."""
        since = self.since()
        when = f"created since {since[:10]} {since[11:19]} UTC" if since else "every record"
        return f"{self.describe_form()}, {when}"

    def showEvent(self, event):  # noqa: N802 - Qt API name
        super().showEvent(event)
        self._show_layer()
        if not self._forms_loaded and credentials.token_without_prompt("mapalyze"):
            # Only when no master-password prompt is needed: opening the dock is not asking for anything.
            self._forms_loaded = True
            self.fetch_forms(quiet=True)

    def fetch_forms(self, quiet=False):
        """Fill the form list from /forms in the background (the combo stays editable if that fails)."""
        if self.forms_runner.busy:
            return
        try:
            client = client_for("mapalyze")
            client.config.require_token()
        except MapbridgeError as exc:
            if not quiet:
                show_error(self.iface, exc)
            return
        self._forms_loaded = True
        self.forms_runner.job("Mapalyze: list forms", lambda feedback: client.forms(),
                              lambda outcome: self._forms(outcome, quiet), client=client, hidden=True)

    def _forms(self, outcome, quiet):
        if not outcome.ok:
            if quiet:
                log(f"Mapalyze: the list of forms is not available ({outcome.message}); type a form id instead")
            else:
                show_error(self.iface, outcome.error)
            return
        current = self.form_combo.currentText()
        self.form_combo.clear()
        self.form_combo.addItem(ALL_FORMS, "")
        for form in outcome.results:
            form_id = str(form.get("id") or form.get("form_id") or "")
            if form_id:
                name = form.get("name") or form.get("title")
                if name:
                    self.form_names[form_id] = str(name)
                self.form_combo.addItem(f"{name} ({form_id})" if name else form_id, form_id)
        index = self.form_combo.findText(current)
        if index >= 0:
            self.form_combo.setCurrentIndex(index)
        else:
            self.form_combo.setEditText(current)
        for layer in QgsProject.instance().mapLayers().values():
            if mapalyze_layer.is_mapalyze_layer(layer):
                mapalyze_layer.name_forms(layer, self.form_names)
        self._show_layer()
        self.export_box.show_filters()

    # -- load ----------------------------------------------------------------------------------
    def load(self):
        """Start loading the records (background); a form already in the project is offered a refresh or sync."""
        form_id, since = self.filters()
        suffix = ""
        existing = mapalyze_layer.layers_of_form(form_id)
        if existing:
            layer = existing[0]
            answer = ask(self, "Mapbridge – Mapalyze",
                         f"“{layer.name()}” already holds the records of {self.describe_form()}.",
                         [("refresh", "Refresh it"), ("sync", "Sync it"), ("copy", "Load a second copy"),
                          ("cancel", "Cancel")],
                         informative="Refresh adds the records that reached Mapalyze since it was loaded. Sync also "
                                     "updates changed records and removes those gone from Mapalyze. Both keep the "
                                     "layer, its style and its place in the project.")
            if answer in ("refresh", "sync"):
                self._update(layer, REFRESH if answer == "refresh" else SYNC)
                return
            if answer != "copy":
                return
            suffix = f" ({len(existing) + 1})"
        if not self.form_names and credentials.token_without_prompt("mapalyze"):
            self.fetch_forms(quiet=True)      # names for the legend, while the records load
        try:
            path = self.loader.load(form_id=form_id, since=since, folder=self.folder_widget.filePath().strip() or None,
                                    name_suffix=suffix)
        except MapbridgeError as exc:
            self.status.setText(show_error(self.iface, exc))
            return
        self._busy(True)
        self.status.setText(f"Loading into {path}…")

    def cancel(self):
        """Cancel the running load, refresh or sync."""
        self.loader.cancel()
        self.refresher.cancel()
        self.status.setText("Cancelling…")

    def _progress(self, percent, text):
        self.progress_bar.setValue(int(percent))
        if text:
            self.status.setText(text)

    def _loaded(self, outcome):
        self._busy(False)
        if outcome.ok:
            self.last_layer_id = outcome.results.id()
            if not self.form_names and credentials.token_without_prompt("mapalyze"):
                self.fetch_forms(quiet=True)
        self.status.setText(show_outcome(self.iface, outcome))
        self._show_layer()

    # -- refresh and sync ----------------------------------------------------------------------
    def current_layer(self):
        """The active layer if it is a Mapalyze layer, else the last one loaded from this tab."""
        layer = self.iface.activeLayer() if self.iface is not None else None
        if mapalyze_layer.is_mapalyze_layer(layer):
            return layer
        last = QgsProject.instance().mapLayer(self.last_layer_id) if self.last_layer_id else None
        return last if mapalyze_layer.is_mapalyze_layer(last) else None

    def _show_layer(self, *args):
        layer = self.current_layer()
        if layer is None:
            self.layer_label.setText(NO_LAYER)
        else:
            self.layer_label.setText(f"“{layer.name()}”: {layer.featureCount():,} records")
        self._busy(False)

    def refresh_current(self):
        """Refresh the selected (or last loaded) Mapalyze layer."""
        self._update_current(REFRESH)

    def sync_current(self):
        """Sync the selected (or last loaded) Mapalyze layer."""
        self._update_current(SYNC)

    def _update_current(self, mode):
        layer = self.current_layer()
        if layer is None:
            show_message(self.iface, f"Mapbridge: {NO_LAYER[0].lower()}{NO_LAYER[1:]}")
            return
        self._update(layer, mode)

    def refresh_layer(self, layer):
        """Refresh one layer in the background (also the layer menu's "Refresh from Mapalyze")."""
        self._update(layer, REFRESH)

    def sync_layer(self, layer):
        """Sync one layer in the background."""
        self._update(layer, SYNC)

    def _update(self, layer, mode, quiet=False):
        try:
            if mode == SYNC:
                self.refresher.sync(layer)
            else:
                self.refresher.refresh(layer, quiet=quiet)
        except MapbridgeError as exc:
            if quiet:
                return self._auto_step(None, exc)
            self.status.setText(show_error(self.iface, exc))
            return
        self._busy(True)
        verb = "Syncing" if mode == SYNC else "Refreshing"
        self.status.setText(f"{verb} {layer.name()}…")

    def refresh_all(self):
        """Auto-refresh: every Mapalyze layer of the project, one after the other, then one quiet summary."""
        if self.loader.busy or self.refresher.busy or self._auto is not None:
            return
        layers = [layer for layer in QgsProject.instance().mapLayers().values()
                  if mapalyze_layer.is_mapalyze_layer(layer) and not layer.isEditable()]
        if not layers:
            return
        if not credentials.token_without_prompt("mapalyze"):
            self.status.setText("Auto-refresh waits for the QGIS master password: it is asked for when you Load, "
                                "Refresh or Sync.")
            return
        self._auto = {"added": {}, "errors": [], "layers": len(layers)}
        self._queue = layers[1:]
        self._update(layers[0], REFRESH, quiet=True)

    def _updated(self, outcome):
        self._busy(False)
        if self._auto is not None:
            self._auto_step(outcome, None)
            return
        self.status.setText(show_outcome(self.iface, outcome))
        self._show_layer()

    def _auto_step(self, outcome, error):
        """One layer of an auto-refresh done: note it, go on, and end with one summary."""
        auto = self._auto
        if outcome is not None and outcome.ok:
            if outcome.results.added:
                auto["added"][outcome.results.name] = outcome.results.added
        else:
            auto["errors"].append(error or outcome.error)
        while self._queue:
            layer = self._queue.pop(0)
            if QgsProject.instance().mapLayer(layer.id()) is not None:
                self._update(layer, REFRESH, quiet=True)
                return
        self._auto = None
        self._auto_summary(auto)

    def _auto_summary(self, auto):
        """One line for the whole round: a bar only when records arrived or a layer failed (one bar, never two)."""
        when = datetime.now().strftime("%H:%M")
        added = sum(auto["added"].values())
        layers = f"{auto['layers']:,} layer{'s' if auto['layers'] != 1 else ''}"
        if added:
            where = ", ".join(f"{name}: {n:,}" for name, n in auto["added"].items())
            text = f"Mapalyze auto-refresh: {added:,} new record{'s' if added != 1 else ''} ({where})"
        else:
            text = f"Auto-refresh at {when}: no new records in {layers}"
        errors = auto["errors"]
        if errors:
            text += f". {len(errors):,} of {layers} could not be refreshed: {errors[0].user_message()}"
            show_message(self.iface, text, Qgis.MessageLevel.Warning)
        elif added:
            show_success(self.iface, text)
        else:
            log(text)
        self.status.setText(text)
        self._show_layer()

    def _busy(self, starting):
        busy = self.loader.busy or self.refresher.busy
        self.load_button.setEnabled(not busy)
        self.refresh_button.setEnabled(not busy)
        self.sync_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.progress_bar.setVisible(busy)
        if starting:
            self.progress_bar.setValue(0)

    def shutdown(self):
        """Stop timers and cancel tasks."""
        self.auto.stop()
        if self.iface is not None and hasattr(self.iface, "currentLayerChanged"):
            try:
                self.iface.currentLayerChanged.disconnect(self._show_layer)
            except (TypeError, RuntimeError):
                pass        # never connected, or already gone
        self.loader.shutdown()
        self.refresher.shutdown()
        self.forms_runner.shutdown()
        self.export_box.shutdown()
