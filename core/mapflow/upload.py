"""Upload a GeoTIFF to a Mapflow mosaic (Data API), after checking the format and the storage left."""

from __future__ import annotations

import os
from dataclasses import dataclass

from osgeo import gdal

from ...api.errors import CancelledError, MapbridgeError, ServiceError
from ..gdal_calls import attempt

MAPFLOW = "mapflow"
GEOTIFF_HINT = "Save the layer as a GeoTIFF with Raster ▸ Conversion ▸ Translate, then upload that file"


@dataclass
class UploadResult:
    """What was uploaded where."""

    mosaic_id: str
    image_id: str
    mosaic_created: bool
    size: int


def geotiff_path(source):
    """The local GeoTIFF file of a raster layer source; raises a clear error for anything else."""
    path = (source or "").split("|")[0]
    if not path or not os.path.isfile(path):
        raise MapbridgeError("the input raster is not a local file (only GeoTIFF files can be uploaded)",
                             service=MAPFLOW, hint=GEOTIFF_HINT)
    dataset, _error = attempt(gdal.Open, path)
    if dataset is None:
        raise MapbridgeError(f"{os.path.basename(path)} cannot be read as a raster", service=MAPFLOW,
                             hint=GEOTIFF_HINT)
    driver = dataset.GetDriver().ShortName
    if driver not in ("GTiff", "COG"):
        raise MapbridgeError(f"{os.path.basename(path)} is a {driver} raster; Mapflow accepts GeoTIFF only",
                             service=MAPFLOW, hint=GEOTIFF_HINT)
    has_crs = bool(dataset.GetProjection()) or dataset.GetGCPCount() > 0
    if not has_crs:
        raise MapbridgeError(f"{os.path.basename(path)} is not georeferenced (no coordinate reference system)",
                             service=MAPFLOW, hint="Georeference it first (Raster ▸ Georeferencer)")
    return path


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def storage_left(memory):
    """(free bytes or None, max upload file size or None) of a /rasters/memory answer, leniently."""
    memory = memory if isinstance(memory, dict) else {}
    free = None
    for key in ("memoryFree", "free", "available", "memoryAvailable", "remaining"):
        free = _number(memory.get(key))
        if free is not None:
            break
    if free is None:
        limit = _number(memory.get("memoryLimit", memory.get("limit")))
        used = _number(memory.get("memoryUsed", memory.get("used")))
        if limit is not None and used is not None:
            free = max(0.0, limit - used)
    max_file = _number(memory.get("maxUploadFileSize"))
    return free, (max_file or None)


def _mb(size):
    return f"{size / 1024 ** 2:.1f} MB"


def check_storage(client, size, feedback):
    """Refuse, before uploading, a file larger than the storage left or the maximum upload size."""
    free, max_file = storage_left(client.memory())
    if free is not None:
        feedback.pushInfo(f"Mapflow storage left: {_mb(free)}; the file is {_mb(size)}.")
        if size > free:
            raise MapbridgeError(f"the file is {_mb(size)} but only {_mb(free)} of storage is left; nothing was "
                                 "uploaded", service=MAPFLOW,
                                 hint="Delete old mosaics or images on mapflow.ai, or upload a smaller file")
    else:
        feedback.pushInfo("The storage left could not be read from /rasters/memory; uploading anyway.")
    if max_file is not None and size > max_file:
        raise MapbridgeError(f"the file is {_mb(size)}, over the maximum upload size of {_mb(max_file)}; nothing "
                             "was uploaded", service=MAPFLOW, hint="Split the image into tiles and upload them")


def _id_of(answer, *keys):
    if not isinstance(answer, dict):
        return ""
    for key in keys:
        if answer.get(key):
            return str(answer[key])
    return ""


def upload_geotiff(client, path, feedback, *, mosaic_id="", mosaic_name="", tags=()):
    """Check storage, find or create the mosaic, upload the file with progress; returns UploadResult."""
    if not mosaic_id and not mosaic_name:
        raise MapbridgeError("neither a mosaic id nor a name for a new mosaic was given", service=MAPFLOW,
                             hint="Give MOSAIC_ID to add to an existing mosaic, or MOSAIC_NAME to create one")
    size = os.path.getsize(path)
    check_storage(client, size, feedback)
    created = False
    if mosaic_id:
        mosaic = client.mosaic(mosaic_id)
        feedback.pushInfo(f"Uploading to mosaic {mosaic_id} ({(mosaic or {}).get('name', '')}).")
    else:
        mosaic = client.create_mosaic(mosaic_name, tags)
        mosaic_id = _id_of(mosaic, "id", "mosaic_id", "mosaicId")
        if not mosaic_id:
            raise ServiceError("the mosaic was created but its id is missing from the answer", service=MAPFLOW,
                               hint="Look for it on mapflow.ai and upload with its MOSAIC_ID")
        created = True
        feedback.pushInfo(f"Created mosaic {mosaic_id} ({mosaic_name}).")

    def progress(sent, total):
        feedback.setProgress(100.0 * sent / total if total else 0.0)

    try:
        answer = client.upload_image(mosaic_id, path, progress=progress, cancelled=feedback.isCanceled)
    except (MapbridgeError, OSError) as exc:
        done = f"Mosaic {mosaic_id} was created, but " if created else ""
        text = exc.user_message() if isinstance(exc, MapbridgeError) else str(exc)
        message = f"{done}{os.path.basename(path)} was not uploaded: {text}"
        if isinstance(exc, CancelledError):
            raise CancelledError(message, service=MAPFLOW) from None
        raise MapbridgeError(message, service=None, details=getattr(exc, "details", None)) from None
    image_id = _id_of(answer, "id", "image_id", "imageId")
    if not image_id and isinstance(answer, dict) and isinstance(answer.get("images"), list) and answer["images"]:
        image_id = _id_of(answer["images"][-1], "id", "image_id")
    feedback.pushInfo(f"Uploaded {os.path.basename(path)} ({_mb(size)}) as image {image_id or '(id not returned)'}.")
    return UploadResult(mosaic_id, image_id, created, size)
