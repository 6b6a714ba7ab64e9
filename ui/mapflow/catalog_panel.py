"""Imagery catalog search: filters (dates, clouds, resolution, product type, provider), a footprints layer and a table
kept in sync (numbers sort as numbers), a preview of an image on the map, and images handed to the processing."""

from __future__ import annotations

import os
import shutil
import tempfile

from qgis.core import QgsProject, QgsRasterLayer
from qgis.PyQt.QtCore import QDate, QEvent, QItemSelectionModel, Qt, pyqtSignal
from qgis.PyQt.QtGui import QStandardItem, QStandardItemModel
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHeaderView,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...api.errors import MapbridgeError
from ...core.mapflow import tiles
from ...core.mapflow.aoi import save_aoi_geojson
from ...core.mapflow.catalog import cloud_percent
from ...core.mapflow.preview import georeference, wms_picture
from ...core.mapflow.sources import catalog_source
from ...core.mapflow.style import apply_footprint_style
from ...core.output_folders import default_output_folder
from ...core.service_factory import client_for
from ..background import BackgroundRunner
from ..notify import show_error, show_message
from .layout import button_grid, fit_table_columns, narrow, wrap_layout, wrapped_label

FOOTPRINTS_NAME = "Mapflow catalog footprints"
TABLE_COLUMNS = (("acquisitionDate", "Date"), ("providerName", "Provider"), ("cloudCover", "Cloud %"),
                 ("pixelResolution", "m/px"), ("productType", "Product"), ("offNadirAngle", "Off-nadir °"),
                 ("sensor", "Sensor"), ("id", "Id"))
COLUMN_PRIORITY = ("acquisitionDate", "cloudCover", "pixelResolution", "productType", "offNadirAngle", "sensor",
                   "id")
FID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
NUMERIC = ("cloudCover", "pixelResolution", "offNadirAngle")
PRODUCT_TYPES = (("Any product", ""), ("Images", "IMAGE"), ("Mosaics", "MOSAIC"))


def previews_folder():
    """Where previews are kept (layers of the project read them, so not a temporary folder)."""
    return os.path.join(default_output_folder("mapflow"), "previews")


def cell_value(field, value):
    """(text, sort value) of a table cell: numbers sort as numbers."""
    if value is None or (hasattr(value, "isNull") and value.isNull()) or value == "":
        return "", None
    if field == "cloudCover":
        percent = cloud_percent(value)
        return (f"{percent:.0f}", percent) if percent is not None else ("", None)
    if field in NUMERIC:
        try:
            return f"{float(value):.2f}", float(value)
        except (TypeError, ValueError):
            return str(value), None
    if field == "acquisitionDate":
        return str(value)[:10], str(value)
    return str(value), str(value).lower()


class CatalogPanel(QWidget):
    """Filters, Search, the footprints table, Preview and Use for processing."""

    images_chosen = pyqtSignal(object)   # a catalog Source
    searched = pyqtSignal(set)           # the ids the last search found

    def __init__(self, iface, get_aoi, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.get_aoi = get_aoi
        self.runner = BackgroundRunner(self)
        self.run = None
        self.layer = None
        self.syncing = False
        self.closed = False
        # The AOI handed to mapflow_catalog (an input only); removed in shutdown().
        self.folder = tempfile.mkdtemp(prefix="mapbridge-catalog-")
        self._build()

    def _build(self):
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        dates = QGridLayout()
        self.from_check, self.from_date = QCheckBox("from", self), QDateEdit(QDate.currentDate().addYears(-1), self)
        self.to_check, self.to_date = QCheckBox("to", self), QDateEdit(QDate.currentDate(), self)
        for row, (check, edit) in enumerate(((self.from_check, self.from_date), (self.to_check, self.to_date))):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            dates.addWidget(check, row, 0)
            dates.addWidget(edit, row, 1)
        dates.setColumnStretch(1, 1)
        form.addRow("Acquired", wrap_layout(dates, self))
        self.cloud_spin = QSpinBox(self)
        self.cloud_spin.setRange(0, 100)
        self.cloud_spin.setValue(100)
        self.cloud_spin.setSuffix(" %")
        self.cloud_spin.setObjectName("mapflow_max_cloud")
        form.addRow("Max clouds", self.cloud_spin)
        self.min_res, self.max_res = QDoubleSpinBox(self), QDoubleSpinBox(self)
        for spin in (self.min_res, self.max_res):
            spin.setRange(0.0, 100.0)
            spin.setDecimals(2)
            spin.setSingleStep(0.1)
            spin.setSuffix(" m/px")
            spin.setSpecialValueText("any")
        form.addRow("Finest", self.min_res)
        form.addRow("Coarsest", self.max_res)
        self.product_combo = QComboBox(self)
        self.product_combo.setObjectName("mapflow_product_type")
        for label, value in PRODUCT_TYPES:
            self.product_combo.addItem(label, value)
        self.provider_combo = QComboBox(self)
        self.provider_combo.setObjectName("mapflow_catalog_provider")
        self.provider_combo.addItem("Any provider", "")
        narrow(self.product_combo, self.provider_combo)
        form.addRow("Products", self.product_combo)
        form.addRow("Providers", self.provider_combo)
        layout.addLayout(form)
        self.search_button = QPushButton("Search imagery over the AOI", self)
        self.search_button.setObjectName("mapflow_catalog_search")
        layout.addWidget(self.search_button)
        self.status = wrapped_label("", self, "mapflow_catalog_status")
        layout.addWidget(self.status)
        self.model = QStandardItemModel(0, len(TABLE_COLUMNS), self)
        self.model.setHorizontalHeaderLabels([title for _, title in TABLE_COLUMNS])
        self.model.setSortRole(SORT_ROLE)
        self.table = QTableView(self)
        self.table.setObjectName("mapflow_catalog_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.verticalHeader().setVisible(False)
        self.table.setSortingEnabled(True)
        self.table.setMinimumHeight(160)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.viewport().installEventFilter(self)
        layout.addWidget(self.table, 1)
        self.preview_button = QPushButton("Preview on the map", self)
        self.preview_button.setObjectName("mapflow_catalog_preview")
        self.use_button = QPushButton("Use for processing", self)
        self.use_button.setObjectName("mapflow_catalog_use")
        self.use_button.setToolTip("Process the selected image(s) (several only of one provider)")
        layout.addWidget(button_grid([self.preview_button, self.use_button], self))
        self.search_button.clicked.connect(self.search)
        self.use_button.clicked.connect(self.use_selected)
        self.preview_button.clicked.connect(self.preview_selected)
        self.table.selectionModel().selectionChanged.connect(self._table_selection_changed)
        self._enable()

    def set_providers(self, providers):
        """The account's catalog providers (display names shown, names sent)."""
        current = self.provider_combo.currentData()
        self.provider_combo.clear()
        self.provider_combo.addItem("Any provider", "")
        for provider in providers or []:
            self.provider_combo.addItem(provider.label, provider.name)
        self.provider_combo.setCurrentIndex(max(0, self.provider_combo.findData(current)))

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
        if self.product_combo.currentData():
            params["PRODUCT_TYPES"] = self.product_combo.currentData()
        if self.provider_combo.currentData():
            params["PROVIDERS"] = self.provider_combo.currentData()
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
        self.searched.emit({str(f["id"]) for f in layer.getFeatures()})

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
                text, sort = cell_value(field, feature[field] if field in names else None)
                item = QStandardItem(text)
                item.setData(sort, SORT_ROLE)
                item.setData(feature.id(), FID_ROLE)
                if field in NUMERIC:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                items.append(item)
            self.model.appendRow(items)
        self.table.setSortingEnabled(True)
        self.fit_columns()
        self._enable()

    def _layer_deleted(self):
        self._disconnect_layer()
        self.layer = None
        self.model.removeRows(0, self.model.rowCount())
        self.status.setText("The footprints layer was removed.")
        self._enable()

    def _disconnect_layer(self):
        if self.layer is None:
            return
        for signal, slot in ((self.layer.selectionChanged, self._layer_selection_changed),
                             (self.layer.willBeDeleted, self._layer_deleted)):
            try:
                signal.disconnect(slot)
            except (TypeError, RuntimeError):
                pass

    def eventFilter(self, watched, event):  # noqa: N802 - Qt API name
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self.fit_columns()
        return super().eventFilter(watched, event)

    def _column_width(self, field):
        metrics = self.table.fontMetrics()
        column = next(i for i, (f, _) in enumerate(TABLE_COLUMNS) if f == field)
        texts = [TABLE_COLUMNS[column][1]] + [self.model.item(r, column).text()
                                              for r in range(min(self.model.rowCount(), 200))]
        return max(metrics.horizontalAdvance(t) for t in texts) + 24

    def fit_columns(self):
        """Show the columns that fit the width (the date first); the provider takes what is left."""
        return fit_table_columns(self.table, [f for f, _ in TABLE_COLUMNS], COLUMN_PRIORITY, self._column_width,
                                 "providerName", self.table.fontMetrics().horizontalAdvance("Airbus") + 24)

    def selected_fids(self):
        """Feature ids of the rows selected in the table."""
        return sorted({self.model.item(i.row(), 0).data(FID_ROLE) for i in self.table.selectionModel().selectedRows()})

    def _enable(self):
        count = len(self.selected_fids()) if self.layer is not None else 0
        self.use_button.setEnabled(count >= 1)
        self.preview_button.setEnabled(count == 1)

    def _table_selection_changed(self, *args):
        self._enable()
        if self.syncing or self.layer is None:
            return
        self.syncing = True
        try:
            self.layer.selectByIds(self.selected_fids())
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
        self._enable()

    def _selected_images(self):
        fids = self.selected_fids() or (sorted(self.layer.selectedFeatureIds()) if self.layer else [])
        if not fids or self.layer is None:
            return []
        images = []
        for fid in fids:
            feature = self.layer.getFeature(fid)
            image = {name: feature[name] for name in feature.fields().names()}
            image["geometry"] = feature.geometry()
            images.append(image)
        return images

    def use_selected(self):
        """Hand the selected image(s) to the processing (several only of one provider)."""
        images = self._selected_images()
        if not images:
            return None
        try:
            source = catalog_source([{k: v for k, v in i.items() if k != "geometry"} for i in images])
        except MapbridgeError as exc:
            self.status.setText(show_error(self.iface, exc))
            return None
        self.status.setText(f"{source.describe()} will be processed.")
        self.images_chosen.emit(source)
        return source

    # -- preview --------------------------------------------------------------------------------
    def preview_selected(self):
        """Put the selected image's preview on the map: a picture placed on its footprint, its tiles, or the picture
        its WMS GetMap URL gives, placed on the box it asks for."""
        images = self._selected_images()
        if len(images) != 1:
            return None
        image = images[0]
        url = str(image.get("previewUrl") or "")
        kind = str(image.get("previewType") or "png").lower()
        name = f"Preview {image.get('providerName') or ''} {str(image.get('acquisitionDate') or '')[:10]}".strip()
        if not url:
            self.status.setText("The catalog gives no preview for this image.")
            return None
        if kind in ("xyz", "tms"):
            layer = tiles.raster_tiles_layer(url, name, kind=kind.upper())
            QgsProject.instance().addMapLayer(layer)
            self.status.setText(f"{name} added as tiles.")
            return None
        footprint = image["geometry"].asWkt()
        try:
            if kind == "wms":
                url, footprint = wms_picture(url, footprint)     # a GetMap picture, placed on the box it asks for
            client = client_for("mapflow")
            client.config.require_token()
        except MapbridgeError as exc:
            self.status.setText(show_error(self.iface, exc))
            return None
        folder, image_id = previews_folder(), str(image.get("id"))

        def job(feedback):
            # Pre-signed: fetched without the token.
            return georeference(client.presigned_picture(url), footprint, folder, f"preview_{image_id}")

        self.status.setText("Fetching the preview…")
        return self.runner.job("Mapbridge: Mapflow preview", job, lambda outcome: self._previewed(name, outcome),
                               client=client, hidden=True)

    def _previewed(self, name, outcome):
        if not outcome.ok:
            self.status.setText(show_error(self.iface, outcome.error))
            return
        layer = QgsRasterLayer(outcome.results, name)
        if not layer.isValid():
            self.status.setText(show_error(self.iface, MapbridgeError("the preview could not be opened",
                                                                      service="mapflow")))
            return
        QgsProject.instance().addMapLayer(layer)
        self.status.setText(f"{name} is on the map.")

    def shutdown(self):
        """Cancel a search, disconnect from the footprints layer and remove the temporary files."""
        self.closed = True
        self.runner.shutdown()
        self.run = None
        self._disconnect_layer()
        shutil.rmtree(self.folder, ignore_errors=True)
