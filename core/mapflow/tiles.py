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


# What a GetMap URL carries that QGIS's WMS provider sets itself; any other parameter (a signature) stays in the URL.
WMS_REQUEST_KEYS = {"SERVICE", "REQUEST", "VERSION", "LAYERS", "STYLES", "FORMAT", "CRS", "SRS", "BBOX", "WIDTH",
                    "HEIGHT", "TRANSPARENT", "EXCEPTIONS", "BGCOLOR", "DPI", "MAP_RESOLUTION", "FORMAT_OPTIONS"}


def wms_uri(url):
    """A QGIS 'wms' data source URI of a WMS GetMap URL (its LAYERS, STYLES, FORMAT and CRS), or None when the URL
    names no layer. Assumption: the catalog's "wms" previewUrl is such a GetMap URL (the notes say no more)."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    wms = {key.upper(): value for key, value in pairs if key.upper() in WMS_REQUEST_KEYS}
    if not wms.get("LAYERS"):
        return None
    kept = [(key, value) for key, value in pairs if key.upper() not in WMS_REQUEST_KEYS]
    endpoint = urlunsplit(parts._replace(query=urlencode(kept), fragment=""))
    uri = QgsDataSourceUri()
    uri.setParam("url", endpoint)
    uri.setParam("crs", wms.get("CRS") or wms.get("SRS") or "EPSG:4326")
    uri.setParam("format", wms.get("FORMAT") or "image/png")
    layers = wms["LAYERS"].split(",")
    styles = (wms.get("STYLES", "").split(",") + [""] * len(layers))[:len(layers)]
    for layer, style in zip(layers, styles):
        uri.setParam("layers", layer)       # each call adds one more entry, as QGIS writes several layers
        uri.setParam("styles", style)
    return bytes(uri.encodedUri()).decode("utf-8")


def wms_layer(url, name):
    """A raster layer of a WMS GetMap URL, or None when the URL names no layer (QGIS reads the capabilities)."""
    uri = wms_uri(url)
    return QgsRasterLayer(uri, name, "wms") if uri else None


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
