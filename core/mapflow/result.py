"""A processing's result: streamed to a temporary GeoJSON file, then written with GDAL/OGR (or staged for a sink)."""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile

from osgeo import gdal, ogr
from qgis.core import QgsVectorLayer

from ...api.errors import CancelledError, MapbridgeError, ServiceError
from ..gdal_calls import attempt
from .result_layers import replace_output

MAPFLOW = "mapflow"
# Features per transaction when writing a GeoPackage (ogr2ogr's -gt).
GROUP_TRANSACTIONS = 100_000
OGR_MULTI = {
    ogr.wkbPolygon: "MULTIPOLYGON", ogr.wkbMultiPolygon: "MULTIPOLYGON",
    ogr.wkbLineString: "MULTILINESTRING", ogr.wkbMultiLineString: "MULTILINESTRING",
    ogr.wkbPoint: "MULTIPOINT", ogr.wkbMultiPoint: "MULTIPOINT",
}
class ResultDownload:
    """A temporary folder holding a downloaded result; removed by cleanup() (or as a context manager)."""

    def __init__(self, processing_id):
        self.folder = tempfile.mkdtemp(prefix="mapbridge-mapflow-")
        self.path = os.path.join(self.folder, f"result-{_safe(processing_id)}.geojson")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    def cleanup(self):
        """Remove the temporary files."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _safe(text):
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in str(text))[:80]


def download_result(client, processing_id, download, feedback, progress_range=(0.0, 100.0)):
    """GET /processings/{id}/result streamed into download.path; returns the byte size."""
    feedback.pushInfo(f"Downloading the result of processing {processing_id}…")

    def progress(done, total):
        if total and progress_range:
            low, high = progress_range
            feedback.setProgress(low + (high - low) * done / total)

    size = client.download_result(processing_id, download.path, progress=progress, cancelled=feedback.isCanceled)
    feedback.pushInfo(f"Downloaded {size / 1e6:.1f} MB." if size >= 100_000 else f"Downloaded {size / 1e3:.1f} kB.")
    if _is_gzip(download.path):
        size = _gunzip_in_place(download.path, feedback)
    return size


GZIP_MAGIC = b"\x1f\x8b"


def _is_gzip(path):
    with open(path, "rb") as data:
        return data.read(2) == GZIP_MAGIC


def _gunzip_in_place(path, feedback):
    """A result served as a gzip file (not as a compressed transfer): unpacked beside, then put in its place."""
    unpacked = path + ".unpacked"
    try:
        with gzip.open(path, "rb") as source, open(unpacked, "wb") as target:
            while True:
                if feedback.isCanceled():
                    raise CancelledError("Unpacking the result was cancelled")
                chunk = source.read(1024 * 1024)
                if not chunk:
                    break
                target.write(chunk)
        os.replace(unpacked, path)
    except (OSError, EOFError) as exc:
        raise ServiceError("the result is a gzip file that could not be unpacked", service=MAPFLOW,
                           hint="Try loading the result again later", details=str(exc)) from None
    finally:
        if os.path.exists(unpacked):
            os.remove(unpacked)
    size = os.path.getsize(path)
    feedback.pushInfo(f"Unpacked the gzip result: {size / 1e6:.1f} MB.")
    return size


class ResultFile:
    """A downloaded GeoJSON result opened once with GDAL (the first pass over a big file is the costly part)."""

    def __init__(self, path):
        self.path = path
        self.dataset, error = attempt(gdal.OpenEx, path, gdal.OF_VECTOR)
        if self.dataset is None or self.dataset.GetLayerCount() == 0:
            raise ServiceError("the result is not a readable GeoJSON file", service=MAPFLOW,
                               hint="Try loading the result again later", details=error)
        layer = self.dataset.GetLayer(0)
        self.count = layer.GetFeatureCount()
        declared = ogr.GT_Flatten(layer.GetGeomType())
        definition = layer.GetLayerDefn()
        self.fields = [definition.GetFieldDefn(i).GetName() for i in range(definition.GetFieldCount())]
        if declared in OGR_MULTI:
            # One geometry type in the whole file: written as it is, like ogr2ogr would.
            self.geometry_type = None
        else:
            # Mixed (e.g. Polygon and MultiPolygon) or empty: one multi type, taken from the first feature.
            first = layer.GetNextFeature()
            geometry = first.GetGeometryRef() if first is not None else None
            found = ogr.GT_Flatten(geometry.GetGeometryType()) if geometry is not None else ogr.wkbPolygon
            layer.ResetReading()
            self.geometry_type = OGR_MULTI.get(found, "MULTIPOLYGON")

    def close(self):
        """Release the file."""
        self.dataset = None


def translate(source, destination, driver, layer_name, geometry_type, feedback, progress_range=(0.0, 100.0)):
    """Write source (a path or an open dataset) to a file with gdal.VectorTranslate, with all attributes."""
    def callback(fraction, _message, _data):
        if progress_range:
            feedback.setProgress(progress_range[0] + (progress_range[1] - progress_range[0]) * fraction)
        return 0 if feedback.isCanceled() else 1

    replace_output(destination, driver)
    folder = os.path.dirname(os.path.abspath(destination))
    os.makedirs(folder, exist_ok=True)
    extra = ["-gt", str(GROUP_TRANSACTIONS)] if driver in ("GPKG", "SQLite") else []
    options = gdal.VectorTranslateOptions(
        options=extra, format=driver, layerName=layer_name, geometryType=geometry_type, callback=callback)
    result, error = attempt(gdal.VectorTranslate, destination, source, options=options)
    ok = result is not None
    result = None  # close and flush the output
    if feedback.isCanceled():
        _remove_quietly(destination, driver)
        raise CancelledError("Writing the result was cancelled; the incomplete output file was removed")
    if not ok:
        raise MapbridgeError(f"the result could not be written to {destination}: {error}",
                             hint="Check the output path, its format and the free disk space")
    return destination


def _remove_quietly(path, driver):
    """Remove a partly written output (a missing file is fine)."""
    gdal_driver = gdal.GetDriverByName(driver)
    if gdal_driver is not None and os.path.exists(path):
        attempt(gdal_driver.Delete, path)
    if os.path.exists(path):
        try:
            os.remove(path)
        except OSError:
            return False
    return True


def stage_result(result, feedback, progress_range=(0.0, 100.0)):
    """The result as a GeoPackage layer beside the download (one geometry type, proper field types), for copying
    into a QGIS sink."""
    staging = os.path.join(os.path.dirname(result.path), "staging.gpkg")
    translate(result.dataset, staging, "GPKG", "result", result.geometry_type or "PROMOTE_TO_MULTI", feedback,
              progress_range)
    layer = QgsVectorLayer(staging, "result", "ogr")
    if not layer.isValid():
        raise MapbridgeError("the downloaded result could not be opened", service=MAPFLOW,
                             hint="Try loading it again with 'Mapflow: load processing results'")
    return layer
