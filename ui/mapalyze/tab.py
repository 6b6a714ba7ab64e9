"""The Mapalyze tab: load records as a layer (in the background), refresh, auto-refresh and export."""

from __future__ import annotations

from qgis.core import QgsProject, QgsSettings
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
from ...core import settings_keys
from ...core.mapalyze import layer as mapalyze_layer
from ...core.log import log
from ...core.service_factory import client_for
from .export_box import ExportBox
from .loader import LoadController
from .refresh import AutoRefresh, RefreshController
from ..background import BackgroundRunner
from ..notify import show_error, show_message, show_outcome

ALL_FORMS = "All forms"


class MapalyzeTab(QWidget):
    """Form filter, optional since, output folder, Load/Cancel with progress, Refresh, auto-refresh, Export."""

    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.loader = LoadController(self)
        self.loader.progress.connect(self._progress)
        self.loader.finished.connect(self._loaded)
        self.refresher = RefreshController(self)
        self.refresher.progress.connect(self._progress)
        self.refresher.finished.connect(self._refreshed)
        self.forms_runner = BackgroundRunner(self)
        self.last_layer_id = None
        self._build()
        self.auto = AutoRefresh(self.refresh_all, self)
        self.auto_spin.setValue(self.auto.minutes())
        self.auto_spin.valueChanged.connect(self.auto.set_minutes)
        self._forms_loaded = False

    # -- layout --------------------------------------------------------------------------------
    def _build(self):
        layout = QVBoxLayout(self)
        load_box = QGroupBox("Load records", self)
        form = QFormLayout(load_box)

        form_row = QHBoxLayout()
        self.form_combo = QComboBox(load_box)
        self.form_combo.setObjectName("mapalyze_form")
        self.form_combo.setEditable(True)
        self.form_combo.addItem(ALL_FORMS, "")
        self.form_combo.setToolTip("A form id (e.g. form_GridInspection), or All forms")
        self.forms_button = QPushButton("⟳", load_box)
        self.forms_button.setToolTip("Fetch the list of forms from Mapalyze")
        self.forms_button.setMaximumWidth(32)
        self.forms_button.clicked.connect(self.fetch_forms)
        form_row.addWidget(self.form_combo, 1)
        form_row.addWidget(self.forms_button)
        form.addRow("Form", form_row)

        since_row = QHBoxLayout()
        self.since_check = QCheckBox("Only since", load_box)
        self.since_check.setObjectName("mapalyze_since_enabled")
        self.since_edit = QgsDateTimeEdit(load_box)
        self.since_edit.setObjectName("mapalyze_since")
        self.since_edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        self.since_edit.setTimeSpec(Qt.TimeSpec.UTC)
        self.since_edit.setAllowNull(False)
        self.since_edit.setDateTime(QDateTime.currentDateTimeUtc().addDays(-7))
        self.since_edit.setEnabled(False)
        self.since_edit.setToolTip("Timestamp in UTC")
        self.since_check.toggled.connect(self.since_edit.setEnabled)
        since_row.addWidget(self.since_check)
        since_row.addWidget(self.since_edit, 1)
        form.addRow("Since (UTC)", since_row)

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
        self.load_button.clicked.connect(self.load)
        self.cancel_button = QPushButton("Cancel", load_box)
        self.cancel_button.setObjectName("mapalyze_cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.refresh_button = QPushButton("Refresh layer", load_box)
        self.refresh_button.setObjectName("mapalyze_refresh")
        self.refresh_button.setToolTip("Append the records newer than the selected Mapalyze layer's newest")
        self.refresh_button.clicked.connect(self.refresh_current)
        buttons.addWidget(self.load_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.refresh_button)
        form.addRow(buttons)

        self.progress_bar = QProgressBar(load_box)
        self.progress_bar.setObjectName("mapalyze_progress")
        self.progress_bar.setVisible(False)
        form.addRow(self.progress_bar)
        self.status = QLabel("", load_box)
        self.status.setObjectName("mapalyze_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.status)

        self.auto_spin = QSpinBox(load_box)
        self.auto_spin.setObjectName("mapalyze_auto_refresh")
        self.auto_spin.setRange(0, 24 * 60)
        self.auto_spin.setSuffix(" min")
        self.auto_spin.setSpecialValueText("Off")
        self.auto_spin.setToolTip("Refresh every Mapalyze layer of the project every N minutes (Off: never)")
        form.addRow("Auto-refresh", self.auto_spin)
        layout.addWidget(load_box)

        self.export_box = ExportBox(self.iface, self.filters, self)
        layout.addWidget(self.export_box)
        layout.addStretch(1)

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

    def showEvent(self, event):  # noqa: N802 - Qt API name
        super().showEvent(event)
        if not self._forms_loaded:
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
        self.forms_runner.job("Mapalyze: list forms", lambda feedback: client.forms(),
                              lambda outcome: self._forms(outcome, quiet), client=client, hidden=quiet)

    def _forms(self, outcome, quiet):
        if not outcome.ok:
            if quiet:
                log(f"Mapalyze: the list of forms is not available ({outcome.message}); type a form id instead")
            else:
                show_error(self.iface, outcome.error)
            return
        forms = outcome.results
        current = self.form_combo.currentText()
        self.form_combo.clear()
        self.form_combo.addItem(ALL_FORMS, "")
        for form in forms:
            form_id = str(form.get("id") or form.get("form_id") or "")
            if form_id:
                name = form.get("name") or form.get("title")
                self.form_combo.addItem(f"{name} ({form_id})" if name else form_id, form_id)
        index = self.form_combo.findText(current)
        if index >= 0:
            self.form_combo.setCurrentIndex(index)
        else:
            self.form_combo.setEditText(current)

    # -- load ----------------------------------------------------------------------------------
    def load(self):
        """Start loading the records (background)."""
        try:
            path = self.loader.load(form_id=self.form_id(), since=self.since(),
                                    folder=self.folder_widget.filePath().strip() or None)
        except MapbridgeError as exc:
            self.status.setText(show_error(self.iface, exc))
            return
        self._busy(True)
        self.status.setText(f"Loading into {path}…")

    def cancel(self):
        """Cancel the running load or refresh."""
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
        self.status.setText(show_outcome(self.iface, outcome))

    # -- refresh -------------------------------------------------------------------------------
    def current_layer(self):
        """The active layer if it is a Mapalyze layer, else the last one loaded from this tab."""
        layer = self.iface.activeLayer() if self.iface is not None else None
        if mapalyze_layer.is_mapalyze_layer(layer):
            return layer
        last = QgsProject.instance().mapLayer(self.last_layer_id) if self.last_layer_id else None
        return last if mapalyze_layer.is_mapalyze_layer(last) else None

    def refresh_current(self):
        """Refresh the selected (or last loaded) Mapalyze layer."""
        layer = self.current_layer()
        if layer is None:
            show_message(self.iface, "Mapbridge: select a Mapalyze layer to refresh (or load one first).")
            return
        self.refresh_layer(layer)

    def refresh_layer(self, layer):
        """Refresh one layer in the background."""
        try:
            self.refresher.refresh(layer)
        except MapbridgeError as exc:
            self.status.setText(show_error(self.iface, exc))
            return
        self._busy(True)
        self.status.setText(f"Refreshing {layer.name()}…")

    def refresh_all(self):
        """Auto-refresh: the Mapalyze layers of the project, one after the other."""
        if self.loader.busy or self.refresher.busy:
            return
        layers = [layer for layer in QgsProject.instance().mapLayers().values()
                  if mapalyze_layer.is_mapalyze_layer(layer) and not layer.isEditable()]
        self._queue = layers[1:]
        if layers:
            self.refresh_layer(layers[0])

    def _refreshed(self, outcome):
        self._busy(False)
        self.status.setText(show_outcome(self.iface, outcome))
        queue = getattr(self, "_queue", [])
        if outcome.ok and queue:
            self._queue = queue[1:]
            self.refresh_layer(queue[0])
        else:
            self._queue = []

    def _busy(self, starting):
        busy = self.loader.busy or self.refresher.busy
        self.load_button.setEnabled(not busy)
        self.refresh_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.progress_bar.setVisible(busy)
        if starting:
            self.progress_bar.setValue(0)

    def shutdown(self):
        """Stop timers and cancel tasks."""
        self.auto.stop()
        self.loader.shutdown()
        self.refresher.shutdown()
        self.forms_runner.shutdown()
        self.export_box.shutdown()
