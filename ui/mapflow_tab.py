"""The Mapflow tab: AOI, model and imagery, a confirmed start, the project's processings, catalog search."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime

from qgis.core import QgsApplication, QgsSettings
from qgis.gui import QgsCollapsibleGroupBox, QgsFileWidget
from qgis.PyQt.QtCore import QStandardPaths, Qt, QTimer
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
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

from ..api.errors import MapbridgeError
from ..core import settings_keys
from ..core.mapflow_account import DEFAULT_MODEL, DEFAULT_PROVIDER, DEFAULT_ZOOM, FALLBACK_MODELS, FALLBACK_PROVIDERS
from ..core.mapflow_aoi import save_aoi_geojson
from ..core.mapflow_processing import processing_body
from ..core.mapflow_store import (
    TrackedProcessings,
    current_project_id,
    set_current_project_id,
)
from ..core.service_factory import client_for
from .algorithm_runner import run_algorithm
from .mapflow_aoi_panel import AoiPanel
from .mapflow_background import BackgroundCalls
from .mapflow_catalog_panel import CatalogPanel
from .mapflow_jobs import confirmation_text, load_account, preflight, processing_id_of
from .mapflow_list_panel import ProcessingsPanel
from .mapflow_poller import DONE
from .notify import show_error, show_success

# Runs cancelled by a shutdown stay referenced until their task ends (the task still uses their context).
_DETACHED_RUNS = []


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
        self.alive = True
        self.account = None
        self.projects = []
        self.process_runs = []
        self.image = ("", "")  # catalog image id and its provider
        self.store = TrackedProcessings()
        self.calls = BackgroundCalls()
        self.work_folder = tempfile.mkdtemp(prefix="mapbridge-mapflow-aoi-")
        # Replaced in tests; the dock asks before anything is spent.
        self.confirm = self._ask
        self._build()
        self.started = False
        # No account call (and no master-password prompt) at QGIS start unless processings are waiting.
        QTimer.singleShot(0, self._resume_if_waiting)

    def _resume_if_waiting(self):
        if self.alive and not self.started and any(
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
        self.list_panel = ProcessingsPanel(self.iface, self.output_path, self.running_ids, inner)
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
        project_row = QHBoxLayout()
        self.project_combo = QComboBox(box)
        self.project_combo.setObjectName("mapflow_project")
        self.new_project_button = QToolButton(box)
        self.new_project_button.setIcon(QgsApplication.getThemeIcon("/symbologyAdd.svg"))
        self.new_project_button.setToolTip("Create a new Mapflow project…")
        self.refresh_button = QToolButton(box)
        self.refresh_button.setIcon(QgsApplication.getThemeIcon("/mActionRefresh.svg"))
        self.refresh_button.setToolTip("Read the account, its projects and models again")
        project_row.addWidget(self.project_combo, 1)
        project_row.addWidget(self.new_project_button)
        project_row.addWidget(self.refresh_button)
        form.addRow("Project", self._wrap(project_row, box))
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
        form.addRow("Catalog image", self._wrap(image_row, box))
        self.name_edit = QLineEdit(box)
        self.name_edit.setObjectName("mapflow_name")
        self.name_edit.setPlaceholderText("e.g. Buildings of the north district")
        form.addRow("Name", self.name_edit)
        self.folder_widget = QgsFileWidget(box)
        self.folder_widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.folder_widget.setFilePath(QgsSettings().value(settings_keys.MAPFLOW_OUTPUT_FOLDER, "", type=str)
                                       or default_output_folder())
        form.addRow("Results folder", self.folder_widget)
        self.account_label = QLabel("Reading the account…", box)
        self.account_label.setObjectName("mapflow_account")
        self.account_label.setWordWrap(True)
        form.addRow("Account", self.account_label)
        self.start_button = QPushButton("Start processing…", box)
        self.start_button.setObjectName("mapflow_start")
        self.run_label = QLabel("", box)
        self.run_label.setWordWrap(True)
        form.addRow(self.start_button)
        form.addRow(self.run_label)
        self._narrow(self.project_combo, self.model_combo, self.provider_combo)
        self.project_combo.currentIndexChanged.connect(self._project_changed)
        self.new_project_button.clicked.connect(self.new_project)
        self.refresh_button.clicked.connect(self.refresh_account)
        self.image_clear.clicked.connect(lambda: self.set_image("", ""))
        self.start_button.clicked.connect(self.start)
        self.folder_widget.fileChanged.connect(
            lambda path: QgsSettings().setValue(settings_keys.MAPFLOW_OUTPUT_FOLDER, path))
        return box

    @staticmethod
    def _narrow(*combos):
        """Let combo boxes shrink with a narrow dock."""
        for combo in combos:
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)

    @staticmethod
    def _wrap(layout, parent):
        widget = QWidget(parent)
        layout.setContentsMargins(0, 0, 0, 0)
        widget.setLayout(layout)
        return widget

    # -- account and projects -----------------------------------------------------------------
    def refresh_account(self):
        """Read the account, the default project and the project list in the background."""
        self.started = True
        try:
            client = client_for("mapflow")
            client.config.require_token()
        except MapbridgeError as exc:
            self.account_label.setText(exc.user_message())
            self.list_panel.start(current_project_id())
            return
        self.account_label.setText("Reading the account…")
        self.calls.call("Mapbridge: Mapflow account", lambda task: load_account(client), self._account_loaded)

    def _account_loaded(self, exception, result=None):
        if exception is not None or not result:
            self.account_label.setText(exception.user_message() if isinstance(exception, MapbridgeError)
                                       else "The account could not be read; see the Mapbridge log.")
            self.list_panel.start(current_project_id())
            return
        self.account = result["account"]
        self.account_label.setText(f"{self.account.balance_text()} · {self.account.limit_text()}")
        self.aoi_panel.set_account_text(f"{self.account.limit_text()} · {self.account.balance_text()}")
        self._fill_combo(self.provider_combo, self.account.provider_names(), DEFAULT_PROVIDER)
        self._fill_combo(self.model_combo, result["models"], DEFAULT_MODEL)
        self.projects = result["projects"]
        wanted = current_project_id()
        self.project_combo.blockSignals(True)
        self.project_combo.clear()
        for project in self.projects:
            self.project_combo.addItem(project["label"], project["id"])
        index = self.project_combo.findData(wanted) if wanted else 0
        self.project_combo.setCurrentIndex(max(0, index))
        self.project_combo.blockSignals(False)
        self._project_changed()

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
        return self.project_combo.currentData() or ""

    def _project_changed(self):
        project_id = self.project_id()
        set_current_project_id(project_id)
        project = next((p for p in self.projects if p["id"] == project_id), None)
        if project is not None and project.get("models"):
            self._fill_combo(self.model_combo, project["models"], DEFAULT_MODEL)
        self.list_panel.start(project_id)

    def new_project(self):
        """Create a Mapflow project and pick it."""
        name, ok = QInputDialog.getText(self, "New Mapflow project", "Name of the new project:")
        if not ok or not name.strip():
            return
        try:
            client = client_for("mapflow")
            client.config.require_token()
        except MapbridgeError as exc:
            show_error(self.iface, exc)
            return
        self.calls.call("Mapbridge: new Mapflow project",
                        lambda task: client.create_project(name.strip(), "Created from QGIS (Mapbridge)"),
                        self._project_created)

    def _project_created(self, exception, result=None):
        if exception is not None or not isinstance(result, dict) or not result.get("id"):
            show_error(self.iface, exception or MapbridgeError("the project was not created", service="mapflow"))
            return
        set_current_project_id(result["id"])
        show_success(self.iface, f"Mapflow project '{result.get('name', '')}' created.")
        self.refresh_account()

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
        self.calls.call("Mapbridge: Mapflow cost", lambda task: preflight(client, aoi, body),
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
        self.process_runs.append(run)
        run.progress.connect(lambda percent, line, r=run: self._run_progress(r, percent, line))
        run.finished.connect(lambda ok, results, error, r=run: self._run_finished(r, ok, results, error))
        self.run_label.setText(f"Starting '{choice['name']}'…")
        self.list_panel.hurry()
        return run

    def _run_progress(self, run, percent, line):
        if self.alive:
            self.run_label.setText(f"'{run.mapflow_name}': {percent:.0f}% — {line}")

    def _run_finished(self, run, ok, results, error):
        if run in self.process_runs:
            self.process_runs.remove(run)
        if not self.alive:
            return
        if not ok:
            self.run_label.setText(error)
            show_error(self.iface, MapbridgeError(error or "the processing failed", service=None))
            self.list_panel.hurry()
            return
        processing_id = results.get("PROCESSING_ID", "")
        self.list_panel.add_result_layer(results.get("OUTPUT"), run.mapflow_name, processing_id)
        self.run_label.setText(f"'{run.mapflow_name}' finished: {results.get('FEATURE_COUNT', 0)} features.")
        self.list_panel.hurry()

    # -- results ----------------------------------------------------------------------------------
    def running_ids(self):
        """Processing ids whose own mapflow_process run is still going in this tab."""
        return {processing_id_of(run) for run in self.process_runs} - {""}

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
        """Stop timers, cancel tasks and runs, unset the map tool and remove rubber bands."""
        self.alive = False
        loading = self.list_panel.shutdown()
        self.calls.shutdown()
        self.aoi_panel.shutdown()
        self.catalog_panel.shutdown()
        for run in list(self.process_runs) + loading:
            run.setParent(None)
            _DETACHED_RUNS.append(run)
            run.finished.connect(lambda *args, r=run: _DETACHED_RUNS.remove(r) if r in _DETACHED_RUNS else None)
            run.cancel()
        self.process_runs = []
