"""Where the link of a layer lives: tables inside the layer's own GeoPackage (it moves with the file), else one
GeoPackage in the plugin's data folder where the layer is known by its source."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from osgeo import gdal
from qgis.core import QgsApplication, QgsDataSourceUri, QgsProviderRegistry

from ..gdal_calls import attempt
from .store import FEATURES, LINKS

DATA_STORE_NAME = "links.gpkg"
OUR_TABLES = {LINKS, FEATURES}


@dataclass(frozen=True)
class Place:
    """A link store (a GeoPackage path) and the name of the layer in it."""

    store_path: str
    source: str
    inside_layer: bool          # True: the layer's own GeoPackage

    def describe(self):
        """Where the link is kept, for the log."""
        if self.inside_layer:
            return f"in the layer's GeoPackage ({self.store_path}, table {LINKS})"
        return f"in the Mapbridge data folder ({self.store_path})"


def data_folder():
    """The plugin's data folder for links of layers that are not GeoPackages."""
    return os.path.join(QgsApplication.qgisSettingsDirPath(), "mapbridge", "sync")


def place_of(layer):
    """The Place of a layer's links; layer: a QgsVectorLayer (or anything with providerType(), source(), id())."""
    provider, source = layer.providerType(), layer.source()
    if provider == "ogr":
        parts = QgsProviderRegistry.instance().decodeUri("ogr", source)
        path = parts.get("path") or ""
        if path.lower().endswith(".gpkg") and os.path.isfile(path) and os.access(path, os.W_OK) \
                and os.access(os.path.dirname(os.path.abspath(path)), os.W_OK):
            table = _gpkg_table(path, parts.get("layerName"), parts.get("layerId"))
            if table and table not in OUR_TABLES:
                return Place(os.path.realpath(path), table, True)
    return Place(os.path.join(data_folder(), DATA_STORE_NAME), source_key(provider, source, layer.id()), False)


def _gpkg_table(path, layer_name, layer_id):
    """The table a GeoPackage layer URI points at, or None when it cannot be told for sure."""
    if layer_name:
        return layer_name
    ds, _ = attempt(gdal.OpenEx, path, gdal.OF_VECTOR | gdal.OF_READONLY)
    if ds is None:
        return None
    if layer_id not in (None, ""):
        layer = ds.GetLayer(int(layer_id))
        return layer.GetName() if layer is not None else None
    names = [ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount())]
    theirs = [name for name in names if name not in OUR_TABLES]
    # Without a layer name QGIS opens the first layer; only a file with one layer of its own is unambiguous.
    return theirs[0] if len(theirs) == 1 else None


def source_key(provider, source, layer_id):
    """How a layer outside a GeoPackage is known in the data-folder store.

    Files by their real path; memory layers (nothing outlives the session) by their layer id; anything else by a
    hash of its URI without user name and password, so no credential reaches the store.
    """
    if provider == "ogr":
        parts = QgsProviderRegistry.instance().decodeUri("ogr", source)
        path = parts.get("path") or ""
        if path and os.path.exists(path):
            name = parts.get("layerName") or (f"#{parts['layerId']}" if parts.get("layerId") not in (None, "")
                                              else "")
            return f"ogr:{os.path.realpath(path)}" + (f"|{name}" if name else "")
    if provider == "memory":
        return f"memory:{layer_id}"
    uri = QgsDataSourceUri(source)
    if uri.password() or uri.username():
        uri.setPassword("")
        uri.setUsername("")
        source = uri.uri(False)
    return f"{provider}:sha256:{hashlib.sha256(source.encode('utf-8')).hexdigest()}"
