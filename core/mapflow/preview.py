"""A preview picture (PNG/JPEG) put on the map: its corners are the footprint's, warped into a GeoTIFF by GDAL."""

from __future__ import annotations

import os

from osgeo import gdal
from qgis.core import QgsGeometry

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
