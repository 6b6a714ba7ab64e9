"""The processings list of the Mapflow tab: the project's processings, polling, and loading their results."""

from __future__ import annotations

from qgis.core import QgsProject, QgsVectorLayer
from qgis.gui import QgsCollapsibleGroupBox
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QGridLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from ...api.errors import MapbridgeError
from ...core.mapflow.tracked import TrackedProcessings, auto_load_results, set_auto_load_results
from ...core.mapflow.style import apply_default_style
from ..background import BackgroundRunner
from .poller import ProcessingsPoller
from .processings_model import ID_ROLE, PROGRESS_COLUMN, ProcessingsModel, ProgressDelegate
from ..notify import show_error, show_message, show_success


class ProcessingsPanel(QgsCollapsibleGroupBox):
    """Table of the picked project's processings (plus tracked ones), Load results / Copy id / Remove."""

    def __init__(self, iface, output_path, parent=None):
        super().__init__("Processings of the project", parent)
        self.iface = iface
        self.output_path = output_path  # (name, suffix) -> a new GeoPackage path
        self.closed = False
        self.runner = BackgroundRunner(self)
        self.loading = {}  # processing id -> Run of mapflow_results
        self.store = TrackedProcessings()
        self._build()
        self.poller = ProcessingsPoller(self)
        self.poller.updated.connect(self._processings_updated)
        self.poller.ready.connect(self._result_ready)
        self.poller.failed.connect(self._poll_failed)

    def _build(self):
        box = self
        layout = QVBoxLayout(box)
        self.model = ProcessingsModel(box)
        self.table = QTableView(box)
        self.table.setObjectName("mapflow_processings")
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(PROGRESS_COLUMN, ProgressDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(PROGRESS_COLUMN, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(PROGRESS_COLUMN, 70)
        self.table.setMinimumHeight(140)
        layout.addWidget(self.table)
        buttons = QGridLayout()
        self.load_button = QPushButton("Load results", box)
        self.copy_button = QPushButton("Copy id", box)
        self.remove_button = QPushButton("Remove from list", box)
        self.remove_button.setToolTip("Hide it here; the processing stays on Mapflow")
        buttons.addWidget(self.load_button, 0, 0)
        buttons.addWidget(self.copy_button, 0, 1)
        buttons.addWidget(self.remove_button, 1, 0)
        layout.addLayout(buttons)
        self.auto_load = QCheckBox("Load finished results automatically", box)
        self.auto_load.setObjectName("mapflow_auto_load")
        self.auto_load.setChecked(auto_load_results())
        layout.addWidget(self.auto_load)
        self.list_label = QLabel("", box)
        self.list_label.setWordWrap(True)
        layout.addWidget(self.list_label)
        self.load_button.clicked.connect(self.load_selected)
        self.copy_button.clicked.connect(self.copy_selected_id)
        self.remove_button.clicked.connect(self.remove_selected)
        self.auto_load.toggled.connect(set_auto_load_results)

    def add_result_layer(self, path, name, processing_id):
        """Add a written result to the project with the default style; remember it was loaded."""
        layer = QgsVectorLayer(path or "", name or "Mapflow result", "ogr")
        if not layer.isValid():
            show_error(self.iface, MapbridgeError(f"the result file {path} could not be opened", service="mapflow"))
            return None
        apply_default_style(layer)
        QgsProject.instance().addMapLayer(layer)
        if processing_id and self.store.get(processing_id) is not None:
            self.store.upsert(processing_id, loaded=True, output=path)
        show_success(self.iface, f"Mapflow result '{layer.name()}' loaded: {layer.featureCount()} features.")
        return layer

    def _result_ready(self, row):
        # A processing whose own run is still writing it is never reported ready (RUNS lease in the poller).
        if not self.auto_load.isChecked() or row["id"] in self.loading:
            return
        self.load_results(row["id"], row.get("name") or row["id"])

    def load_results(self, processing_id, name):
        """Run mapbridge:mapflow_results for a processing and add its layer."""
        if processing_id in self.loading:
            return None
        try:
            params = {"PROCESSING_ID": processing_id, "OUTPUT": self.output_path(name, f"_{processing_id[:8]}")}
            run = self.runner.algorithm("mapbridge:mapflow_results", params, f"Mapflow results: {name}",
                                        lambda outcome: self._results_loaded(processing_id, name, outcome))
        except MapbridgeError as exc:
            show_error(self.iface, exc)
            return None
        self.loading[processing_id] = run
        self.list_label.setText(f"Loading the results of '{name}'…")
        return run

    def _results_loaded(self, processing_id, name, outcome):
        self.loading.pop(processing_id, None)
        if not outcome.ok:
            self.list_label.setText(show_error(self.iface, outcome.error))
            return
        self.list_label.setText("")
        self.add_result_layer(outcome.results.get("OUTPUT"), name, processing_id)

    def _processings_updated(self, project_id, rows):
        selected = self.selected_id()
        self.model.set_rows(rows)
        if selected:
            for row, item in enumerate(self.model.rows):
                if item["id"] == selected:
                    self.table.selectRow(row)
        self.list_label.setText("" if rows else "No processings in this project yet.")

    def _poll_failed(self, message):
        self.list_label.setText(message)

    def selected_id(self):
        """The id of the selected processing, or ''."""
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return rows[0].data(ID_ROLE) if rows else ""

    def load_selected(self):
        """Load the results of the selected processing."""
        row = self.model.row_by_id(self.selected_id())
        if row is None:
            show_message(self.iface, "Select a processing in the list first.")
            return
        if row["status"] != "OK":
            show_message(self.iface, f"'{row['name']}' is {row['status']}; results exist only when it is OK.")
            return
        self.load_results(row["id"], row["name"] or row["id"])

    def copy_selected_id(self):
        """Copy the selected processing id to the clipboard."""
        processing_id = self.selected_id()
        if processing_id:
            QApplication.clipboard().setText(processing_id)
            show_message(self.iface, f"Processing id {processing_id} copied.")

    def remove_selected(self):
        """Hide the selected processing from the list (it stays on Mapflow)."""
        processing_id = self.selected_id()
        if not processing_id:
            return
        self.store.remove(processing_id)
        self.model.set_rows([r for r in self.model.rows if r["id"] != processing_id])

    def start(self, project_id):
        """Show and poll a project's processings."""
        self.model.set_rows([])
        self.poller.start(project_id)

    def hurry(self):
        """Poll soon (a processing was started or ended)."""
        self.poller.hurry()

    def shutdown(self):
        """Stop polling and cancel the result-loading runs (they outlive the panel until their task ends)."""
        self.closed = True
        self.poller.shutdown()
        self.runner.shutdown()
        self.loading = {}
