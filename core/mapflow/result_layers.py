"""Results that mix polygons, lines and points: one layer per geometry type (a GeoPackage gets one layer each, other
formats one file each), written with GDAL from the downloaded GeoJSON."""

from __future__ import annotations

import os

from osgeo import gdal

from ...api.errors import CancelledError, MapbridgeError
from ..gdal_calls import attempt

# (name, OGR geometry type names of the group, the type written)
GROUPS = (("polygons", ("POLYGON", "MULTIPOLYGON"), "MULTIPOLYGON"),
          ("lines", ("LINESTRING", "MULTILINESTRING"), "MULTILINESTRING"),
          ("points", ("POINT", "MULTIPOINT"), "MULTIPOINT"))


def _where(kinds):
    return "OGR_GEOMETRY IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"


def geometry_groups(result):
    """[(group name, where clause, written type, count)] when a result mixes kinds of geometry, else [].

    `result` is a core.mapflow.result.ResultFile; a file with one declared geometry type is not scanned."""
    if result.geometry_type is None or result.count == 0:
        return []
    layer = result.dataset.GetLayer(0)
    groups = []
    try:
        for name, kinds, written in GROUPS:
            layer.SetAttributeFilter(_where(kinds))
            count = layer.GetFeatureCount()
            if count:
                groups.append((name, _where(kinds), written, count))
    finally:
        layer.SetAttributeFilter(None)
        layer.ResetReading()
    return groups if len(groups) > 1 else []


def group_destination(destination, driver, group):
    """Where a group goes: a layer of the GeoPackage, or a sibling file named after the group."""
    stem, extension = os.path.splitext(destination)
    base = os.path.basename(stem) or "mapflow_result"
    if driver == "GPKG":
        return destination, f"{base}_{group}"
    return f"{stem}_{group}{extension}", f"{base}_{group}"


def layer_uri(path, layer_name, driver):
    """The QGIS source of one written group."""
    return f"{path}|layername={layer_name}" if driver == "GPKG" else path


def write_groups(dataset, destination, driver, groups, feedback):
    """Write each group as its own layer; returns [(group name, QGIS source, count)] (polygons first)."""
    written, first_in_file = [], True
    for name, where, geometry_type, count in groups:
        if feedback.isCanceled():
            raise CancelledError("Writing the result was cancelled; the output is incomplete")
        path, layer_name = group_destination(destination, driver, name)
        shared = driver == "GPKG" and not first_in_file
        if not shared:
            replace_output(path, driver)
        options = gdal.VectorTranslateOptions(format=driver, layerName=layer_name, geometryType=geometry_type,
                                              where=where, accessMode="update" if shared else None)
        result, error = attempt(gdal.VectorTranslate, path, dataset, options=options)
        ok = result is not None
        result = None   # close and flush
        if not ok:
            raise MapbridgeError(f"the {name} of the result could not be written to {path}: {error}",
                                 hint="Check the output path, its format and the free disk space")
        first_in_file = False
        written.append((name, layer_uri(path, layer_name, driver), count))
    return written


def replace_output(path, driver):
    """Remove an existing output before writing it anew."""
    if not os.path.exists(path):
        return
    existing = gdal.GetDriverByName(driver)
    if existing is None or attempt(existing.Delete, path)[1] is not None:
        try:
            os.remove(path)
        except OSError as exc:
            raise MapbridgeError(f"the output {path} exists and cannot be replaced: {exc.strerror}",
                                 hint="Close it in other programs or choose another file") from None
