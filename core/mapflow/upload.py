"""Upload GeoTIFFs to a Mapflow mosaic (Data API) with progress, after the checks the service applies: a GeoTIFF with
a CRS, the storage left, the file size, the pixel limits, and the same CRS, band count and resolution as the mosaic."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from osgeo import gdal, osr

from ...api.errors import CancelledError, MapbridgeError, OutcomeUnknownError, ServiceError
from ..gdal_calls import attempt
from .my_imagery import Image, Storage, mosaic_facts, size_text

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


def storage_left(memory):
    """(free bytes or None, max upload file size or None) of a /rasters/memory answer, leniently."""
    storage = Storage.from_json(memory)
    return storage.free, (storage.max_file or None)


def _mb(size):
    return f"{size / 1024 ** 2:.1f} MB"


@dataclass
class RasterFacts:
    """What GDAL reads of a local GeoTIFF: the facts the service checks."""

    path: str
    size: int
    width: int
    height: int
    bands: int
    crs: str            # "EPSG:4326", or the WKT's name when it has no EPSG code
    pixel_size: list = field(default_factory=list)


def raster_facts(path):
    """The facts of a GeoTIFF (raises a clear error for anything Mapflow does not take)."""
    path = geotiff_path(path)
    dataset, _error = attempt(gdal.Open, path)
    srs = osr.SpatialReference()
    srs.ImportFromWkt(dataset.GetProjection() or dataset.GetGCPProjection() or "")
    srs.AutoIdentifyEPSG()
    code = srs.GetAuthorityCode(None)
    crs = f"EPSG:{code}" if code else (srs.GetName() or "")
    transform = dataset.GetGeoTransform(can_return_null=True)
    pixel = [abs(transform[1]), abs(transform[5])] if transform else []
    return RasterFacts(path, os.path.getsize(path), dataset.RasterXSize, dataset.RasterYSize, dataset.RasterCount,
                       crs, pixel)


def _same_pixel(a, b):
    return len(a) == len(b) == 2 and all(abs(x - y) <= 1e-3 * max(abs(x), abs(y)) for x, y in zip(a, b))


def upload_problems(facts, storage, mosaic=None, earlier=()):
    """Why the service would refuse a file (checked before sending): storage, size, pixels, mismatch with the
    mosaic's images (or with the files uploaded before it in the same batch)."""
    name = os.path.basename(facts.path)
    found = []
    if storage.free is not None and facts.size > storage.free:
        found.append(f"{name} is {size_text(facts.size)} but only {size_text(storage.free)} of storage is left")
    if storage.max_file is not None and facts.size > storage.max_file:
        found.append(f"{name} is {size_text(facts.size)}, over the largest upload of {size_text(storage.max_file)}")
    if storage.max_pixels is not None and max(facts.width, facts.height) > storage.max_pixels:
        found.append(f"{name} is {facts.width}×{facts.height} px; at most {storage.max_pixels:.0f} px a side "
                     "can be uploaded")
    crs, bands, pixel = mosaic_facts(mosaic)
    if crs is None and earlier:
        crs, bands, pixel = earlier[0].crs, earlier[0].bands, earlier[0].pixel_size
    if crs and facts.crs and crs.upper() != facts.crs.upper():
        found.append(f"{name} is in {facts.crs}; the mosaic's images are in {crs}")
    if bands and facts.bands != bands:
        found.append(f"{name} has {facts.bands} bands; the mosaic's images have {bands}")
    if pixel and facts.pixel_size and not _same_pixel(list(pixel), facts.pixel_size):
        found.append(f"{name} has pixels of {facts.pixel_size[0]:.4g}; the mosaic's images {pixel[0]:.4g}")
    return found


def check_storage(client, size, feedback):
    """Refuse, before uploading, a file larger than the storage left or the maximum upload size."""
    storage = Storage.from_json(client.memory())
    if storage.free is not None:
        feedback.pushInfo(f"Mapflow storage left: {_mb(storage.free)}; the file is {_mb(size)}.")
        if size > storage.free:
            raise MapbridgeError(f"the file is {_mb(size)} but only {_mb(storage.free)} of storage is left; "
                                 "nothing was uploaded", service=MAPFLOW,
                                 hint="Delete old mosaics or images on mapflow.ai, or upload a smaller file")
    else:
        feedback.pushInfo("The storage left could not be read from /rasters/memory; uploading anyway.")
    if storage.max_file is not None and size > storage.max_file:
        raise MapbridgeError(f"the file is {_mb(size)}, over the maximum upload size of {_mb(storage.max_file)}; "
                             "nothing was uploaded", service=MAPFLOW, hint="Split the image into tiles and upload them")
    return storage


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
    facts = raster_facts(path)
    size = facts.size
    storage = check_storage(client, size, feedback)
    existing = None
    if mosaic_id:
        existing = _mosaic_with_images(client, mosaic_id)
    problems = upload_problems(facts, storage, existing)
    if problems:
        raise MapbridgeError("; ".join(problems) + "; nothing was uploaded", service=MAPFLOW,
                             hint="Reproject, resample or split the image, or upload it to another mosaic")
    created = False
    if mosaic_id:
        feedback.pushInfo(f"Uploading to mosaic {mosaic_id} ({existing.name}).")
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


def _look_for_upload(client, report, mosaic_name, file_name, known_before):
    """After an upload without an answer: the id of the image if it arrived (and of the mosaic, if one was being
    created); raises, stopping the batch, when it cannot be told."""
    if not report.mosaic_id:
        new = [m for m in client.mosaics() if isinstance(m, dict) and m.get("id") not in known_before
               and m.get("name") == mosaic_name.strip()]
        if len(new) != 1:
            raise ServiceError(f"no answer while creating mosaic '{mosaic_name}' with {file_name}, and it "
                               f"{'is not' if not new else 'is more than once'} on Mapflow; nothing more was sent. "
                               + report.summary(), service=MAPFLOW, hint="Look at My imagery, then upload again")
        report.mosaic_id, report.mosaic_created = str(new[0]["id"]), True
    found = [i for i in client.mosaic_images(report.mosaic_id)
             if isinstance(i, dict) and i.get("filename") == file_name]
    if not found:
        raise ServiceError(f"no answer while uploading {file_name}, and it is not in the mosaic; nothing more was "
                           f"sent. {report.summary()}", service=MAPFLOW, hint="Upload it again")
    return str(found[-1].get("id") or "")


def _mosaic_with_images(client, mosaic_id):
    """The mosaic (GET /rasters/mosaic/{id}) with its images' facts."""
    from .my_imagery import Mosaic

    mosaic = Mosaic.from_json(client.mosaic(mosaic_id)) or Mosaic(mosaic_id)
    mosaic.images = [i for i in (Image.from_json(x) for x in client.mosaic_images(mosaic_id)) if i is not None]
    return mosaic


@dataclass
class BatchReport:
    """What an upload of several files did."""

    mosaic_id: str = ""
    mosaic_name: str = ""
    mosaic_created: bool = False
    uploaded: list = field(default_factory=list)     # [(file name, image id)]
    refused: list = field(default_factory=list)      # [(file name, reason)] checked before sending
    failed: list = field(default_factory=list)       # [(file name, message)] refused or cut by the service

    def summary(self):
        """One line for the user."""
        mosaic = f"'{self.mosaic_name}'" if self.mosaic_name else self.mosaic_id
        parts = [f"{len(self.uploaded):,} file(s) uploaded to mosaic {mosaic}" if self.uploaded
                 else "Nothing was uploaded"]
        if self.refused:
            parts.append(f"{len(self.refused):,} not sent: " + "; ".join(r for _, r in self.refused[:3]))
        if self.failed:
            parts.append(f"{len(self.failed):,} failed: " + "; ".join(r for _, r in self.failed[:3]))
        return ". ".join(parts) + "."


def upload_many(client, paths, feedback, *, mosaic_id="", mosaic_name="", tags=()):
    """Check every file first (nothing is sent when none passes), then upload the good ones one by one with
    progress over all bytes; a new mosaic is created only when a file is about to be sent."""
    if not mosaic_id and not (mosaic_name or "").strip():
        raise MapbridgeError("no mosaic was chosen", service=MAPFLOW, hint="Choose a mosaic or name a new one")
    report = BatchReport(mosaic_id=mosaic_id, mosaic_name=(mosaic_name or "").strip())
    storage = Storage.from_json(client.memory())
    mosaic = _mosaic_with_images(client, mosaic_id) if mosaic_id else None
    if mosaic is not None:
        report.mosaic_name = mosaic.name
    accepted, budget = [], storage.free
    for path in paths:
        try:
            facts = raster_facts(path)
        except MapbridgeError as exc:
            report.refused.append((os.path.basename(path), exc.message))
            continue
        left = Storage(storage.limit, storage.used, budget, storage.max_file, storage.max_pixels)
        problems = upload_problems(facts, left, mosaic, accepted)
        if problems:
            report.refused.append((os.path.basename(path), "; ".join(problems)))
            continue
        accepted.append(facts)
        if budget is not None:
            budget -= facts.size
    if not accepted:
        raise MapbridgeError("no file can be uploaded: " + "; ".join(r for _, r in report.refused),
                             service=MAPFLOW, hint="Fix the files, or free storage on mapflow.ai")
    total = sum(f.size for f in accepted)
    done = 0
    known_before = {m.get("id") for m in client.mosaics() if isinstance(m, dict)} if not mosaic_id else set()
    for facts in accepted:
        if feedback.isCanceled():
            raise CancelledError(report.summary(), service=MAPFLOW)
        name = os.path.basename(facts.path)

        def progress(sent, size, before=done, weight=facts.size):
            feedback.setProgress(100.0 * (before + weight * sent / max(1, size)) / max(1, total))

        try:
            if not report.mosaic_id:
                created = client.create_mosaic_with_image(mosaic_name.strip(), facts.path, tags, progress=progress,
                                                          cancelled=feedback.isCanceled)
                report.mosaic_id, report.mosaic_created = _id_of(created, "id", "mosaic_id", "mosaicId"), True
                images = created.get("images") if isinstance(created, dict) else None
                image_id = _id_of(images[-1], "id") if isinstance(images, list) and images else ""
            else:
                image_id = _id_of(client.upload_image(report.mosaic_id, facts.path, progress=progress,
                                                      cancelled=feedback.isCanceled), "id", "image_id", "imageId")
        except CancelledError:
            raise CancelledError(f"Upload cancelled during {name}. {report.summary()}", service=MAPFLOW) from None
        except OutcomeUnknownError:
            # No answer: look on the service before anything is sent again (never a second mosaic or copy).
            image_id = _look_for_upload(client, report, mosaic_name, name, known_before)
        except ServiceError as exc:
            if exc.status in (401, 403):
                raise
            report.failed.append((name, exc.server_message or exc.message))
            done += facts.size
            continue
        report.uploaded.append((name, image_id))
        done += facts.size
        feedback.pushInfo(f"Uploaded {name} ({size_text(facts.size)}).")
    return report
