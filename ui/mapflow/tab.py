"""The Mapflow tab: AOI, model and imagery, a confirmed start, the project's processings, catalog search."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from datetime import datetime

from qgis.core import QgsApplication, QgsSettings
from qgis.gui import QgsCollapsibleGroupBox, QgsFileWidget
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...api.errors import MapbridgeError
from ...core import settings_keys
from ...core.mapflow import start as start_sequence
from ...core.mapflow.choices import DEFAULT_MODEL, DEFAULT_PROVIDER, DEFAULT_ZOOM, FALLBACK_MODELS, FALLBACK_PROVIDERS
from ...core.mapflow.aoi import save_aoi_geojson
from ...core.mapflow.polling import DONE
from ...core.mapflow.tracked import TrackedProcessings, current_project_id
from ...core.output_folders import default_output_folder
from ...core import credentials
from ...core.service_factory import client_for
from ..background import BackgroundRunner
from .aoi_panel import AoiPanel
from .catalog_panel import CatalogPanel
from .list_panel import ProcessingsPanel
from .project_panel import ProjectPanel
from .layout import narrow, wrap_layout
from ..notify import show_error


def safe_name(text):
    """A file-name-safe version of a processing name."""
    cleaned = "".join(c if c.isalnum() or c in "-_ " else "_" for c in text).strip().replace(" ", "_")
    return cleaned[:60] or "mapflow"


class MapflowTab(QWidget):
    """Dock tab running mapbridge:mapflow_process / mapflow_results / mapflow_catalog, and tracking processings."""

    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.closed = False
        self.account = None
        self.process_runs = []
        self.image = ("", "")  # catalog image id and its provider
        self.store = TrackedProcessings()
        self.runner = BackgroundRunner(self)
        # AOI files handed to mapflow_process (inputs only: no project layer uses them); removed in shutdown().
        self.work_folder = tempfile.mkdtemp(prefix="mapbridge-mapflow-aoi-")
        # Replaced in tests; the dock asks before anything is spent.
        self.confirm = self._ask
        self._build()
        # No account call (and no master-password prompt) at QGIS start unless processings are waiting.
        QTimer.singleShot(0, self._resume_if_waiting)

    @property
    def started(self):
        """True once the account has been asked for."""
        return self.project_panel.started

    def _resume_if_waiting(self):
        # Only without a master-password prompt: building the dock at start is not the user asking for anything.
        if not self.closed and not self.started and credentials.token_without_prompt("mapflow") and any(
                item.get("status") not in DONE for item in self.store.all()):
            self.refresh_account()

    def showEvent(self, event):  # noqa: N802 - Qt API name
        """Read the account the first time the tab is shown."""
        super().showEvent(event)
        if not self.started:
            self.refresh_account()

    # -- building -----------------------------------------------------------------------------
    def _build(self):
        outer = QVBoxLayout(self)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget(scroll)
        layout = QVBoxLayout(inner)
        self.aoi_panel = AoiPanel(self.iface, inner)
        layout.addWidget(self.aoi_panel)
        layout.addWidget(self._build_settings(inner))
        self.list_panel = ProcessingsPanel(self.iface, self.output_path, inner)
        layout.addWidget(self.list_panel)
        catalog_box = QgsCollapsibleGroupBox("Imagery catalog", inner)
        catalog_box.setCollapsed(True)
        catalog_layout = QVBoxLayout(catalog_box)
        self.catalog_panel = CatalogPanel(self.iface, self.aoi_panel.current_aoi, catalog_box)
        self.catalog_panel.image_chosen.connect(self.set_image)
        catalog_layout.addWidget(self.catalog_panel)
        layout.addWidget(catalog_box)
        upload_button = QPushButton("Upload a GeoTIFF to Mapflow…", inner)
        upload_button.clicked.connect(self.open_upload_dialog)
        layout.addWidget(upload_button)
        layout.addStretch(1)
        scroll.setWidget(inner)
        outer.addWidget(scroll)

    def _build_settings(self, parent):
        box = QgsCollapsibleGroupBox("Processing", parent)
        form = QFormLayout(box)
        self.project_panel = ProjectPanel(self.iface, box)
        self.project_panel.account_loaded.connect(self._account_loaded)
        self.project_panel.account_failed.connect(lambda message: self.list_panel.start(current_project_id()))
        self.project_panel.project_changed.connect(self._project_changed)
        form.addRow(self.project_panel)
        self.model_combo = QComboBox(box)
        self.model_combo.setObjectName("mapflow_model")
        self.model_combo.setEditable(True)
        self.model_combo.addItems(FALLBACK_MODELS)
        form.addRow("Model", self.model_combo)
        self.provider_combo = QComboBox(box)
        self.provider_combo.setObjectName("mapflow_provider")
        self.provider_combo.setEditable(True)
        self.provider_combo.addItems(FALLBACK_PROVIDERS)
        form.addRow("Imagery", self.provider_combo)
        self.zoom_spin = QSpinBox(box)
        self.zoom_spin.setRange(0, 22)
        self.zoom_spin.setValue(DEFAULT_ZOOM)
        form.addRow("Zoom", self.zoom_spin)
        image_row = QHBoxLayout()
        self.image_label = QLabel("none (the provider's imagery)", box)
        self.image_label.setWordWrap(True)
        self.image_clear = QToolButton(box)
        self.image_clear.setIcon(QgsApplication.getThemeIcon("/mIconClearText.svg"))
        self.image_clear.setToolTip("Use the provider's imagery instead of the catalog image")
        self.image_clear.setEnabled(False)
        image_row.addWidget(self.image_label, 1)
        image_row.addWidget(self.image_clear)
        form.addRow("Catalog image", wrap_layout(image_row, box))
        self.name_edit = QLineEdit(box)
        self.name_edit.setObjectName("mapflow_name")
        self.name_edit.setPlaceholderText("optional, e.g. Buildings of the north district")
        form.addRow("Name", self.name_edit)
        self.folder_widget = QgsFileWidget(box)
        self.folder_widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.folder_widget.setFilePath(QgsSettings().value(settings_keys.MAPFLOW_OUTPUT_FOLDER, "", type=str)
                                       or default_output_folder("mapflow"))
        form.addRow("Results folder", self.folder_widget)
        self.start_button = QPushButton("Start processing…", box)
        self.start_button.setObjectName("mapflow_start")
        self.run_label = QLabel("", box)
        self.run_label.setWordWrap(True)
        form.addRow(self.start_button)
        form.addRow(self.run_label)
        narrow(self.model_combo, self.provider_combo)
        self.image_clear.clicked.connect(lambda: self.set_image("", ""))
        self.start_button.clicked.connect(self.start)
        self.folder_widget.fileChanged.connect(
            lambda path: QgsSettings().setValue(settings_keys.MAPFLOW_OUTPUT_FOLDER, path))
        return box

    # -- account and projects -----------------------------------------------------------------
    def refresh_account(self):
        """Read the account, its projects and models again (in the background)."""
        self.project_panel.refresh()

    def _account_loaded(self, account, models):
        self.account = account
        self.aoi_panel.set_account_text(f"{account.limit_text()} · {account.balance_text()}")
        self._fill_combo(self.provider_combo, account.provider_names(), DEFAULT_PROVIDER)
        self._fill_combo(self.model_combo, models, DEFAULT_MODEL)

    def _project_changed(self, project_id, models):
        if models:
            self._fill_combo(self.model_combo, models, DEFAULT_MODEL)
        self.list_panel.start(project_id)

    @staticmethod
    def _fill_combo(combo, names, default):
        current = combo.currentText()
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(names)
        wanted = current if current in names else (default if default in names else (names[0] if names else ""))
        combo.setCurrentText(wanted)
        combo.blockSignals(False)

    def project_id(self):
        """The picked project id ('' until the account is read: the default project)."""
        return self.project_panel.project_id()

    # -- starting a processing ------------------------------------------------------------------
    def set_image(self, image_id, provider):
        """Process a catalog image (imagerySearch) instead of the provider's imagery."""
        self.image = (image_id or "", provider or "")
        self.image_label.setText(image_id or "none (the provider's imagery)")
        self.image_clear.setEnabled(bool(image_id))

    def choice(self):
        """The processing choices of the form (a catalog image brings its own provider)."""
        return start_sequence.Choice(
            name=self.name_edit.text(), model=self.model_combo.currentText(),
            provider=self.image[1] or self.provider_combo.currentText(), zoom=self.zoom_spin.value(),
            project_id=self.project_id(), image_id=self.image[0])

    def start(self):
        """Plan in the background (the same start sequence as the algorithm), ask, then run mapflow_process."""
        try:
            aoi = self.aoi_panel.current_aoi()
            client = client_for("mapflow")
            client.config.require_token()
        except MapbridgeError as exc:
            self.run_label.setText(show_error(self.iface, exc))
            return
        choice = self.choice()
        self.start_button.setEnabled(False)
        self.run_label.setText("Checking the area, limits and cost…")
        self.runner.job("Mapbridge: Mapflow cost", lambda feedback: start_sequence.plan(client, aoi, choice),
                        self._planned, client=client)

    def _planned(self, outcome):
        self.start_button.setEnabled(True)
        if not outcome.ok:
            self.run_label.setText(show_error(self.iface, outcome.error))
            return
        planned = outcome.results
        self.account = planned.account if planned.account.billing_type else self.account
        if not self.confirm(planned.confirmation_text()):
            self.run_label.setText("Not started.")
            return
        self.launch(planned.aoi, planned.choice)

    def _ask(self, text):
        answer = QMessageBox.question(self, "Start a Mapflow processing", text,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def output_path(self, name, suffix=""):
        """A new GeoPackage path in the results folder."""
        folder = self.folder_widget.filePath() or default_output_folder("mapflow")
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise MapbridgeError(f"the results folder {folder} cannot be created ({exc.strerror})",
                                 hint="Choose another results folder in the Mapflow tab") from None
        stem = f"{safe_name(name)}{suffix}_{datetime.now():%Y%m%d_%H%M%S}"
        return os.path.join(folder, stem + ".gpkg")

    def launch(self, aoi, choice):
        """Run mapbridge:mapflow_process in the background (the same algorithm as the toolbox)."""
        name = choice.name
        try:
            aoi_path = save_aoi_geojson(aoi, os.path.join(self.work_folder,
                                                          f"aoi_{datetime.now():%H%M%S%f}.geojson"))
            params = {"AOI": aoi_path, "NAME": name, "MODEL": choice.model, "PROJECT_ID": choice.project_id,
                      "PROVIDER": choice.provider, "ZOOM": choice.zoom, "IMAGE_ID": choice.image_id,
                      "OUTPUT": self.output_path(name)}
            run = self.runner.algorithm(
                "mapbridge:mapflow_process", params, f"Mapflow: {name}",
                lambda outcome: self._run_finished(name, aoi_path, outcome),
                on_progress=lambda percent, line: self.run_label.setText(f"'{name}': {percent:.0f}% — {line}"))
        except MapbridgeError as exc:
            self.run_label.setText(show_error(self.iface, exc))
            return None
        self.process_runs.append(run)
        self.run_label.setText(f"Starting '{name}'…")
        self.list_panel.hurry()
        return run

    def _run_finished(self, name, aoi_path, outcome):
        self.process_runs = [run for run in self.process_runs if run.busy]
        with contextlib.suppress(OSError):  # already gone: the folder is removed in shutdown() anyway
            os.remove(aoi_path)
        if not outcome.ok:
            self.run_label.setText(show_error(self.iface, outcome.error))
            self.list_panel.hurry()
            return
        results = outcome.results
        self.list_panel.add_result_layer(results.get("OUTPUT"), name, results.get("PROCESSING_ID", ""))
        self.run_label.setText(f"'{name}' finished: {results.get('FEATURE_COUNT', 0)} features.")
        self.list_panel.hurry()

    # -- upload ------------------------------------------------------------------------------------
    def open_upload_dialog(self):
        """Open the Processing dialog of mapbridge:mapflow_upload."""
        try:
            import processing

            processing.execAlgorithmDialog("mapbridge:mapflow_upload", {})
        except (ImportError, AttributeError) as exc:
            show_error(self.iface, MapbridgeError(f"the Processing dialog is not available ({exc})",
                                                  hint="Use Processing ▸ Toolbox ▸ Mapbridge ▸ Mapflow"))

    # -- shutdown -------------------------------------------------------------------------------------
    def shutdown(self):
        """Stop timers, cancel tasks and runs, unset the map tool, remove rubber bands and temporary files."""
        self.closed = True
        self.runner.shutdown()
        self.project_panel.shutdown()
        self.list_panel.shutdown()
        self.aoi_panel.shutdown()
        self.catalog_panel.shutdown()
        self.process_runs = []  # detached by the runner: processings keep running on Mapflow, tracked next time
        shutil.rmtree(self.work_folder, ignore_errors=True)
