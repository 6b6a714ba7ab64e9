"""My imagery (Data API): the user's mosaics and their images, the storage, and the facts an upload is checked on."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .models import number

MAX_MOSAICS = 500   # mosaics listed at most (their images are one request each)


@dataclass
class Storage:
    """GET /rasters/memory: bytes and pixels (None: no limit or not told)."""

    limit: float | None = None
    used: float | None = None
    free: float | None = None
    max_file: float | None = None
    max_pixels: float | None = None

    @classmethod
    def from_json(cls, memory):
        """Parse leniently (the notes' keys, or limit/used/free)."""
        memory = memory if isinstance(memory, dict) else {}

        def first(*keys):
            return next((number(memory.get(k)) for k in keys if number(memory.get(k)) is not None), None)

        limit, used = first("memoryLimit", "limit"), first("memoryUsed", "used")
        free = first("memoryFree", "free", "available", "memoryAvailable", "remaining")
        if free is None and limit is not None and used is not None:
            free = max(0.0, limit - used)
        return cls(limit, used, free, first("maxUploadFileSize"), first("maxPixelCount"))

    def percent_used(self):
        """Used share of the limit in percent, or None."""
        if not self.limit or self.used is None:
            return None
        return max(0.0, min(100.0, 100.0 * self.used / self.limit))

    def text(self):
        """'1.2 GB of 5.0 GB used, 3.8 GB free'."""
        if self.limit is None and self.used is None:
            return "Storage unknown"
        parts = [f"{size_text(self.used or 0)} of {size_text(self.limit)} used" if self.limit
                 else f"{size_text(self.used or 0)} used"]
        if self.free is not None:
            parts.append(f"{size_text(self.free)} free")
        return ", ".join(parts)


def size_text(size):
    """Bytes in words (kB, MB, GB)."""
    if size is None:
        return "?"
    for unit, scale in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("kB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size:.0f} B"


@dataclass
class Image:
    """An uploaded image: {id, mosaic_id, filename, uploaded_at, file_size, footprint (WKT), meta_data, previews}."""

    id: str
    mosaic_id: str = ""
    name: str = ""
    uploaded: str = ""
    size: float | None = None
    footprint_wkt: str = ""
    crs: str = ""
    bands: int | None = None
    width: int | None = None
    height: int | None = None
    pixel_size: list = field(default_factory=list)
    preview_small: str = ""
    preview_large: str = ""

    @classmethod
    def from_json(cls, item):
        """Parse leniently; None without an id."""
        if not isinstance(item, dict) or not item.get("id"):
            return None
        meta = item.get("meta_data") if isinstance(item.get("meta_data"), dict) else {}
        pixel = meta.get("pixel_size") if isinstance(meta.get("pixel_size"), list) else []
        return cls(str(item["id"]), str(item.get("mosaic_id") or ""), str(item.get("filename") or item["id"]),
                   str(item.get("uploaded_at") or ""), number(item.get("file_size", item.get("size"))),
                   str(item.get("footprint") or ""), str(meta.get("crs") or ""),
                   int(number(meta.get("count")) or 0) or None, int(number(meta.get("width")) or 0) or None,
                   int(number(meta.get("height")) or 0) or None, [number(p) for p in pixel if number(p)],
                   str(item.get("preview_url_s") or ""), str(item.get("preview_url_l") or ""))

    def resolution_text(self):
        """'0.10 m/px' (or degrees), or ''."""
        if not self.pixel_size:
            return ""
        unit = "°/px" if self.crs.upper() in ("EPSG:4326", "EPSG:4269") else "m/px"
        return f"{self.pixel_size[0]:.3g} {unit}"


@dataclass
class Mosaic:
    """A mosaic: {id, name, tags, created_at, footprint (WKT), sizeInBytes, rasterLayer} and its images."""

    id: str
    name: str = ""
    tags: list = field(default_factory=list)
    created: str = ""
    size: float | None = None
    footprint_wkt: str = ""
    tile_url: str = ""
    tile_json_url: str = ""
    images: list = field(default_factory=list)

    @classmethod
    def from_json(cls, item):
        """Parse leniently; None without an id."""
        if not isinstance(item, dict) or not item.get("id"):
            return None
        layer = item.get("rasterLayer") if isinstance(item.get("rasterLayer"), dict) else {}
        return cls(str(item["id"]), str(item.get("name") or item["id"]),
                   [str(t) for t in item.get("tags") or [] if isinstance(t, str)], str(item.get("created_at") or ""),
                   number(item.get("sizeInBytes")), str(item.get("footprint") or ""), str(layer.get("tileUrl") or ""),
                   str(layer.get("tileJsonUrl") or ""))

    def total_size(self):
        """sizeInBytes, or the sum of its images' sizes."""
        if self.size is not None:
            return self.size
        sizes = [i.size for i in self.images if i.size is not None]
        return sum(sizes) if sizes else None


def browse(client, feedback):
    """(mosaics with their images, storage) of the account: one request for the list, one per mosaic."""
    mosaics = []
    for item in client.mosaics()[:MAX_MOSAICS]:
        mosaic = Mosaic.from_json(item)
        if mosaic is None:
            continue
        if feedback.isCanceled():
            break
        mosaic.images = [i for i in (Image.from_json(x) for x in client.mosaic_images(mosaic.id)) if i is not None]
        mosaics.append(mosaic)
    return mosaics, Storage.from_json(client.memory())


def mosaic_facts(mosaic):
    """(crs, bands, pixel size) the mosaic's images share, or Nones for an empty mosaic."""
    for image in mosaic.images if mosaic else []:
        if image.crs or image.bands or image.pixel_size:
            return image.crs or None, image.bands, image.pixel_size or None
    return None, None, None


def file_size(path):
    """The size of a file in bytes."""
    return os.path.getsize(path)
