"""Results into the project: loaded once (a second load selects the layers), one layer per geometry type, offered
instead of loaded when another QGIS project is open, viewed as tiles, and a processing's AOI as a layer."""

from __future__ import annotations

from qgis.core import Qgis, QgsFeature, QgsProject, QgsVectorLayer
from qgis.gui import QgsMessageBarItem
from qgis.PyQt.QtCore import QObject, pyqtSignal
from qgis.PyQt.QtWidgets import QPushButton

from ...api.errors import MapbridgeError
from ...core.log import TAG
from ...core.mapflow import project_layers, tiles
from ...core.mapflow.catalog import geometry_of
from ...core.mapflow.manage import aoi_geometries
from ...core.mapflow.style import apply_default_style
from ...core.mapflow.tracked import TrackedProcessings
from ...core.qgis_compat import geometry_type
from ...core.service_factory import client_for
from ..background import BackgroundRunner
from ..notify import show_error, show_message, show_success


class ResultLoader(QObject):
    """Loads results and tiles of processings into the project; `status` tells the page what happened."""

    status = pyqtSignal(str)

    def __init__(self, iface, output_path, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.output_path = output_path   # (name, suffix) -> a new GeoPackage path
        self.runner = BackgroundRunner(self)
        self.loading = {}   # processing id -> Run
        self.offered = {}   # processing id -> message bar item
        self.store = TrackedProcessings()

    # -- results -----------------------------------------------------------------------------------
    def select(self, layers):
        """Make the layers current in the layer panel (the first one active)."""
        if not layers:
            return
        self.iface.setActiveLayer(layers[0])
        view = self.iface.layerTreeView() if hasattr(self.iface, "layerTreeView") else None
        if view is not None:
            view.setCurrentLayer(layers[0])

    def load(self, processing_id, name):
        """Load a processing's result, or select it when it is in the project already; returns the Run or None."""
        existing = project_layers.find(processing_id)
        if existing:
            self.select(existing)
            self._done(processing_id)
            self.status.emit(f"'{name}' is already in the project; its layer is selected.")
            return None
        if processing_id in self.loading:
            return self.loading[processing_id]
        try:
            params = {"PROCESSING_ID": processing_id, "OUTPUT": self.output_path(name, f"_{processing_id[:8]}")}
            run = self.runner.algorithm("mapbridge:mapflow_results", params, f"Mapflow results: {name}",
                                        lambda outcome: self._loaded(processing_id, name, outcome))
        except MapbridgeError as exc:
            self.status.emit(show_error(self.iface, exc))
            return None
        self.loading[processing_id] = run
        self.status.emit(f"Loading the results of '{name}'…")
        return run

    def _loaded(self, processing_id, name, outcome):
        self.loading.pop(processing_id, None)
        if not outcome.ok:
            self.status.emit(show_error(self.iface, outcome.error))
            return
        self.add_layers(outcome.results.get("LAYERS") or [outcome.results.get("OUTPUT")], name, processing_id)

    def add_layers(self, sources, name, processing_id):
        """Add written result layers (one per geometry type) styled and tagged; returns them."""
        sources = [s for s in sources or [] if s]
        existing = project_layers.find(processing_id) if processing_id else []
        if existing:
            self.select(existing)
            self._done(processing_id, sources[0] if sources else "")
            return existing
        layers = []
        for source in sources:
            layer = QgsVectorLayer(source, name or "Mapflow result", "ogr")
            if not layer.isValid():
                show_error(self.iface, MapbridgeError(f"the result {source} could not be opened", service="mapflow"))
                continue
            if len(sources) > 1:
                kind = {geometry_type("Polygon"): "polygons", geometry_type("Line"): "lines",
                        geometry_type("Point"): "points"}.get(layer.geometryType(), "features")
                layer.setName(f"{name} ({kind})")
            apply_default_style(layer)
            if processing_id:
                project_layers.tag(layer, processing_id)
            layers.append(layer)
        if not layers:
            return []
        QgsProject.instance().addMapLayers(layers)
        self._done(processing_id, sources[0])
        count = sum(layer.featureCount() for layer in layers)
        self.status.emit(show_success(self.iface, f"Mapflow result '{name}' loaded: {count} features"
                                      + (f" in {len(layers)} layers." if len(layers) > 1 else ".")))
        return layers

    def _done(self, processing_id, output=""):
        item = self.offered.pop(processing_id, None)
        if item is not None:
            try:
                self.iface.messageBar().popWidget(item)
            except RuntimeError:
                pass  # closed by the user already
        if processing_id and self.store.get(processing_id) is not None:
            values = {"loaded": True}
            if output:
                values["output"] = output
            self.store.upsert(processing_id, **values)

    def offer(self, row, sources=None):
        """A result finished while another project is open: say so and offer to load it here (once a session).

        sources: the layers a run has written already (added as they are), else the result is downloaded."""
        processing_id = row["id"]
        if processing_id in self.offered:
            return
        name = row.get("name") or processing_id
        text = f"Mapflow processing '{name}' has finished (started from another QGIS project)."
        # No parent: the bar takes the item over (an item made with the bar as parent hangs pushItem on QGIS 3.22).
        item = QgsMessageBarItem(TAG, text, Qgis.MessageLevel.Info, 0)
        button = QPushButton("Load into this project", item)
        button.setObjectName("mapflow_offer_load")
        if sources:
            button.clicked.connect(lambda: self.add_layers(sources, name, processing_id))
        else:
            button.clicked.connect(lambda: self.load(processing_id, name))
        item.layout().addWidget(button)
        self.iface.messageBar().pushItem(item)
        self.offered[processing_id] = item
        self.status.emit(text)

    # -- tiles -------------------------------------------------------------------------------------
    def view_tiles(self, processing):
        """Add the processing's result vector tiles and the imagery it ran on as layers (nothing downloaded)."""
        processing_id = str(processing.get("id"))
        existing = project_layers.find(processing_id, project_layers.TILES)
        if existing:
            self.select(existing)
            self.status.emit("The tiles of this processing are in the project already; selected.")
            return None
        (raster_url, raster_json), (vector_url, vector_json) = tiles.processing_layers(processing)
        if not vector_url and not raster_url:
            self.status.emit(show_error(self.iface, MapbridgeError(
                "the service gave no tiles for this processing", service="mapflow",
                hint="Load its results instead")))
            return None
        try:
            client = client_for("mapflow")
            client.config.require_token()
        except MapbridgeError as exc:
            self.status.emit(show_error(self.iface, exc))
            return None

        def job(feedback):
            # TileJSON (with the token) for the extent; a missing one only costs the extent.
            found = {}
            for key, url in (("raster", raster_json), ("vector", vector_json)):
                try:
                    found[key] = client.tile_json(url) if url else {}
                except MapbridgeError:
                    found[key] = {}
            return found

        name = processing.get("name") or processing_id
        return self.runner.job("Mapbridge: Mapflow tiles", job,
                               lambda outcome: self._tiles_read(processing_id, name, raster_url, vector_url, outcome),
                               client=client, hidden=True)

    def _tiles_read(self, processing_id, name, raster_url, vector_url, outcome):
        if not outcome.ok:
            self.status.emit(show_error(self.iface, outcome.error))
            return
        layers = []
        if raster_url:
            raster = tiles.raster_tiles_layer(raster_url, f"{name} (imagery tiles)",
                                              tiles.tile_json_zooms(outcome.results["raster"], tiles.RASTER_ZOOMS))
            layers.append(tiles.with_extent(raster, outcome.results["raster"]))
        if vector_url:
            vector = tiles.vector_tiles_layer(vector_url, f"{name} (result tiles)",
                                              tiles.tile_json_zooms(outcome.results["vector"], tiles.VECTOR_ZOOMS))
            layers.append(tiles.with_extent(vector, outcome.results["vector"]))
        layers = [layer for layer in layers if layer.isValid()]
        for layer in layers:
            project_layers.tag(layer, processing_id, project_layers.TILES)
        QgsProject.instance().addMapLayers(layers)
        if layers and not layers[-1].extent().isEmpty():
            self.iface.mapCanvas().setExtent(self.iface.mapCanvas().mapSettings().layerExtentToOutputExtent(
                layers[-1], layers[-1].extent()))
        self.status.emit(show_message(self.iface, f"Tiles of '{name}' added ({len(layers)} layers)."))

    # -- the AOI -----------------------------------------------------------------------------------
    def add_aoi(self, processing_id, name):
        """Add a processing's AOI as a memory layer."""
        try:
            client = client_for("mapflow")
            client.config.require_token()
        except MapbridgeError as exc:
            self.status.emit(show_error(self.iface, exc))
            return None
        return self.runner.job("Mapbridge: Mapflow AOI", lambda feedback: aoi_geometries(client, processing_id),
                               lambda outcome: self._aoi_read(processing_id, name, outcome), client=client,
                               hidden=True)

    def _aoi_read(self, processing_id, name, outcome):
        if not outcome.ok:
            self.status.emit(show_error(self.iface, outcome.error))
            return
        layer = QgsVectorLayer("MultiPolygon?crs=EPSG:4326&field=processing:string", f"{name} (AOI)", "memory")
        features = []
        for geometry in outcome.results:
            feature = QgsFeature(layer.fields())
            feature.setGeometry(geometry_of(geometry))
            feature.setAttribute(0, processing_id)
            features.append(feature)
        layer.dataProvider().addFeatures(features)
        layer.updateExtents()
        project_layers.tag(layer, processing_id, project_layers.AOI)
        QgsProject.instance().addMapLayer(layer)
        self.status.emit(f"The AOI of '{name}' was added as a layer.")

    def shutdown(self):
        """Cancel the loads (they end in the background) and drop the offers."""
        self.runner.shutdown()
        self.loading = {}
        for item in list(self.offered.values()):
            try:
                self.iface.messageBar().popWidget(item)
            except RuntimeError:
                pass
        self.offered = {}
