"""Imagery helpers of the Mapflow emulator: PNG pictures, pre-signed URLs, footprints of uploads, tile endpoints.

Choices where the docs are silent:
- Pre-signed URLs live under {base}/presigned/... with `expires` and `signature` query parameters. Like S3 they
  refuse a request that also carries an Authorization header (400, "Only one auth mechanism allowed").
- Tiles ({base}/tiles/...) and their TileJSON: tiles are public (no credentials), TileJSON needs the token.
  Raster tiles are 256 px PNGs; vector tiles are empty MVT bodies (valid, no features).
- Footprints of uploads are computed for EPSG:4326 and EPSG:3857 GeoTIFFs; other CRSs get no footprint.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import struct
import time
import zlib
from functools import lru_cache

from ..base import ApiError, Response

PRESIGN_SECRET = b"mapbridge-sandbox-presign"
PRESIGN_SECONDS = 3600
EARTH = 6378137.0


@lru_cache(maxsize=16)
def png(width=256, height=256, tint=(40, 120, 200)):
    """A small RGB PNG (a diagonal gradient in the tint), made without any imaging library."""
    r, g, b = tint
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            shade = (x + y) * 255 // max(1, width + height - 2)
            rows += bytes(((r + shade) // 2, (g + shade) // 2, (b + shade) // 2))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows))) + \
        chunk(b"IEND", b"")


def _signature(path, expires):
    return hmac.new(PRESIGN_SECRET, f"{path}:{expires}".encode(), hashlib.sha256).hexdigest()


def presigned_url(base_url, path):
    """An absolute pre-signed URL for a /presigned/... path."""
    expires = int(time.time()) + PRESIGN_SECONDS
    return f"{base_url}{path}?expires={expires}&signature={_signature(path, expires)}"


def check_presigned(req):
    """Refuse a pre-signed request with credentials, a bad signature or past its expiry."""
    if req.auth_present:
        raise ApiError(400, "Only one auth mechanism allowed; a pre-signed URL takes no Authorization header",
                       "InvalidArgument")
    expires = req.arg("expires", "")
    signature = req.arg("signature", "")
    if not expires.isdigit() or not hmac.compare_digest(signature, _signature(req.path, int(expires))):
        raise ApiError(403, "The request signature does not match", "SignatureDoesNotMatch")
    if int(expires) < time.time():
        raise ApiError(403, "Request has expired", "AccessDenied")


def to_lonlat(x, y, epsg):
    """Lon/lat of a point in EPSG:4326 or EPSG:3857; None for other CRSs."""
    if epsg == 4326:
        return x, y
    if epsg == 3857:
        return math.degrees(x / EARTH), math.degrees(2 * math.atan(math.exp(y / EARTH)) - math.pi / 2)
    return None


def upload_footprint(info):
    """(WKT footprint in WGS84 with corners NW, NE, SE, SW, bbox) of a GeoTIFF's facts, or (None, None)."""
    origin, size, epsg = info.get("origin"), info.get("pixel_size"), info.get("epsg")
    if not origin or not size or not info.get("width") or not info.get("height"):
        return None, None
    x0, y0 = origin
    x1, y1 = x0 + size[0] * info["width"], y0 - size[1] * info["height"]
    corners = [to_lonlat(x, y, epsg) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
    if any(c is None for c in corners):
        return None, None
    ring = corners + [corners[0]]
    wkt = "POLYGON((" + ", ".join(f"{x:.8f} {y:.8f}" for x, y in ring) + "))"
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return wkt, [min(xs), min(ys), max(xs), max(ys)]


def tile_layer(base_url, kind, key):
    """{tileUrl, tileJsonUrl} of a tile set (kind: raster or vector)."""
    suffix = "png" if kind == "raster" else "pbf"
    return {"tileUrl": f"{base_url}/tiles/{kind}/{key}/{{z}}/{{x}}/{{y}}.{suffix}",
            "tileJsonUrl": f"{base_url}/tiles/{kind}/{key}/tile.json"}


class TilesMixin:
    """Tiles and TileJSON of processings (raster: the imagery used; vector: the results) and of mosaics."""

    def _tile_bounds(self, kind, key):
        if key in self.processings:
            from .geometry import bbox_of, polygons_of

            geometry = self.processings[key]["_geometry"]
            return list(bbox_of([ring for poly in polygons_of(geometry) for ring in poly[:1]]))
        if key in self.mosaics and kind == "raster":
            return self._mosaic_bbox(key)
        raise ApiError(404, f"No tiles for '{key}'", "NOT_FOUND")

    def tile_json(self, req, kind, key):
        """GET /tiles/{kind}/{key}/tile.json (with the token) → TileJSON with bounds."""
        bounds = self._tile_bounds(kind, key)
        urls = tile_layer(req.base_url, kind, key)
        return {"tilejson": "2.2.0", "tiles": [urls["tileUrl"]], "bounds": bounds or [-180, -85, 180, 85],
                "minzoom": 0 if kind == "raster" else 14, "maxzoom": 20 if kind == "raster" else 25}

    def tile(self, req, kind, key, z, x, y):
        """GET /tiles/{kind}/{key}/{z}/{x}/{y}.png|pbf (public)."""
        if kind == "raster":
            return Response(200, raw=png(256, 256, (90, 140, 60)), content_type="image/png")
        return Response(200, raw=b"", content_type="application/vnd.mapbox-vector-tile")
