"""Mapflow catalog endpoints (Data API image search and lookup), as a mixin of Mapflow."""

from __future__ import annotations

import random

from .. import seed as seeding
from ..base import ApiError, is_number, parse_time
from .geometry import bbox_of, geometry_area, polygon_error
from .imagery import presigned_url

# Choices where the notes leave room: images of the seeded cities get a provider of searchDataProviders, a zoom
# and a product type whose casing varies ("IMAGE", "Mosaic", "image"); the Data API page's own example image
# keeps its documented keys and is a Maxar IMAGE. One image in eight has an "xyz" preview, one in eight a "wms" one
# (sandbox/mapflow/wms.py), the rest "png".
PRODUCT_TYPES = ("IMAGE", "Mosaic", "image", "MOSAIC")
SORT_KEYS = {"PROVIDER_NAME": "providerName", "SAT_ID": "satId", "CLOUD_COVER": "cloudCover",
             "OFF_NADIR_ANGLE": "offNadirAngle", "ACQUISITION_DATE": "acquisitionDate", "ZOOM": "zoom",
             "PIXEL_RESOLUTION": "pixelResolution"}


class CatalogMixin:
    """Catalog: search images over an AOI with filters, get one image."""

    @staticmethod
    def _catalog_images(seed):
        """The seeded images with the keys the live catalog adds (provider, zoom, product type, preview)."""
        rng = random.Random(f"catalog-extras:{seed}")
        images = seeding.catalog_images(seed)
        for number, image in enumerate(images):
            doc = number == 0
            provider = "Maxar" if doc else rng.choice(("Maxar", "Maxar", "Airbus"))
            image.update(providerName=provider, satId=image["sensor"][:4],
                         zoom=17 if provider == "Airbus" else 18, minAreaSqkm=1.0 if provider == "Airbus" else 0.1,
                         previewType={7: "xyz", 3: "wms"}.get(number % 8, "png"))
            if not doc:
                image["productType"] = rng.choice(PRODUCT_TYPES)
        return images

    def _catalog_image_out(self, image, req, intersection=None):
        out = dict(image)
        if image["previewType"] == "xyz":
            out["previewUrl"] = f"{req.base_url}/tiles/raster/{image['id']}/{{z}}/{{x}}/{{y}}.png"
        elif image["previewType"] == "wms":
            out["previewUrl"] = self.wms_preview_url(req, image)
        else:
            out["previewUrl"] = presigned_url(req.base_url, f"/presigned/catalog/{image['id']}")
        if intersection is not None:
            out["aoiIntersectionPercent"] = round(intersection, 2)
        return out

    def catalog_search(self, req):
        """POST /catalog/meta {aoi, filters, limit, offset} → {images, total}."""
        body = req.json_body()
        aoi = body.get("aoi")
        if not isinstance(aoi, dict) or aoi.get("type") != "Polygon":
            raise ApiError(400, "aoi is required and must be a GeoJSON Polygon", "VALIDATION_ERROR")
        err = polygon_error(aoi, "aoi")
        if err:
            raise ApiError(400, err, "VALIDATION_ERROR")
        if geometry_area(aoi) > self.search_area_limit:
            raise ApiError(400, f"aoi area exceeds the search area limit of {self.search_area_limit / 1e6:g} km²",
                           "TOO_LARGE_PROCESSING", details={"area": round(geometry_area(aoi)),
                                                            "aoiAreaLimit": self.search_area_limit})

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
        product_types = self._string_list(body, "productTypes")
        providers = self._string_list(body, "dataProviders")
        sort_by, order = body.get("sortBy") or "ACQUISITION_DATE", body.get("sortOrder") or "DESC"
        if sort_by not in SORT_KEYS or order not in ("ASC", "DESC"):
            raise ApiError(400, f"sortBy must be one of {', '.join(SORT_KEYS)} and sortOrder ASC or DESC",
                           "VALIDATION_ERROR")
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
            if product_types is not None and img["productType"].upper() not in product_types:
                continue
            if providers is not None and img["providerName"] not in providers:
                continue
            found.append((img, 100.0 * inter_w * inter_h / aoi_box))
        found.sort(key=lambda pair: pair[0]["acquisitionDate"], reverse=True)
        found.sort(key=lambda pair: pair[0][SORT_KEYS[sort_by]], reverse=order == "DESC")
        page = [self._catalog_image_out(img, req, min(100.0, share)) for img, share in found[offset:offset + limit]]
        return {"images": page, "total": len(found), "limit": limit, "offset": offset}

    @staticmethod
    def _string_list(body, key):
        """An optional list of strings (upper-cased for productTypes); None when absent."""
        value = body.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ApiError(400, f"{key} must be a non-empty list of strings (omit it for all)", "VALIDATION_ERROR")
        return {v.upper() for v in value} if key == "productTypes" else set(value)

    def catalog_image(self, req, image_id):
        """GET /catalog/meta/{image_id}."""
        img = self._image_index.get(image_id)
        if img is None:
            raise ApiError(404, f"Image '{image_id}' not found", "NOT_FOUND")
        return self._catalog_image_out(img, req)
