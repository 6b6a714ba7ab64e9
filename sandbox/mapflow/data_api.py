"""Mapflow Data API endpoints: storage memory, mosaics, image uploads and links, as a mixin of Mapflow."""

# Choices where the docs are silent (the notes give the keys):
# - mosaic {id, name, tags, created_at, updated_at, footprint (WKT, the images' bounding box), sizeInBytes,
#   image_count, rasterLayer{tileUrl, tileJsonUrl}}; image {id, mosaic_id, filename, uploaded_at, file_size (also as
#   size), checksum, image_url, footprint (WKT, WGS84, corners NW NE SE SW), preview_url_s, preview_url_l,
#   meta_data{crs, count, width, height, dtypes, nodata, pixel_size}}.
# - GET /rasters/memory → {memoryLimit, memoryUsed, memoryFree, maxUploadFileSize, maxPixelCount}; default limit
#   5 GiB. Uploads are refused with the notes' codes: FileValidationFailed (not a GeoTIFF, no CRS, or a CRS, band
#   count or resolution other than the mosaic's), FileTooBig, MemoryLimitExceeded (413), ImageExtentTooBig.

from __future__ import annotations

import hashlib
import os
import time
from urllib.parse import unquote

from .. import seed as seeding
from ..base import ApiError, Response, iso
from .imagery import png, presigned_url, tile_layer, upload_footprint
from .uploads import parse_multipart, tiff_info

DEFAULT_MEMORY_LIMIT = 5 * 1024 ** 3


class DataApiMixin:
    """Data API: memory, mosaics (CRUD), images (upload, link, list, get, delete)."""

    def _mosaic(self, mosaic_id):
        mosaic = self.mosaics.get(mosaic_id)
        if mosaic is None:
            raise ApiError(404, f"Mosaic '{mosaic_id}' not found", "NOT_FOUND")
        return mosaic

    def _mosaic_images(self, mosaic_id):
        return [i for i in self.raster_images.values() if i["mosaic_id"] == mosaic_id]

    def _mosaic_bbox(self, mosaic_id):
        boxes = [i["_bbox"] for i in self._mosaic_images(mosaic_id) if i.get("_bbox")]
        if not boxes:
            return None
        return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                max(b[3] for b in boxes)]

    def _mosaic_out(self, mosaic, req=None):
        out = dict(mosaic)
        images = self._mosaic_images(mosaic["id"])
        out["image_count"] = len(images)
        out["sizeInBytes"] = sum(i["file_size"] for i in images)
        box = self._mosaic_bbox(mosaic["id"])
        out["footprint"] = (f"POLYGON(({box[0]} {box[3]}, {box[2]} {box[3]}, {box[2]} {box[1]}, {box[0]} {box[1]}, "
                            f"{box[0]} {box[3]}))") if box else None
        if req is not None:
            out["rasterLayer"] = tile_layer(req.base_url, "raster", mosaic["id"])
        return out

    @staticmethod
    def _raster_image_out(image, req=None):
        out = {k: v for k, v in image.items() if not k.startswith("_")}
        if req is not None:
            out["preview_url_s"] = f"{req.base_url}/rasters/image/{image['id']}/preview/s"
            out["preview_url_l"] = f"{req.base_url}/rasters/image/{image['id']}/preview/l"
        return out

    @staticmethod
    def _tags(value):
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise ApiError(400, "tags must be a list of strings", "VALIDATION_ERROR")
        return value

    def _make_mosaic(self, name, tags):
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "name is required", "VALIDATION_ERROR")
        now = iso(time.time(), ms=True)
        mosaic = {"id": seeding.uuid4(self._rng), "name": name.strip(), "tags": self._tags(tags),
                  "created_at": now, "updated_at": now, "footprint": None}
        self.mosaics[mosaic["id"]] = mosaic
        return mosaic

    def _used(self):
        return sum(i["file_size"] for i in self.raster_images.values())

    def memory(self, req):
        """GET /rasters/memory → {memoryLimit, memoryUsed, memoryFree, maxUploadFileSize, maxPixelCount}."""
        used = self._used()
        return {"memoryLimit": self.memory_limit, "memoryUsed": used, "memoryFree": max(0, self.memory_limit - used),
                "maxUploadFileSize": self.max_upload_file_size, "maxPixelCount": self.max_pixel_count}

    def list_mosaics(self, req):
        """GET /rasters/mosaic → [mosaic]."""
        return [self._mosaic_out(m, req) for m in self.mosaics.values()]

    def create_mosaic(self, req):
        """POST /rasters/mosaic {name, tags}."""
        body = req.json_body()
        return self._mosaic_out(self._make_mosaic(body.get("name"), body.get("tags")), req)

    def create_mosaic_with_image(self, req):
        """POST /rasters/mosaic/mosaic?name=&tags=&tags= multipart → mosaic with "images": [image]."""
        data, filename = self._upload_part(req)
        self._check_upload(None, data, filename)
        mosaic = self._make_mosaic(req.arg("name"), req.query.get("tags", []))
        image = self._store_image(mosaic, data, filename)
        return dict(self._mosaic_out(mosaic, req), images=[self._raster_image_out(image, req)])

    def get_mosaic(self, req, mosaic_id):
        """GET /rasters/mosaic/{id}."""
        return self._mosaic_out(self._mosaic(mosaic_id), req)

    def update_mosaic(self, req, mosaic_id):
        """PUT /rasters/mosaic/{id} {name?, tags?}."""
        mosaic = self._mosaic(mosaic_id)
        body = req.json_body()
        if "name" in body:
            if not isinstance(body["name"], str) or not body["name"].strip():
                raise ApiError(400, "name must be a non-empty string", "VALIDATION_ERROR")
            mosaic["name"] = body["name"].strip()
        if "tags" in body:
            mosaic["tags"] = self._tags(body["tags"])
        mosaic["updated_at"] = iso(time.time(), ms=True)
        return self._mosaic_out(mosaic, req)

    def delete_mosaic(self, req, mosaic_id):
        """DELETE /rasters/mosaic/{id} (and its images)."""
        self._mosaic(mosaic_id)
        del self.mosaics[mosaic_id]
        for image_id in [i for i, img in self.raster_images.items() if img["mosaic_id"] == mosaic_id]:
            self._drop_image(image_id)
        return {"id": mosaic_id, "deleted": True}

    def _drop_image(self, image_id):
        image = self.raster_images.pop(image_id)
        if image.get("_path"):
            try:
                os.remove(image["_path"])
            except OSError:
                pass

    def _upload_part(self, req):
        parts = parse_multipart(req.body, req.headers.get("content-type", ""))
        if parts is None:
            raise ApiError(400, "Expected a multipart/form-data body with a 'file' part", "VALIDATION_ERROR")
        for name, filename, data in parts:
            if name == "file":
                return data, filename or "upload.tif"
        raise ApiError(400, "The multipart body has no 'file' part", "VALIDATION_ERROR")

    def _check_upload(self, mosaic, data, filename):
        """The upload checks of the notes; returns the file's TIFF facts."""
        info = tiff_info(data)
        if info is None:
            raise ApiError(400, f"'{filename}' is not a GeoTIFF (bad TIFF signature)", "FileValidationFailed")
        if self.max_upload_file_size is not None and len(data) > self.max_upload_file_size:
            raise ApiError(400, f"The file is {len(data)} bytes; the largest upload is {self.max_upload_file_size}",
                           "FileTooBig", details={"fileSize": len(data), "maxFileSize": self.max_upload_file_size})
        used = self._used()
        if used + len(data) > self.memory_limit:
            raise ApiError(413, f"Storage limit exceeded: {used + len(data)} bytes needed, limit {self.memory_limit}",
                           "MemoryLimitExceeded", details={"memoryLimit": self.memory_limit, "memoryUsed": used})
        if self.max_pixel_count is not None and max(info.get("width", 0), info.get("height", 0)) > \
                self.max_pixel_count:
            raise ApiError(400, f"The image is {info.get('width')}x{info.get('height')} px; at most "
                           f"{self.max_pixel_count} px a side", "ImageExtentTooBig",
                           details={"maxPixelCount": self.max_pixel_count})
        if info.get("origin") is None or info.get("epsg") is None:
            raise ApiError(400, f"'{filename}' has no georeference (CRS and geotransform)", "FileValidationFailed")
        for other in self._mosaic_images(mosaic["id"]) if mosaic else []:
            meta = other["meta_data"]
            same = (meta.get("crs") == f"EPSG:{info['epsg']}" and meta.get("count") == info.get("count", 1)
                    and _close(meta.get("pixel_size"), info.get("pixel_size")))
            if not same:
                raise ApiError(400, "Images in one mosaic must share CRS, band count and resolution "
                               f"({meta.get('crs')}, {meta.get('count')} bands, {meta.get('pixel_size')})",
                               "FileValidationFailed", details={"crs": meta.get("crs"), "count": meta.get("count"),
                                                                "pixel_size": meta.get("pixel_size")})
        return info

    def _store_image(self, mosaic, data, filename):
        info = self._check_upload(mosaic, data, filename)
        image_id = seeding.uuid4(self._rng)
        path = os.path.join(self.tmpdir, f"raster-{image_id}.tif") if self.tmpdir else None
        if path:
            with open(path, "wb") as out:
                out.write(data)
        footprint, bbox = upload_footprint(info)
        image = {"id": image_id, "mosaic_id": mosaic["id"], "filename": filename, "file_size": len(data),
                 "size": len(data), "checksum": hashlib.md5(data).hexdigest(),
                 "image_url": f"s3://sandbox-data/{mosaic['id']}/{image_id}/{filename}",
                 "uploaded_at": iso(time.time(), ms=True), "footprint": footprint,
                 "meta_data": {"width": info.get("width"), "height": info.get("height"),
                               "count": info.get("count", 1), "bits": info.get("bits"),
                               "dtypes": [info.get("dtype", "uint8")] * info.get("count", 1),
                               "nodata": info.get("nodata"), "pixel_size": info.get("pixel_size"),
                               "crs": f"EPSG:{info['epsg']}" if info.get("epsg") else None},
                 "_path": path, "_bbox": bbox}
        self.raster_images[image_id] = image
        mosaic["updated_at"] = image["uploaded_at"]
        return image

    def upload_image(self, req, mosaic_id):
        """POST /rasters/mosaic/{id}/image multipart `file` (TIFF magic checked) → image metadata."""
        mosaic = self._mosaic(mosaic_id)
        data, filename = self._upload_part(req)
        return self._raster_image_out(self._store_image(mosaic, data, filename), req)

    def link_image(self, req, mosaic_id):
        """POST /rasters/mosaic/{id}/link-image {"url"} → the documented message."""
        mosaic = self._mosaic(mosaic_id)
        url = req.json_body().get("url")
        if not isinstance(url, str) or not url:
            raise ApiError(400, "url is required", "VALIDATION_ERROR")
        image_id = seeding.uuid4(self._rng)
        self.raster_images[image_id] = {
            "id": image_id, "mosaic_id": mosaic_id, "filename": unquote(url.rsplit("/", 1)[-1]), "size": 0,
            "file_size": 0,
            "checksum": None, "image_url": url, "uploaded_at": iso(time.time(), ms=True), "footprint": None,
            "meta_data": {}}
        mosaic["updated_at"] = iso(time.time(), ms=True)
        return {"message": "File successfully linked to a mosaic", "mosaic_id": mosaic_id}

    def list_images(self, req, mosaic_id):
        """GET /rasters/mosaic/{id}/image → [image]."""
        self._mosaic(mosaic_id)
        return [self._raster_image_out(i, req) for i in self._mosaic_images(mosaic_id)]

    def _image(self, image_id):
        image = self.raster_images.get(image_id)
        if image is None:
            raise ApiError(404, f"Image '{image_id}' not found", "NOT_FOUND")
        return image

    def get_image(self, req, image_id):
        """GET /rasters/image/{id}."""
        return self._raster_image_out(self._image(image_id), req)

    def rename_image(self, req, image_id):
        """PUT /rasters/image/{id}?name=NEW → the image."""
        image = self._image(image_id)
        name = (req.arg("name") or "").strip()
        if not name:
            raise ApiError(400, "name is required", "VALIDATION_ERROR")
        image["filename"] = name
        return self._raster_image_out(image, req)

    def delete_image(self, req, image_id):
        """DELETE /rasters/image/{id}."""
        self._image(image_id)
        self._drop_image(image_id)
        return {"id": image_id, "deleted": True}

    def download_image(self, req, image_id):
        """GET /rasters/image/{id}/download → {download_url (pre-signed), filename, expires_in}."""
        image = self._image(image_id)
        return {"download_url": presigned_url(req.base_url, f"/presigned/image/{image_id}"),
                "filename": image["filename"], "expires_in": 3600}

    def image_preview(self, req, image_id, size):
        """GET /rasters/image/{id}/preview/{s|l} (with the token) → a PNG of about 256 or 1024 px."""
        with self.lock:
            self._image(image_id)
        side = 256 if size == "s" else 1024
        return Response(200, raw=png(side, side, (200, 120, 40)), content_type="image/png")

    def presigned(self, req, kind, key):
        """GET /presigned/{image|catalog}/{id}?expires&signature (no Authorization): file or preview bytes."""
        with self.lock:
            if kind == "image":
                image = self._image(key)
                if image.get("_path") and os.path.exists(image["_path"]):
                    return Response(200, file=image["_path"], content_type="image/tiff")
                raise ApiError(404, "The file of this image is not stored", "NOT_FOUND")
            if key not in self._image_index:
                raise ApiError(404, f"Image '{key}' not found", "NOT_FOUND")
        return Response(200, raw=png(256, 256, (40, 120, 200)), content_type="image/png")


def _close(a, b):
    """Same pixel size within 0.1 %."""
    if not a or not b:
        return a == b
    return all(abs(x - y) <= 1e-3 * max(abs(x), abs(y)) for x, y in zip(a, b))
