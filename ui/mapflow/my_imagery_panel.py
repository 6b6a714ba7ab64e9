"""My imagery: the user's mosaics and images (browse, create, rename, delete), uploads with the service's checks and
progress, the storage bar, previews and tiles on the map, and a mosaic or image handed to the processing."""

from __future__ import annotations

import os

from qgis.core import QgsProject, QgsRasterLayer
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtGui import QFont
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...api.errors import MapbridgeError
from ...core.mapflow import tiles
from ...core.mapflow.my_imagery import browse, size_text
from ...core.mapflow.preview import georeference
from ...core.mapflow.sources import my_imagery_source
from ...core.mapflow.upload import upload_many
from ...core.output_folders import default_output_folder
from ...core.service_factory import client_for
from ..background import BackgroundRunner
from ..notify import show_error, show_success
from .layout import button_grid, wrapped_label

KIND_ROLE = Qt.ItemDataRole.UserRole + 1
OBJECT_ROLE = Qt.ItemDataRole.UserRole + 2
MOSAIC, IMAGE = "mosaic", "image"


class MyImageryPanel(QWidget):
    """Tree of mosaics and their images, buttons, storage bar and upload progress."""

    source_chosen = pyqtSignal(object)   # a My imagery Source

    def __init__(self, iface, asker, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.asker = asker
        self.runner = BackgroundRunner(self)
        self.mosaics = []
        self.storage = None
        self.upload_run = None
        self.loaded = False
        self._build()

    def _build(self):
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.storage_bar = QProgressBar(self)
        self.storage_bar.setObjectName("mapflow_storage")
        self.storage_bar.setRange(0, 100)
        self.storage_bar.setTextVisible(True)
        self.storage_bar.setFormat("Storage unknown")
        layout.addWidget(self.storage_bar)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("mapflow_my_imagery")
        self.tree.setHeaderLabels(["Name", "Size", "Date"])
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setMinimumHeight(180)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.tree, 1)
        self.new_button = QPushButton("New mosaic…", self)
        self.upload_button = QPushButton("Upload…", self)
        self.rename_button = QPushButton("Rename…", self)
        self.delete_button = QPushButton("Delete…", self)
        self.preview_button = QPushButton("Preview", self)
        self.tiles_button = QPushButton("Add tiles", self)
        self.process_button = QPushButton("Process", self)
        self.refresh_button = QPushButton("Refresh", self)
        self.upload_button.setToolTip("Upload GeoTIFF files into the selected mosaic (or a new one); they are "
                                      "checked first like the service does")
        self.preview_button.setToolTip("Put the selected image's preview on the map")
        self.tiles_button.setToolTip("Add the selected mosaic as a tile layer")
        self.process_button.setToolTip("Use the selected mosaic or images as the imagery of a new processing")
        self.buttons = [self.new_button, self.upload_button, self.rename_button, self.delete_button,
                        self.preview_button, self.tiles_button, self.process_button, self.refresh_button]
        for button in self.buttons:
            button.setObjectName(f"mapflow_imagery_{button.text().split('…')[0].split()[0].lower()}")
        layout.addWidget(button_grid(self.buttons, self, columns=3))
        self.progress = QProgressBar(self)
        self.progress.setObjectName("mapflow_upload_progress")
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel the upload", self)
        self.cancel_button.setVisible(False)
        layout.addWidget(self.progress)
        layout.addWidget(self.cancel_button)
        self.status = wrapped_label("", self, "mapflow_imagery_status")
        layout.addWidget(self.status)
        self.new_button.clicked.connect(self.new_mosaic)
        self.upload_button.clicked.connect(lambda: self.upload())
        self.rename_button.clicked.connect(self.rename)
        self.delete_button.clicked.connect(self.delete)
        self.preview_button.clicked.connect(self.preview)
        self.tiles_button.clicked.connect(self.add_tiles)
        self.process_button.clicked.connect(self.process)
        self.refresh_button.clicked.connect(self.refresh)
        self.cancel_button.clicked.connect(lambda: self.upload_run.cancel() if self.upload_run else None)
        self.tree.itemSelectionChanged.connect(self._enable)
        self._enable()

    # -- reading --------------------------------------------------------------------------------
    def _client(self):
        try:
            client = client_for("mapflow")
            client.config.require_token()
        except MapbridgeError as exc:
            self.status.setText(show_error(self.iface, exc))
            return None
        return client

    def _job(self, description, job, done, **kwargs):
        client = self._client()
        if client is None:
            return None
        self.status.setText(f"{description}…")
        return self.runner.job(f"Mapbridge: {description}", lambda feedback: job(client, feedback), done,
                               client=client, **kwargs)

    def refresh(self, message=""):
        """Read the mosaics, their images and the storage; `message` is shown after (else the counts)."""
        self.loaded = True
        return self._job("Reading My imagery", browse, lambda outcome: self._browsed(outcome, message), hidden=True)

    def _browsed(self, outcome, message=""):
        if not outcome.ok:
            self.status.setText(show_error(self.iface, outcome.error))
            return
        self.mosaics, self.storage = outcome.results
        selected = {(item.data(0, KIND_ROLE), item.data(0, OBJECT_ROLE).id) for item in self.tree.selectedItems()}
        self.tree.clear()
        bold = QFont()
        bold.setBold(True)
        for mosaic in self.mosaics:
            top = QTreeWidgetItem([mosaic.name, size_text(mosaic.total_size()), mosaic.created[:10]])
            top.setData(0, KIND_ROLE, MOSAIC)
            top.setData(0, OBJECT_ROLE, mosaic)
            top.setFont(0, bold)
            top.setToolTip(0, f"{mosaic.name}\n{len(mosaic.images)} image(s); tags: {', '.join(mosaic.tags) or '—'}"
                              f"\nId: {mosaic.id}")
            for image in mosaic.images:
                child = QTreeWidgetItem([image.name, size_text(image.size), image.uploaded[:10]])
                child.setData(0, KIND_ROLE, IMAGE)
                child.setData(0, OBJECT_ROLE, image)
                facts = [image.crs, f"{image.bands} bands" if image.bands else "",
                         f"{image.width}×{image.height} px" if image.width else "", image.resolution_text(),
                         "footprint known" if image.footprint_wkt else "no footprint"]
                child.setToolTip(0, f"{image.name}\n" + ", ".join(f for f in facts if f) + f"\nId: {image.id}")
                top.addChild(child)
            self.tree.addTopLevelItem(top)
            top.setExpanded(True)
        for item in self._items():
            if (item.data(0, KIND_ROLE), item.data(0, OBJECT_ROLE).id) in selected:
                item.setSelected(True)
        self._show_storage()
        count = sum(len(m.images) for m in self.mosaics)
        self.status.setText(message or (f"{len(self.mosaics)} mosaic(s), {count} image(s)." if self.mosaics
                                        else "No imagery yet: create a mosaic and upload GeoTIFFs."))
        self._enable()

    def _items(self):
        for index in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(index)
            yield top
            for child in range(top.childCount()):
                yield top.child(child)

    def _show_storage(self):
        storage = self.storage
        percent = storage.percent_used() if storage else None
        self.storage_bar.setValue(int(round(percent)) if percent is not None else 0)
        self.storage_bar.setFormat(storage.text() if storage else "Storage unknown")
        self.storage_bar.setToolTip("Mapflow storage of your uploaded imagery")

    def selected(self):
        """[(kind, Mosaic or Image)] of the selected items."""
        return [(item.data(0, KIND_ROLE), item.data(0, OBJECT_ROLE)) for item in self.tree.selectedItems()]

    def select(self, kind, object_id):
        """Select one mosaic or image by id; True when found."""
        self.tree.clearSelection()
        for item in self._items():
            if item.data(0, KIND_ROLE) == kind and item.data(0, OBJECT_ROLE).id == object_id:
                item.setSelected(True)
                return True
        return False

    def _enable(self):
        chosen = self.selected()
        kinds = {kind for kind, _ in chosen}
        one = len(chosen) == 1
        self.rename_button.setEnabled(one)
        self.delete_button.setEnabled(bool(chosen))
        self.preview_button.setEnabled(one and kinds == {IMAGE})
        self.tiles_button.setEnabled(one and kinds == {MOSAIC})
        self.process_button.setEnabled(bool(chosen) and (one or kinds == {IMAGE}))
        self.upload_button.setEnabled(self.upload_run is None or not self.upload_run.busy)

    # -- managing -------------------------------------------------------------------------------
    def new_mosaic(self):
        """Create an empty mosaic."""
        name = self.asker.text("New mosaic", "Name of the new mosaic:")
        if not name:
            return None
        return self._job("Creating the mosaic", lambda client, feedback: client.create_mosaic(name),
                         self._changed)

    def _changed(self, outcome):
        self.refresh(show_error(self.iface, outcome.error) if not outcome.ok else "")

    def rename(self):
        """Rename the selected mosaic or image."""
        chosen = self.selected()
        if len(chosen) != 1:
            return None
        kind, thing = chosen[0]
        name = self.asker.text(f"Rename the {kind}", "New name:", thing.name)
        if not name or name == thing.name:
            return None
        if kind == MOSAIC:
            return self._job("Renaming the mosaic",
                             lambda client, feedback: client.update_mosaic(thing.id, name=name), self._changed)
        return self._job("Renaming the image", lambda client, feedback: client.rename_image(thing.id, name),
                         self._changed)

    def delete(self):
        """Delete the selected mosaics (with their images) or images, after asking."""
        chosen = self.selected()
        if not chosen:
            return None
        mosaics = [t for k, t in chosen if k == MOSAIC]
        images = [t for k, t in chosen if k == IMAGE and t.mosaic_id not in {m.id for m in mosaics}]
        words = []
        if mosaics:
            words.append(f"{len(mosaics)} mosaic(s) with all their images ({', '.join(m.name for m in mosaics[:3])})")
        if images:
            words.append(f"{len(images)} image(s) ({', '.join(i.name for i in images[:3])})")
        if not self.asker.yes_no("Delete imagery", f"Delete {' and '.join(words)} on Mapflow? This cannot be undone.",
                                 "Delete", "Keep"):
            return None

        def job(client, feedback):
            for mosaic in mosaics:
                client.delete_mosaic(mosaic.id)
            for image in images:
                client.delete_image(image.id)
            return len(mosaics), len(images)

        return self._job("Deleting imagery", job, self._changed)

    # -- upload ---------------------------------------------------------------------------------
    def upload(self, paths=None):
        """Upload GeoTIFFs into the selected mosaic (or a new one), after the checks, with progress."""
        paths = list(paths) if paths is not None else self.asker.files("Upload GeoTIFFs to Mapflow")
        if not paths:
            return None
        chosen = self.selected()
        mosaic_id, mosaic_name = "", ""
        if len(chosen) == 1:
            kind, thing = chosen[0]
            mosaic_id = thing.id if kind == MOSAIC else thing.mosaic_id
        else:
            mosaic_name = self.asker.text("Upload into a new mosaic", "Name of the new mosaic:",
                                          os.path.splitext(os.path.basename(paths[0]))[0])
            if not mosaic_name:
                return None
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.upload_run = self._job(f"Uploading {len(paths)} file(s)",
                                    lambda client, feedback: upload_many(client, paths, feedback, mosaic_id=mosaic_id,
                                                                         mosaic_name=mosaic_name),
                                    self._uploaded,
                                    on_progress=lambda percent, line: self.progress.setValue(int(percent or 0)))
        self._enable()
        return self.upload_run

    def _uploaded(self, outcome):
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.upload_run = None
        if not outcome.ok:
            message = show_error(self.iface, outcome.error)
        else:
            report = outcome.results
            text = report.summary()
            message = show_success(self.iface, text) if not report.refused and not report.failed \
                else show_error(self.iface, MapbridgeError(text, service="mapflow"))
        self.refresh(message)

    # -- on the map and to the processing -------------------------------------------------------
    def preview(self):
        """Put the selected image's preview on the map, placed on its footprint."""
        chosen = self.selected()
        if len(chosen) != 1 or chosen[0][0] != IMAGE:
            return None
        image = chosen[0][1]
        url = image.preview_large or image.preview_small
        if not url or not image.footprint_wkt:
            self.status.setText("This image has no preview or no footprint to place it on.")
            return None
        folder = os.path.join(default_output_folder("mapflow"), "previews")

        def job(client, feedback):
            # The preview URL is the service's own: fetched with the token.
            return georeference(client.picture(url), image.footprint_wkt, folder, f"image_{image.id}")

        return self._job("Fetching the preview", job, lambda outcome: self._previewed(image.name, outcome),
                         hidden=True)

    def _previewed(self, name, outcome):
        if not outcome.ok:
            self.status.setText(show_error(self.iface, outcome.error))
            return
        layer = QgsRasterLayer(outcome.results, f"Preview of {name}")
        QgsProject.instance().addMapLayer(layer)
        self.status.setText(f"The preview of {name} is on the map.")

    def add_tiles(self):
        """Add the selected mosaic as a tile layer (its TileJSON gives the extent)."""
        chosen = self.selected()
        if len(chosen) != 1 or chosen[0][0] != MOSAIC:
            return None
        mosaic = chosen[0][1]
        if not mosaic.tile_url:
            self.status.setText("The service gives no tiles for this mosaic.")
            return None

        def job(client, feedback):
            try:
                return client.tile_json(mosaic.tile_json_url) if mosaic.tile_json_url else {}
            except MapbridgeError:
                return {}   # tiles without a known extent

        return self._job("Reading the mosaic's tiles", job, lambda outcome: self._tiles(mosaic, outcome),
                         hidden=True)

    def _tiles(self, mosaic, outcome):
        tile_json = outcome.results if outcome.ok else {}
        layer = tiles.raster_tiles_layer(mosaic.tile_url, f"{mosaic.name} (tiles)",
                                         tiles.tile_json_zooms(tile_json, tiles.RASTER_ZOOMS))
        tiles.with_extent(layer, tile_json)
        QgsProject.instance().addMapLayer(layer)
        self.status.setText(f"{mosaic.name} added as tiles.")

    def process(self):
        """Use the selected mosaic, or the selected images, as the imagery of a new processing."""
        chosen = self.selected()
        if not chosen:
            return None
        if len(chosen) == 1 and chosen[0][0] == MOSAIC:
            mosaic = chosen[0][1]
            source = my_imagery_source(mosaic.id, label=f"My imagery: mosaic '{mosaic.name}'")
        else:
            images = [t for k, t in chosen if k == IMAGE]
            names = ", ".join(i.name for i in images[:2]) + ("…" if len(images) > 2 else "")
            source = my_imagery_source("", [i.id for i in images], label=f"My imagery: {names}")
        self.source_chosen.emit(source)
        return source

    def shutdown(self):
        """Cancel the calls and an upload (the upload stops between chunks)."""
        self.runner.shutdown()
