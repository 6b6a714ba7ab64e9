"""Tile layers of Mapflow: a processing's results (vector tiles) and imagery (raster tiles), mosaics, previews and
custom XYZ/TMS/Quadkey URLs. Tile URLs are loaded without credentials; their TileJSON (with the token) gives the
extent."""

from __future__ import annotations

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsDataSourceUri,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorTileLayer,
)

from .models import number

# Zooms of result vector tiles (the notes: about 14–25) and of imagery tiles.
VECTOR_ZOOMS = (14, 25)
RASTER_ZOOMS = (0, 21)


def xyz_uri(url, zmin, zmax, kind="XYZ", authcfg=""):
    """A QGIS 'xyz' data source URI of a tile URL (a login through a QGIS authentication configuration); TMS counts
    rows from the south ({-y}); Quadkey URLs use {q} as they are."""
    if kind.upper() == "TMS":
        url = url.replace("{y}", "{-y}")
    uri = QgsDataSourceUri()
    uri.setParam("type", "xyz")
    uri.setParam("url", url)
    uri.setParam("zmin", str(int(zmin)))
    uri.setParam("zmax", str(int(zmax)))
    if authcfg:
        uri.setAuthConfigId(authcfg)
    return bytes(uri.encodedUri()).decode("utf-8")


def raster_tiles_layer(url, name, zooms=RASTER_ZOOMS, kind="XYZ", authcfg=""):
    """A raster layer of XYZ/TMS/Quadkey tiles."""
    return QgsRasterLayer(xyz_uri(url, zooms[0], zooms[1], kind, authcfg), name, "wms")


def vector_tiles_layer(url, name, zooms=VECTOR_ZOOMS):
    """A vector tile layer of XYZ tiles."""
    return QgsVectorTileLayer(xyz_uri(url, zooms[0], zooms[1]), name)


def tile_json_zooms(tile_json, default):
    """(minzoom, maxzoom) of a TileJSON, or the default."""
    tile_json = tile_json if isinstance(tile_json, dict) else {}
    low, high = number(tile_json.get("minzoom")), number(tile_json.get("maxzoom"))
    return (int(low) if low is not None else default[0], int(high) if high is not None else default[1])


def tile_json_extent(tile_json, crs):
    """The TileJSON `bounds` [minLon, minLat, maxLon, maxLat] as an extent in the layer's CRS, or None."""
    bounds = (tile_json or {}).get("bounds") if isinstance(tile_json, dict) else None
    if not isinstance(bounds, list) or len(bounds) != 4 or any(number(b) is None for b in bounds):
        return None
    west, south, east, north = (number(b) for b in bounds)
    rectangle = QgsRectangle(west, max(-85.05, south), east, min(85.05, north))
    transform = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"), crs, QgsProject.instance())
    return transform.transformBoundingBox(rectangle)


def with_extent(layer, tile_json):
    """Give a tile layer the extent of its TileJSON (so 'Zoom to layer' goes there); returns the layer."""
    extent = tile_json_extent(tile_json, layer.crs() if layer.crs().isValid()
                              else QgsCoordinateReferenceSystem("EPSG:3857"))
    if extent is not None and not extent.isEmpty():
        layer.setExtent(extent)
    return layer


def processing_layers(processing):
    """((raster tileUrl, tileJsonUrl), (vector tileUrl, tileJsonUrl)) of a processing; '' where missing."""
    def urls(key):
        layer = processing.get(key) if isinstance(processing.get(key), dict) else {}
        return str(layer.get("tileUrl") or ""), str(layer.get("tileJsonUrl") or "")

    return urls("rasterLayer"), urls("vectorLayer")
