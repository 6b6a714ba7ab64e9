"""Imagery catalog search of the Mapflow tab: footprints layer and a table kept in sync with its selection."""

from __future__ import annotations

import os
import shutil
import tempfile

from qgis.core import QgsProject
from qgis.PyQt.QtCore import QDate, QItemSelectionModel, Qt, pyqtSignal
from qgis.PyQt.QtGui import QStandardItem, QStandardItemModel
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDateEdit,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...api.errors import MapbridgeError
from ...core.mapflow.aoi import save_aoi_geojson
from ...core.mapflow.style import apply_footprint_style
from ..background import BackgroundRunner
from .layout import wrap_layout
from ..notify import show_error, show_message

FOOTPRINTS_NAME = "Mapflow catalog footprints"
TABLE_COLUMNS = (("acquisitionDate", "Date"), ("cloudCover", "Cloud %"), ("pixelResolution", "m/px"),
                 ("offNadirAngle", "Off-nadir °"), ("sensor", "Sensor"), ("productType", "Product"), ("id", "Id"))
FID_ROLE = Qt.ItemDataRole.UserRole + 1


def cell_text(field, value):
    """A table cell for an image attribute."""
    if value is None or (hasattr(value, "isNull") and value.isNull()):
        return ""
    if field == "cloudCover":
        return f"{float(value) * 100:.0f}"
    if field in ("pixelResolution", "offNadirAngle"):
        return f"{float(value):.2f}"
    if field == "acquisitionDate":
        return str(value)[:10]
    return str(value)


class CatalogPanel(QWidget):
    """Filters, Search, the footprints table, and 'Use for processing'."""

    image_chosen = pyqtSignal(str, str)  # image id, provider name (may be empty)

    def __init__(self, iface, get_aoi, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.get_aoi = get_aoi
        self.runner = BackgroundRunner(self)
        self.run = None
        self.layer = None
        self.syncing = False
        self.closed = False
        # Holds the AOI file handed to mapflow_catalog (an input only; the footprints are a memory layer).
        self.folder = tempfile.mkdtemp(prefix="mapbridge-catalog-")
        self._build()

    def _build(self):
        layout = QVBoxLayout(self)
        form = QFormLayout()
        dates = QHBoxLayout()
        self.from_check, self.from_date = QCheckBox("from", self), QDateEdit(QDate.currentDate().addYears(-1), self)
        self.to_check, self.to_date = QCheckBox("to", self), QDateEdit(QDate.currentDate(), self)
        for check, edit in ((self.from_check, self.from_date), (self.to_check, self.to_date)):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            dates.addWidget(check)
            dates.addWidget(edit)
        form.addRow("Acquired", wrap_layout(dates, self))
        self.cloud_spin = QSpinBox(self)
        self.cloud_spin.setRange(0, 100)
        self.cloud_spin.setValue(100)
        self.cloud_spin.setSuffix(" %")
        self.cloud_spin.setObjectName("mapflow_max_cloud")
        form.addRow("Max cloud cover", self.cloud_spin)
        resolution = QHBoxLayout()
        self.min_res, self.max_res = QDoubleSpinBox(self), QDoubleSpinBox(self)
        for spin in (self.min_res, self.max_res):
            spin.setRange(0.0, 100.0)
            spin.setDecimals(2)
            spin.setSingleStep(0.1)
            spin.setSpecialValueText("any")
            resolution.addWidget(spin)
        form.addRow("Resolution min / max (m/px)", wrap_layout(resolution, self))
        layout.addLayout(form)
        buttons = QHBoxLayout()
        self.search_button = QPushButton("Search imagery over the AOI", self)
        self.search_button.setObjectName("mapflow_catalog_search")
        self.use_button = QPushButton("Use selected image for processing", self)
        self.use_button.setEnabled(False)
        buttons.addWidget(self.search_button)
        buttons.addWidget(self.use_button)
        layout.addLayout(buttons)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.model = QStandardItemModel(0, len(TABLE_COLUMNS), self)
        self.model.setHorizontalHeaderLabels([title for _, title in TABLE_COLUMNS])
        self.table = QTableView(self)
        self.table.setObjectName("mapflow_catalog_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.setMinimumHeight(120)
        layout.addWidget(self.table)
        self.search_button.clicked.connect(self.search)
        self.use_button.clicked.connect(self.use_selected)
        self.table.selectionModel().selectionChanged.connect(self._table_selection_changed)

    # -- search -------------------------------------------------------------------------------
    def parameters(self, aoi_path):
        """The mapflow_catalog parameters from the filters."""
        params = {"AOI": aoi_path, "OUTPUT": "TEMPORARY_OUTPUT"}
        if self.from_check.isChecked():
            params["DATE_FROM"] = self.from_date.date().toString("yyyy-MM-dd")
        if self.to_check.isChecked():
            params["DATE_TO"] = self.to_date.date().toString("yyyy-MM-dd")
        if self.cloud_spin.value() < 100:
            params["MAX_CLOUD"] = self.cloud_spin.value()
        if self.min_res.value() > 0:
            params["MIN_RESOLUTION"] = self.min_res.value()
        if self.max_res.value() > 0:
            params["MAX_RESOLUTION"] = self.max_res.value()
        return params

    def search(self):
        """Run mapbridge:mapflow_catalog over the AOI in the background."""
        if self.run is not None:
            return
        try:
            aoi = self.get_aoi()
            path = save_aoi_geojson(aoi, os.path.join(self.folder, "catalog_aoi.geojson"))
            self.run = self.runner.algorithm("mapbridge:mapflow_catalog", self.parameters(path),
                                             "Mapbridge: Mapflow catalog search", self._searched)
        except MapbridgeError as exc:
            self.status.setText(show_error(self.iface, exc))
            return
        self.search_button.setEnabled(False)
        self.status.setText("Searching…")

    def _searched(self, outcome):
        run, self.run = self.run, None
        self.search_button.setEnabled(True)
        if not outcome.ok:
            self.status.setText(show_error(self.iface, outcome.error))
            return
        results = outcome.results
        layer = run.take_layer(results.get("OUTPUT")) if run is not None else None
        if layer is None:
            self.status.setText("The search returned no layer.")
            return
        self.set_layer(layer)
        self.status.setText(f"{results.get('IMAGE_COUNT', layer.featureCount())} images found.")
        show_message(self.iface, f"Mapflow catalog: {layer.featureCount()} images over the AOI.")

    # -- layer and table ------------------------------------------------------------------------
    def set_layer(self, layer):
        """Show a footprints layer (replacing the previous one) and fill the table from it."""
        self._disconnect_layer()
        project = QgsProject.instance()
        if self.layer is not None and project.mapLayer(self.layer.id()) is not None:
            project.removeMapLayer(self.layer.id())
        layer.setName(FOOTPRINTS_NAME)
        apply_footprint_style(layer)
        project.addMapLayer(layer)
        self.layer = layer
        layer.selectionChanged.connect(self._layer_selection_changed)
        layer.willBeDeleted.connect(self._layer_deleted)
        self.table.setSortingEnabled(False)
        self.model.removeRows(0, self.model.rowCount())
        names = layer.fields().names()
        for feature in layer.getFeatures():
            items = []
            for field, _ in TABLE_COLUMNS:
                item = QStandardItem(cell_text(field, feature[field]) if field in names else "")
                item.setData(feature.id(), FID_ROLE)
                items.append(item)
            self.model.appendRow(items)
        self.table.setSortingEnabled(True)
        self.table.resizeColumnsToContents()

    def _layer_deleted(self):
        self._disconnect_layer()
        self.layer = None
        self.model.removeRows(0, self.model.rowCount())

    def _disconnect_layer(self):
        if self.layer is None:
            return
        for signal, slot in ((self.layer.selectionChanged, self._layer_selection_changed),
                             (self.layer.willBeDeleted, self._layer_deleted)):
            try:
                signal.disconnect(slot)
            except (TypeError, RuntimeError):
                pass

    def selected_fids(self):
        """Feature ids of the rows selected in the table."""
        return sorted({self.model.item(i.row(), 0).data(FID_ROLE) for i in self.table.selectionModel().selectedRows()})

    def _table_selection_changed(self, *args):
        fids = self.selected_fids()
        self.use_button.setEnabled(len(fids) == 1)
        if self.syncing or self.layer is None:
            return
        self.syncing = True
        try:
            self.layer.selectByIds(fids)
        finally:
            self.syncing = False

    def _layer_selection_changed(self, *args):
        if self.syncing or self.layer is None:
            return
        selected = set(self.layer.selectedFeatureIds())
        self.syncing = True
        try:
            selection = self.table.selectionModel()
            selection.clearSelection()
            for row in range(self.model.rowCount()):
                if self.model.item(row, 0).data(FID_ROLE) in selected:
                    selection.select(self.model.index(row, 0), QItemSelectionModel.SelectionFlag.Select
                                     | QItemSelectionModel.SelectionFlag.Rows)
        finally:
            self.syncing = False
        self.use_button.setEnabled(len(selected) == 1)

    def use_selected(self):
        """Hand the selected image to the processing settings."""
        fids = self.selected_fids() or (sorted(self.layer.selectedFeatureIds()) if self.layer else [])
        if len(fids) != 1 or self.layer is None:
            return
        feature = self.layer.getFeature(fids[0])
        names = feature.fields().names()
        provider = feature["providerName"] if "providerName" in names and feature["providerName"] else ""
        self.image_chosen.emit(str(feature["id"]), str(provider or ""))

    def shutdown(self):
        """Cancel a search, disconnect from the footprints layer and remove the temporary AOI folder."""
        self.closed = True
        self.runner.shutdown()
        self.run = None
        self._disconnect_layer()
        shutil.rmtree(self.folder, ignore_errors=True)
