"""Mapflow Data API endpoints: storage memory, mosaics, image uploads and links, as a mixin of Mapflow."""

# Choices where the docs are silent:
# - Data API objects use snake_case: mosaic {id, name, tags, created_at, updated_at, footprint, image_count};
#   image {id, mosaic_id, filename, size, checksum, image_url, uploaded_at, footprint, meta_data}.
# - GET /rasters/memory → {"limit": bytes, "used": bytes, "free": bytes}; default limit 5 GiB.

from __future__ import annotations

import hashlib
import time
from urllib.parse import unquote

from .. import seed as seeding
from ..base import ApiError, iso
from .uploads import parse_multipart, tiff_info

DEFAULT_MEMORY_LIMIT = 5 * 1024 ** 3


class DataApiMixin:
    """Data API: memory, mosaics (CRUD), images (upload, link, list, get, delete)."""

    def _mosaic(self, mosaic_id):
        mosaic = self.mosaics.get(mosaic_id)
        if mosaic is None:
            raise ApiError(404, f"Mosaic '{mosaic_id}' not found", "NOT_FOUND")
        return mosaic

    def _mosaic_out(self, mosaic):
        out = dict(mosaic)
        out["image_count"] = sum(1 for i in self.raster_images.values() if i["mosaic_id"] == mosaic["id"])
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

    def memory(self, req):
        """GET /rasters/memory → {"limit", "used", "free"} in bytes."""
        used = sum(i["size"] for i in self.raster_images.values())
        return {"limit": self.memory_limit, "used": used, "free": max(0, self.memory_limit - used)}

    def list_mosaics(self, req):
        """GET /rasters/mosaic (list; not on the page, present in the live API)."""
        return [self._mosaic_out(m) for m in self.mosaics.values()]

    def create_mosaic(self, req):
        """POST /rasters/mosaic {name, tags}."""
        body = req.json_body()
        return self._mosaic_out(self._make_mosaic(body.get("name"), body.get("tags")))

    def create_mosaic_with_image(self, req):
        """POST /rasters/mosaic/mosaic?name=&tags=&tags= multipart → mosaic with "images": [image]."""
        data, filename = self._upload_part(req)
        mosaic = self._make_mosaic(req.arg("name"), req.query.get("tags", []))
        image = self._store_image(mosaic, data, filename)
        return dict(self._mosaic_out(mosaic), images=[image])

    def get_mosaic(self, req, mosaic_id):
        """GET /rasters/mosaic/{id}."""
        return self._mosaic_out(self._mosaic(mosaic_id))

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
        return self._mosaic_out(mosaic)

    def delete_mosaic(self, req, mosaic_id):
        """DELETE /rasters/mosaic/{id} (and its images)."""
        self._mosaic(mosaic_id)
        del self.mosaics[mosaic_id]
        for image_id in [i for i, img in self.raster_images.items() if img["mosaic_id"] == mosaic_id]:
            del self.raster_images[image_id]
        return {"id": mosaic_id, "deleted": True}

    def _upload_part(self, req):
        parts = parse_multipart(req.body, req.headers.get("content-type", ""))
        if parts is None:
            raise ApiError(400, "Expected a multipart/form-data body with a 'file' part", "VALIDATION_ERROR")
        for name, filename, data in parts:
            if name == "file":
                return data, filename or "upload.tif"
        raise ApiError(400, "The multipart body has no 'file' part", "VALIDATION_ERROR")

    def _store_image(self, mosaic, data, filename):
        info = tiff_info(data)
        if info is None:
            raise ApiError(400, f"'{filename}' is not a GeoTIFF (bad TIFF signature)", "INVALID_FILE")
        used = sum(i["size"] for i in self.raster_images.values())
        if used + len(data) > self.memory_limit:
            raise ApiError(413, f"Storage limit exceeded: {used + len(data)} bytes needed, limit {self.memory_limit}",
                           "STORAGE_LIMIT_EXCEEDED", details={"limit": self.memory_limit, "used": used})
        image_id = seeding.uuid4(self._rng)
        image = {"id": image_id, "mosaic_id": mosaic["id"], "filename": filename, "size": len(data),
                 "checksum": hashlib.md5(data).hexdigest(),
                 "image_url": f"s3://sandbox-data/{mosaic['id']}/{image_id}/{filename}",
                 "uploaded_at": iso(time.time(), ms=True), "footprint": None,
                 "meta_data": {"width": info.get("width"), "height": info.get("height"),
                               "count": info.get("count", 1), "bits": info.get("bits"), "crs": None}}
        self.raster_images[image_id] = image
        mosaic["updated_at"] = image["uploaded_at"]
        return image

    def upload_image(self, req, mosaic_id):
        """POST /rasters/mosaic/{id}/image multipart `file` (TIFF magic checked) → image metadata."""
        mosaic = self._mosaic(mosaic_id)
        data, filename = self._upload_part(req)
        return self._store_image(mosaic, data, filename)

    def link_image(self, req, mosaic_id):
        """POST /rasters/mosaic/{id}/link-image {"url"} → the documented message."""
        mosaic = self._mosaic(mosaic_id)
        url = req.json_body().get("url")
        if not isinstance(url, str) or not url:
            raise ApiError(400, "url is required", "VALIDATION_ERROR")
        image_id = seeding.uuid4(self._rng)
        self.raster_images[image_id] = {
            "id": image_id, "mosaic_id": mosaic_id, "filename": unquote(url.rsplit("/", 1)[-1]), "size": 0,
            "checksum": None, "image_url": url, "uploaded_at": iso(time.time(), ms=True), "footprint": None,
            "meta_data": {}}
        mosaic["updated_at"] = iso(time.time(), ms=True)
        return {"message": "File successfully linked to a mosaic", "mosaic_id": mosaic_id}

    def list_images(self, req, mosaic_id):
        """GET /rasters/mosaic/{id}/image → [image]."""
        self._mosaic(mosaic_id)
        return [i for i in self.raster_images.values() if i["mosaic_id"] == mosaic_id]

    def _image(self, image_id):
        image = self.raster_images.get(image_id)
        if image is None:
            raise ApiError(404, f"Image '{image_id}' not found", "NOT_FOUND")
        return image

    def get_image(self, req, image_id):
        """GET /rasters/image/{id}."""
        return self._image(image_id)

    def delete_image(self, req, image_id):
        """DELETE /rasters/image/{id}."""
        self._image(image_id)
        del self.raster_images[image_id]
        return {"id": image_id, "deleted": True}
