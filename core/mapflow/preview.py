"""A preview picture (PNG/JPEG) put on the map: its corners are the footprint's, warped into a GeoTIFF by GDAL.
A WMS preview is one more picture: its GetMap URL is fetched as it is and placed on the box it asked for."""

from __future__ import annotations

import os

from osgeo import gdal
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCoordinateTransformContext,
    QgsCsException,
    QgsGeometry,
    QgsRectangle,
)

from ...api.errors import MapbridgeError
from ..gdal_calls import attempt

MAPFLOW = "mapflow"
EXTENSIONS = {b"\x89PNG": ".png", b"\xff\xd8\xff": ".jpg"}


def footprint_geometry(footprint):
    """A WGS84 QgsGeometry from a footprint given as WKT or a GeoJSON dict; None when there is none."""
    if isinstance(footprint, str) and footprint.strip():
        geometry = QgsGeometry.fromWkt(footprint)
        return geometry if not geometry.isNull() and not geometry.isEmpty() else None
    if isinstance(footprint, dict):
        from .catalog import geometry_of

        geometry = geometry_of(footprint)
        return geometry if not geometry.isEmpty() else None
    return None


def corners(geometry):
    """The footprint's corners NW, NE, SE, SW: the ring's own four when it has four, else the ring's points nearest
    to the corners of its bounding box."""
    polygon = geometry.asMultiPolygon()[0] if geometry.isMultipart() else geometry.asPolygon()
    ring = polygon[0][:-1] if polygon and polygon[0] else []
    if len(ring) < 4:
        raise MapbridgeError("the footprint has no four corners, so the preview cannot be placed", service=MAPFLOW)
    box = geometry.boundingBox()
    targets = ((box.xMinimum(), box.yMaximum()), (box.xMaximum(), box.yMaximum()),
               (box.xMaximum(), box.yMinimum()), (box.xMinimum(), box.yMinimum()))
    if len(ring) == 4:
        # The service lists them NW, NE, SE, SW; rotate the ring so it starts at the point nearest NW.
        start = min(range(4), key=lambda i: (ring[i].x() - targets[0][0]) ** 2 + (ring[i].y() - targets[0][1]) ** 2)
        ordered = ring[start:] + ring[:start]
        if (ordered[1].x() - ordered[3].x()) < 0:   # listed counter-clockwise: NW, SW, SE, NE
            ordered = [ordered[0], ordered[3], ordered[2], ordered[1]]
        return [(p.x(), p.y()) for p in ordered]
    return [min(((p.x(), p.y()) for p in ring), key=lambda p, t=t: (p[0] - t[0]) ** 2 + (p[1] - t[1]) ** 2)
            for t in targets]


def georeference(picture, footprint, folder, name):
    """Write the picture bytes and a GeoTIFF (EPSG:4326, transparent outside) placed on the footprint's corners;
    returns the GeoTIFF path."""
    geometry = footprint_geometry(footprint)
    if geometry is None:
        raise MapbridgeError("the image has no footprint, so its preview cannot be placed on the map",
                             service=MAPFLOW)
    extension = next((ext for magic, ext in EXTENSIONS.items() if picture.startswith(magic)), None)
    if extension is None:
        raise MapbridgeError("the preview is not a PNG or JPEG picture", service=MAPFLOW)
    os.makedirs(folder, exist_ok=True)
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60] or "preview"
    source = os.path.join(folder, f"{stem}{extension}")
    with open(source, "wb") as out:
        out.write(picture)
    dataset, error = attempt(gdal.Open, source)
    if dataset is None:
        raise MapbridgeError("the preview picture cannot be read", service=MAPFLOW, details=error)
    width, height = dataset.RasterXSize, dataset.RasterYSize
    dataset = None
    nw, ne, se, sw = corners(geometry)
    gcps = [gdal.GCP(nw[0], nw[1], 0, 0, 0), gdal.GCP(ne[0], ne[1], 0, width, 0),
            gdal.GCP(se[0], se[1], 0, width, height), gdal.GCP(sw[0], sw[1], 0, 0, height)]
    placed = os.path.join(folder, f"{stem}_gcp.vrt")
    result, error = attempt(gdal.Translate, placed, source,
                            options=gdal.TranslateOptions(format="VRT", GCPs=gcps, outputSRS="EPSG:4326"))
    if result is None:
        raise MapbridgeError("the preview could not be placed on its footprint", service=MAPFLOW, details=error)
    result = None
    target = os.path.join(folder, f"{stem}.tif")
    warped, error = attempt(gdal.Warp, target, placed,
                            options=gdal.WarpOptions(format="GTiff", dstSRS="EPSG:4326", dstAlpha=True,
                                                     polynomialOrder=1))
    if warped is None:
        raise MapbridgeError("the preview could not be warped onto its footprint", service=MAPFLOW, details=error)
    warped = None
    return target


WMS_PICTURE_SIDE = 1024         # the longer side of a GetMap picture Mapbridge completes itself


def wms_picture(url, footprint):
    """(GetMap URL to fetch, WGS84 WKT box the picture covers) of a "wms" preview URL.

    Assumption (the notes only list "wms" among preview types): previewUrl is a WMS GetMap URL naming the image's
    layer, pre-signed like the picture previews. A complete one is fetched byte for byte (a signature stays valid);
    one without BBOX, WIDTH or HEIGHT gets them (and the other GetMap keys it lacks) for the image's footprint.
    """
    from urllib.parse import parse_qsl, urlencode, urlsplit

    query = {key.upper(): value for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    if not query.get("LAYERS"):
        raise MapbridgeError("this image's WMS preview names no layer, so it cannot be shown", service=MAPFLOW,
                             hint="Preview another image of the search")
    if query.get("BBOX") and query.get("WIDTH") and query.get("HEIGHT"):
        return url, _wms_box(query)
    geometry = footprint_geometry(footprint)
    if geometry is None:
        raise MapbridgeError("the image has no footprint, so its preview cannot be placed on the map",
                             service=MAPFLOW)
    box = geometry.boundingBox()
    wide = box.width() >= box.height()
    short = max(1, round(WMS_PICTURE_SIDE * (min(box.width(), box.height()) / max(box.width(), box.height(), 1e-12))))
    added = {"SERVICE": "WMS", "REQUEST": "GetMap", "VERSION": "1.3.0", "STYLES": "", "FORMAT": "image/png",
             "CRS": "EPSG:4326",        # WMS 1.3.0 and EPSG:4326: latitude first
             "BBOX": f"{box.yMinimum()},{box.xMinimum()},{box.yMaximum()},{box.xMaximum()}",
             "WIDTH": str(WMS_PICTURE_SIDE if wide else short), "HEIGHT": str(short if wide else WMS_PICTURE_SIDE)}
    if query.get("SRS") or query.get("CRS"):
        added = {k: v for k, v in added.items() if k not in ("CRS", "BBOX", "VERSION")}
        added["BBOX"] = _bbox_in(query, box)
    missing = urlencode([(key, value) for key, value in added.items() if key not in query])
    completed = url + ("&" if urlsplit(url).query else "?") + missing if missing else url
    return completed, box.asWktPolygon()


def _wms_crs(query):
    """(CRS name, QgsCoordinateReferenceSystem, whether BBOX has its axes swapped) of a GetMap request: WMS 1.3.0
    writes a box in the CRS's own axis order (latitude first for EPSG:4326), 1.1.x and CRS:84 always x, y."""
    name = query.get("CRS") or query.get("SRS") or "EPSG:4326"
    lon_lat = name.upper() == "CRS:84"
    crs = QgsCoordinateReferenceSystem("EPSG:4326" if lon_lat else name)
    if not crs.isValid():
        raise MapbridgeError(f"this image's WMS preview is in the coordinate system {name}, which QGIS does not know",
                             service=MAPFLOW, hint="Preview another image of the search")
    swapped = not lon_lat and "CRS" in query and not str(query.get("VERSION", "1.3.0")).startswith("1.1") \
        and crs.hasAxisInverted()
    return name, crs, swapped


def _wms_box(query):
    """The WGS84 WKT box of a GetMap request's BBOX (in its CRS and axis order)."""
    name, crs, swapped = _wms_crs(query)
    try:
        a, b, c, d = (float(v) for v in query["BBOX"].split(","))
    except ValueError:
        raise MapbridgeError(f"this image's WMS preview has an unreadable BBOX ({query['BBOX'][:80]})",
                             service=MAPFLOW, hint="Preview another image of the search") from None
    if swapped:
        a, b, c, d = b, a, d, c
    box = QgsRectangle(a, b, c, d)
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    if crs != wgs84:
        try:
            box = QgsCoordinateTransform(crs, wgs84, QgsCoordinateTransformContext()).transformBoundingBox(box)
        except QgsCsException:
            raise MapbridgeError(f"this image's WMS preview box cannot be placed from {name}", service=MAPFLOW,
                                 hint="Preview another image of the search") from None
    return box.asWktPolygon()


def _bbox_in(query, box):
    """The footprint's WGS84 box written for a GetMap in the URL's own CRS and axis order."""
    _, crs, swapped = _wms_crs(query)
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    if crs != wgs84:
        box = QgsCoordinateTransform(wgs84, crs, QgsCoordinateTransformContext()).transformBoundingBox(box)
    values = (box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum())
    if swapped:
        values = (values[1], values[0], values[3], values[2])
    return ",".join(repr(v) for v in values)
