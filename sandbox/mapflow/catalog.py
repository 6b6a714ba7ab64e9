"""Mapflow catalog endpoints (Data API image search and lookup), as a mixin of Mapflow."""

from __future__ import annotations

from ..base import ApiError, is_number, parse_time
from .geometry import bbox_of, geometry_area, polygon_error


class CatalogMixin:
    """Catalog: search images over an AOI with filters, get one image."""

    def catalog_search(self, req):
        """POST /catalog/meta {aoi, filters, limit, offset} → {images, total}."""
        body = req.json_body()
        aoi = body.get("aoi")
        if not isinstance(aoi, dict) or aoi.get("type") != "Polygon":
            raise ApiError(400, "aoi is required and must be a GeoJSON Polygon", "VALIDATION_ERROR")
        err = polygon_error(aoi, "aoi")
        if err:
            raise ApiError(400, err, "VALIDATION_ERROR")
        if geometry_area(aoi) > self.aoi_area_limit:
            raise ApiError(400, f"aoi area exceeds the AOI limit of {self.aoi_area_limit / 1e6:g} km²",
                           "AOI_TOO_LARGE")

        def number(key, lo=None, hi=None):
            value = body.get(key)
            if value is None:
                return None
            if not is_number(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
                bounds = f" between {lo} and {hi}" if lo is not None and hi is not None else ""
                raise ApiError(400, f"{key} must be a number{bounds}, got {value!r}", "VALIDATION_ERROR")
            return value

        max_cloud = number("maxCloudCover", 0, 1)
        min_res, max_res = number("minResolution", 0), number("maxResolution", 0)
        min_nadir, max_nadir = number("minOffNadirAngle", 0, 90), number("maxOffNadirAngle", 0, 90)
        min_inter = number("minAoiIntersectionPercent", 0, 100)
        dates = []
        for key in ("acquisitionDateFrom", "acquisitionDateTo"):
            value = body.get(key)
            parsed = parse_time(value) if value is not None else None
            if value is not None and parsed is None:
                raise ApiError(400, f"{key} must be an ISO 8601 date-time, got {value!r}", "VALIDATION_ERROR")
            dates.append(parsed.timestamp() if parsed else None)
        limit, offset = body.get("limit", 100), body.get("offset", 0)
        if not isinstance(limit, int) or not isinstance(offset, int) or limit < 1 or offset < 0:
            raise ApiError(400, "limit must be >= 1 and offset >= 0 (integers)", "VALIDATION_ERROR")
        ax0, ay0, ax1, ay1 = bbox_of(aoi["coordinates"][:1])
        aoi_box = max((ax1 - ax0) * (ay1 - ay0), 1e-18)
        found = []
        for img in self.images:
            ix0, iy0, ix1, iy1 = bbox_of(img["footprint"]["coordinates"][:1])
            inter_w, inter_h = min(ax1, ix1) - max(ax0, ix0), min(ay1, iy1) - max(ay0, iy0)
            if inter_w < 0 or inter_h < 0:
                continue
            # Assumption: intersection percent is measured on bounding boxes.
            if min_inter is not None and 100.0 * inter_w * inter_h / aoi_box < min_inter:
                continue
            when = parse_time(img["acquisitionDate"]).timestamp()
            if (dates[0] is not None and when < dates[0]) or (dates[1] is not None and when > dates[1]):
                continue
            if max_cloud is not None and img["cloudCover"] > max_cloud:
                continue
            if (min_res is not None and img["pixelResolution"] < min_res) or \
                    (max_res is not None and img["pixelResolution"] > max_res):
                continue
            if (min_nadir is not None and img["offNadirAngle"] < min_nadir) or \
                    (max_nadir is not None and img["offNadirAngle"] > max_nadir):
                continue
            found.append(img)
        found.sort(key=lambda i: i["acquisitionDate"], reverse=True)
        return {"images": found[offset:offset + limit], "total": len(found)}

    def catalog_image(self, req, image_id):
        """GET /catalog/meta/{image_id}."""
        img = self._image_index.get(image_id)
        if img is None:
            raise ApiError(404, f"Image '{image_id}' not found", "NOT_FOUND")
        return img
