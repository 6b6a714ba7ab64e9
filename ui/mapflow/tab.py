"""The Mapflow tab: AOI, model and imagery, a confirmed start, the project's processings, catalog search."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from datetime import datetime

from qgis.core import QgsApplication, QgsSettings
from qgis.gui import QgsCollapsibleGroupBox, QgsFileWidget
from qgis.PyQt.QtCore import QStandardPaths, Qt, QTimer
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
from ...core.mapflow.account import (
    DEFAULT_MODEL,
    DEFAULT_PROVIDER,
    DEFAULT_ZOOM,
    FALLBACK_MODELS,
    FALLBACK_PROVIDERS,
    confirmation_text,
    preflight,
)
from ...core.mapflow.aoi import save_aoi_geojson
from ...core.mapflow.processings import processing_body
from ...core.mapflow.tracked import TrackedProcessings, current_project_id
from ...core.service_factory import client_for
from ..algorithm_runner import run_algorithm
from .aoi_panel import AoiPanel
from ..mapflow_background import BackgroundCalls
from .catalog_panel import CatalogPanel
from .list_panel import ProcessingsPanel
from .poller import DONE
from .project_panel import ProjectPanel
from .layout import narrow, wrap_layout
from ..notify import show_error


def default_output_folder():
    """Where results are written unless the user picks another folder."""
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) \
        or tempfile.gettempdir()
    return os.path.join(documents, "Mapbridge", "Mapflow")


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
        self.calls = BackgroundCalls()
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
        if not self.closed and not self.started and any(
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
                                       or default_output_folder())
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

    def settings(self):
        """The processing choices of the form."""
        model = self.model_combo.currentText().strip() or DEFAULT_MODEL
        name = self.name_edit.text().strip() or f"{model.split(' ', 1)[-1]} {datetime.now():%Y-%m-%d %H:%M}"
        return {"name": name, "model": model, "provider": self.provider_combo.currentText().strip() or DEFAULT_PROVIDER,
                "zoom": self.zoom_spin.value(), "project_id": self.project_id(), "image_id": self.image[0],
                "image_provider": self.image[1]}

    def start(self):
        """Validate the AOI, price it in the background, ask, then run mapbridge:mapflow_process."""
        try:
            aoi = self.aoi_panel.current_aoi()
            client = client_for("mapflow")
            client.config.require_token()
        except MapbridgeError as exc:
            self.run_label.setText(show_error(self.iface, exc))
            return
        choice = self.settings()
        body = processing_body(choice["name"], choice["model"], aoi.geojson(), project_id=choice["project_id"],
                               provider=choice["image_provider"] or choice["provider"], zoom=choice["zoom"],
                               image_id=choice["image_id"] or None)
        self.start_button.setEnabled(False)
        self.run_label.setText("Checking the area, limits and cost…")
        def check(task):
            try:
                return preflight(client, aoi, body)
            finally:
                client.close()

        self.calls.call("Mapbridge: Mapflow cost", check,
                        lambda exc, res=None: self._preflighted(exc, res, aoi, choice))

    def _preflighted(self, exception, result, aoi, choice):
        self.start_button.setEnabled(True)
        if exception is not None or not result:
            self.run_label.setText(show_error(self.iface, exception or MapbridgeError("the check failed")))
            return
        self.account = result["account"] or self.account
        text = confirmation_text(aoi, choice, result)
        if not self.confirm(text):
            self.run_label.setText("Not started.")
            return
        self.launch(aoi, choice)

    def _ask(self, text):
        answer = QMessageBox.question(self, "Start a Mapflow processing", text,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def output_path(self, name, suffix=""):
        """A new GeoPackage path in the results folder."""
        folder = self.folder_widget.filePath() or default_output_folder()
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise MapbridgeError(f"the results folder {folder} cannot be created ({exc.strerror})",
                                 hint="Choose another results folder in the Mapflow tab") from None
        stem = f"{safe_name(name)}{suffix}_{datetime.now():%Y%m%d_%H%M%S}"
        return os.path.join(folder, stem + ".gpkg")

    def launch(self, aoi, choice):
        """Run mapbridge:mapflow_process in the background (the same algorithm as the toolbox)."""
        try:
            aoi_path = save_aoi_geojson(aoi, os.path.join(self.work_folder,
                                                          f"aoi_{datetime.now():%H%M%S%f}.geojson"))
            params = {"AOI": aoi_path, "NAME": choice["name"], "MODEL": choice["model"],
                      "PROJECT_ID": choice["project_id"], "PROVIDER": choice["image_provider"] or choice["provider"],
                      "ZOOM": choice["zoom"], "IMAGE_ID": choice["image_id"],
                      "OUTPUT": self.output_path(choice["name"])}
            run = run_algorithm("mapbridge:mapflow_process", params, f"Mapflow: {choice['name']}", self)
        except MapbridgeError as exc:
            self.run_label.setText(show_error(self.iface, exc))
            return None
        run.mapflow_name = choice["name"]
        run.aoi_path = aoi_path
        self.process_runs.append(run)
        run.progress.connect(lambda percent, line, r=run: self._run_progress(r, percent, line))
        run.finished.connect(lambda ok, results, error, r=run: self._run_finished(r, ok, results, error))
        self.run_label.setText(f"Starting '{choice['name']}'…")
        self.list_panel.hurry()
        return run

    def _run_progress(self, run, percent, line):
        if not self.closed:
            self.run_label.setText(f"'{run.mapflow_name}': {percent:.0f}% — {line}")

    def _run_finished(self, run, ok, results, error):
        if run in self.process_runs:
            self.process_runs.remove(run)
        if self.closed:
            return
        with contextlib.suppress(OSError):  # already gone: the folder is removed in shutdown() anyway
            os.remove(run.aoi_path)
        if not ok:
            self.run_label.setText(error)
            show_error(self.iface, MapbridgeError(error or "the processing failed", service=None))
            self.list_panel.hurry()
            return
        processing_id = results.get("PROCESSING_ID", "")
        self.list_panel.add_result_layer(results.get("OUTPUT"), run.mapflow_name, processing_id)
        self.run_label.setText(f"'{run.mapflow_name}' finished: {results.get('FEATURE_COUNT', 0)} features.")
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
        self.calls.shutdown()
        self.project_panel.shutdown()
        self.list_panel.shutdown()
        self.aoi_panel.shutdown()
        self.catalog_panel.shutdown()
        for run in self.process_runs:
            run.detach_and_cancel()  # the processing keeps running on Mapflow; the dock tracks it next time
        self.process_runs = []
        shutil.rmtree(self.work_folder, ignore_errors=True)
