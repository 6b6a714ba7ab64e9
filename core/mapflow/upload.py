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
    name = os.path.basename(path)
    report = BatchReport(mosaic_id=mosaic_id, mosaic_name=(mosaic_name or "").strip(),
                         known_images={i.id for i in existing.images} if existing is not None else set())
    if mosaic_id:
        feedback.pushInfo(f"Uploading to mosaic {mosaic_id} ({existing.name}).")
    else:
        known_before = _mosaic_ids(client)
        try:
            mosaic = client.create_mosaic(mosaic_name, tags)
            mosaic_id = _id_of(mosaic, "id", "mosaic_id", "mosaicId")
        except OutcomeUnknownError:
            mosaic_id = ""
        if not mosaic_id:
            # No usable answer: the mosaic is looked for (same name, new) before anything else is sent.
            _find_new_mosaic(client, report, name, known_before)
            mosaic_id = report.mosaic_id
            feedback.pushInfo(f"The creation of mosaic '{mosaic_name}' got no usable answer; it was found on "
                              f"Mapflow as {mosaic_id}.")
        report.mosaic_id, report.mosaic_created = mosaic_id, True
        created = True
        feedback.pushInfo(f"Created mosaic {mosaic_id} ({mosaic_name}).")

    def progress(sent, total):
        feedback.setProgress(100.0 * sent / total if total else 0.0)

    try:
        answer = client.upload_image(mosaic_id, path, progress=progress, cancelled=feedback.isCanceled)
        image_id = _uploaded_image_id(answer)
    except OutcomeUnknownError:
        image_id = _find_image(client, report, name)
        feedback.pushInfo(f"The upload of {name} got no usable answer; it was found in the mosaic as image "
                          f"{image_id}; nothing was sent again.")
    except (MapbridgeError, OSError) as exc:
        done = f"Mosaic {mosaic_id} was created, but " if created else ""
        text = exc.user_message() if isinstance(exc, MapbridgeError) else str(exc)
        message = f"{done}{name} was not uploaded: {text}"
        if isinstance(exc, CancelledError):
            raise CancelledError(message, service=MAPFLOW) from None
        raise MapbridgeError(message, service=None, details=getattr(exc, "details", None)) from None
    feedback.pushInfo(f"Uploaded {name} ({_mb(size)}) as image {image_id or '(id not returned)'}.")
    return UploadResult(mosaic_id, image_id, created, size)


def _uploaded_image_id(answer):
    """The image id of an upload's answer (the image, or a mosaic listing its images), or ""."""
    image_id = _id_of(answer, "id", "image_id", "imageId")
    if not image_id and isinstance(answer, dict) and isinstance(answer.get("images"), list) and answer["images"]:
        image_id = _id_of(answer["images"][-1], "id", "image_id")
    return image_id


def _mosaic_ids(client):
    """The ids of the user's mosaics (before creating one, to tell the new one afterwards)."""
    return {m.get("id") for m in client.mosaics() if isinstance(m, dict)}


def _look_for_upload(client, report, mosaic_name, file_name, known_before):
    """After an upload without an answer: the id of the image if it arrived (and of the mosaic, if one was being
    created); raises, stopping the batch, when it cannot be told."""
    if not report.mosaic_id:
        report.mosaic_name = report.mosaic_name or mosaic_name.strip()
        _find_new_mosaic(client, report, file_name, known_before)
    return _find_image(client, report, file_name)


def _find_new_mosaic(client, report, file_name, known_before):
    """After a mosaic's creation without a usable answer: sets report.mosaic_id to the one new mosaic of that name;
    raises, saying what was found, when there is none or more than one."""
    name = report.mosaic_name
    listed = _listing(lambda: client.mosaics(), f"creating mosaic '{name}' (for {file_name})", "your mosaics", report)
    new = [m for m in listed if isinstance(m, dict) and m.get("id") not in known_before and m.get("name") == name]
    if len(new) != 1:
        found = "it is not on Mapflow" if not new else "Mapflow shows " + ", ".join(str(m.get("id")) for m in new)
        raise ServiceError(f"no usable answer while creating mosaic '{name}' (for {file_name}), and {found}; "
                           f"nothing more was sent. {report.summary()}", service=MAPFLOW,
                           hint="Look at My imagery, then upload again")
    report.mosaic_id, report.mosaic_created = str(new[0]["id"]), True


def _find_image(client, report, file_name):
    """After an upload without a usable answer: the id of the new image of that file name in the mosaic; raises,
    saying so, when it is not there."""
    listed = _listing(lambda: client.mosaic_images(report.mosaic_id), f"uploading {file_name}",
                      f"the images of mosaic {report.mosaic_id}", report)
    found = [i for i in listed
             if isinstance(i, dict) and i.get("filename") == file_name and i.get("id") not in report.known_images]
    if not found:
        raise ServiceError(f"no usable answer while uploading {file_name}, and it is not in mosaic "
                           f"{report.mosaic_id}; nothing more was sent. {report.summary()}", service=MAPFLOW,
                           hint="Upload it again")
    image_id = str(found[-1].get("id") or "")
    report.known_images.add(image_id)
    return image_id


def _listing(read, doing, what, report):
    """A listing read to look for a lost upload; its failure says that whether the upload arrived is unknown."""
    try:
        return read()
    except ServiceError as exc:
        raise ServiceError(f"no usable answer while {doing}, and {what} could not be read ({exc.message}): it may "
                           f"or may not have arrived; nothing more was sent. {report.summary()}", service=MAPFLOW,
                           details=exc.details, hint="Look at My imagery before uploading it again") from None


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
    known_images: set = field(default_factory=set)   # ids of the mosaic's images not uploaded by a lost answer

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
        report.known_images = {i.id for i in mosaic.images}
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
    known_before = _mosaic_ids(client) if not mosaic_id else set()
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
                report.mosaic_id = _id_of(created, "id", "mosaic_id", "mosaicId")
                if not report.mosaic_id:
                    # Created, but the answer names no mosaic: find it, or the next file would make a second one.
                    raise OutcomeUnknownError("the answer names no mosaic id", service=MAPFLOW)
                report.mosaic_created = True
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
            if exc.status is None and not report.mosaic_id:
                # Whether the mosaic exists cannot be told: the next file must not create a second one.
                raise ServiceError(f"creating mosaic '{report.mosaic_name}' with {name} failed ({exc.message}); "
                                   f"nothing more was sent. {report.summary()}", service=MAPFLOW,
                                   details=exc.details, hint="Look at My imagery, then upload again") from None
            report.failed.append((name, exc.server_message or exc.message))
            done += facts.size
            continue
        report.known_images.add(image_id)
        report.uploaded.append((name, image_id))
        done += facts.size
        feedback.pushInfo(f"Uploaded {name} ({size_text(facts.size)}).")
    return report
