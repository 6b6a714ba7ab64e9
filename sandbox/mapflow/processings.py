"""Mapflow processings endpoints: models, providers, cost, timed progress, AOIs and results, as a mixin."""

from __future__ import annotations

import math
import os
import random
import threading
import time

from .. import seed as seeding
from ..base import ApiError, Response, iso
from .geometry import geometry_area, polygon_error, polygons_of, ring_area
from .imagery import tile_layer
from .results import DEFAULT_RESULT_FEATURES, write_result

FINAL = ("OK", "FAILED", "CANCELLED", "REFUNDED")
DATA_PROVIDERS = [
    {"id": "b0f1e2d3-0000-4000-8000-000000000001", "name": "Mapbox", "displayName": "Mapbox Satellite",
     "price": [{"zoom": 18, "priceSqKm": 1.0}], "minAreaSqKm": 0.0},
    {"id": "b0f1e2d3-0000-4000-8000-000000000002", "name": "Maxar SecureWatch", "displayName": "Maxar SecureWatch",
     "price": [{"zoom": 17, "priceSqKm": 4.0}, {"zoom": 18, "priceSqKm": 6.0}], "minAreaSqKm": 0.0},
    {"id": "b0f1e2d3-0000-4000-8000-000000000003", "name": "Esri World Imagery", "displayName": "Esri World Imagery",
     "price": [{"zoom": 18, "priceSqKm": 1.0}], "minAreaSqKm": 0.0},
    {"id": "b0f1e2d3-0000-4000-8000-000000000004", "name": "Sentinel-2", "displayName": "Sentinel-2 (10 m)",
     "price": [{"zoom": 14, "priceSqKm": 0.1}], "minAreaSqKm": 1.0},
]
# Providers of the imagery catalog (searchDataProviders); an image's providerName is one of these names.
SEARCH_PROVIDERS = [
    {"id": "c0f1e2d3-0000-4000-8000-000000000001", "name": "Maxar", "displayName": "Maxar archive",
     "price": [{"zoom": 17, "priceSqKm": 8.0}, {"zoom": 18, "priceSqKm": 10.0}], "minAreaSqKm": 0.1},
    {"id": "c0f1e2d3-0000-4000-8000-000000000002", "name": "Airbus", "displayName": "Airbus OneAtlas",
     "price": [{"zoom": 17, "priceSqKm": 7.0}], "minAreaSqKm": 1.0},
]
WORKFLOWS = [
    ("🏠 Buildings", "buildings", 5.0, "Building footprints with heights and classes",
     [("Buildings", "Building detection", False, 5.0), ("Classification", "Building classification", True, 1.0),
      ("Heights", "Building heights", True, 2.0)]),
    ("🌲 Forest", "forest", 3.0, "Forest and tree-cover areas with height classes",
     [("Forest", "Forest segmentation", False, 3.0), ("Heights", "Forest height classes", True, 1.0)]),
    ("🚗 Roads", "roads", 4.0, "Road surface polygons",
     [("Roads", "Road segmentation", False, 4.0)]),
]
USER_DEFINED_TYPES = ("XYZ", "TMS", "QUADKEY")
USER_DEFINED_CRS = ("epsg:3857", "epsg:3395")


def _zoom_price(provider, zoom):
    """The price per km² of a provider at a zoom (None: the provider does not price that zoom)."""
    return next((p["priceSqKm"] for p in provider["price"] if p["zoom"] == zoom), None)


class ProcessingsMixin:
    """Processings: quote and create, advance with time, get, rename, restart, rate, review, AOIs, delete, cost."""

    def _workflow(self, body):
        wd_id, wd_name = body.get("wdId"), body.get("wdName")
        for wd in self.workflows:
            if (wd_id and wd["id"] == wd_id) or (wd_name and wd["name"] == wd_name):
                return wd
        if not wd_id and not wd_name:
            raise ApiError(400, "wdName or wdId is required", "VALIDATION_ERROR")
        names = ", ".join(wd["name"] for wd in self.workflows)
        raise ApiError(400, f"Unknown model {wd_name or wd_id!r}; available: {names}", "WORKFLOW_NOT_FOUND",
                       details={"wdName": wd_name, "wdId": wd_id})

    @staticmethod
    def _enabled_blocks(wd, body):
        """Names of the model's optional blocks switched on; all of them when the body has no `blocks`."""
        optional = [b["name"] for b in wd["blocks"] if b["optional"]]
        blocks = body.get("blocks")
        if blocks is None:
            return set(optional)
        if not isinstance(blocks, list):
            raise ApiError(400, "blocks must be a list of {name, enabled}", "VALIDATION_ERROR")
        enabled = set()
        for block in blocks:
            if not isinstance(block, dict) or not isinstance(block.get("enabled"), bool):
                raise ApiError(400, "each block must be {name, enabled: bool}", "VALIDATION_ERROR")
            if block.get("name") not in optional:
                raise ApiError(400, f"{block.get('name')!r} is not an optional block of {wd['name']}; optional: "
                               f"{', '.join(optional) or 'none'}", "VALIDATION_ERROR")
            if block["enabled"]:
                enabled.add(block["name"])
        return enabled

    def _source(self, body):
        """(price per km², minimum area km², provider name) of the body's imagery source, validated."""
        params = body.get("params") if isinstance(body.get("params"), dict) else {}
        source = params.get("sourceParams")
        if source is None:
            source = {"dataProvider": {"providerName": "Mapbox"}}
        if not isinstance(source, dict) or len(source) != 1:
            raise ApiError(400, "params.sourceParams must have exactly one of dataProvider, imagerySearch, "
                           "myImagery, userDefined", "VALIDATION_ERROR")
        kind, value = next(iter(source.items()))
        if not isinstance(value, dict):
            raise ApiError(400, f"sourceParams.{kind} must be an object", "VALIDATION_ERROR")
        handler = {"dataProvider": self._data_provider_source, "imagerySearch": self._search_source,
                   "myImagery": self._my_imagery_source, "userDefined": self._user_defined_source}.get(kind)
        if handler is None:
            raise ApiError(400, f"Unknown source {kind!r}", "VALIDATION_ERROR")
        return handler(value)

    @staticmethod
    def _priced(provider, zoom):
        if zoom is None:
            zoom = max(p["zoom"] for p in provider["price"])
        price = _zoom_price(provider, zoom)
        if price is None:
            zooms = ", ".join(str(p["zoom"]) for p in provider["price"])
            raise ApiError(400, f"Zoom {zoom} is not available for {provider['name']}; available: {zooms}",
                           "VALIDATION_ERROR", details={"zoom": zoom, "providerName": provider["name"]})
        return price

    def _data_provider_source(self, value):
        name = value.get("providerName")
        provider = next((p for p in DATA_PROVIDERS if p["name"] == name), None)
        if provider is None:
            raise ApiError(400, f"Unknown data provider {name!r}", "DATA_PROVIDER_NOT_FOUND",
                           details={"providerName": name})
        return self._priced(provider, value.get("zoom")), provider["minAreaSqKm"], provider["name"]

    def _search_source(self, value):
        ids = value.get("imageIds")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise ApiError(400, "imagerySearch.imageIds must be a non-empty list of image ids", "VALIDATION_ERROR")
        images = []
        for image_id in ids:
            image = self._image_index.get(image_id)
            if image is None:
                raise ApiError(400, f"Catalog image {image_id!r} not found", "VALIDATION_ERROR")
            images.append(image)
        wanted = str(value.get("dataProvider") or "")
        if any(img["providerName"].lower() != wanted for img in images):
            raise ApiError(400, f"imagerySearch.dataProvider must be the images' provider in lower case "
                           f"({images[0]['providerName'].lower()!r}), got {wanted!r}", "VALIDATION_ERROR")
        provider = next(p for p in SEARCH_PROVIDERS if p["name"] == images[0]["providerName"])
        return self._priced(provider, value.get("zoom")), provider["minAreaSqKm"], provider["name"]

    def _my_imagery_source(self, value):
        if value.get("mosaicId"):
            if value["mosaicId"] not in self.mosaics:
                raise ApiError(400, f"Mosaic {value['mosaicId']!r} not found", "VALIDATION_ERROR")
        elif isinstance(value.get("imageIds"), list) and value["imageIds"]:
            missing = [i for i in value["imageIds"] if i not in self.raster_images]
            if missing:
                raise ApiError(400, f"Images not found: {', '.join(map(str, missing))}", "VALIDATION_ERROR")
        else:
            raise ApiError(400, "myImagery needs mosaicId or imageIds", "VALIDATION_ERROR")
        return 0.0, 0.0, "My imagery"

    @staticmethod
    def _user_defined_source(value):
        kind = value.get("sourceType")
        url = value.get("url")
        if kind not in USER_DEFINED_TYPES:
            raise ApiError(400, f"userDefined.sourceType must be one of {', '.join(USER_DEFINED_TYPES)}",
                           "VALIDATION_ERROR")
        needed = ("{q}",) if kind == "QUADKEY" else ("{z}", "{x}", "{y}")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or \
                not all(n in url for n in needed):
            raise ApiError(400, f"userDefined.url must be an http(s) URL with {''.join(needed)}",
                           "VALIDATION_ERROR")
        if str(value.get("crs", "epsg:3857")).lower() not in USER_DEFINED_CRS:
            raise ApiError(400, "userDefined.crs must be epsg:3857 or epsg:3395", "VALIDATION_ERROR")
        zoom = value.get("zoom")
        if zoom is not None and (not isinstance(zoom, int) or not 0 <= zoom <= 22):
            raise ApiError(400, "userDefined.zoom must be an integer 0-22", "VALIDATION_ERROR")
        return 0.0, 0.0, "User defined"

    def _quote(self, body):
        """Validate a create/cost body; returns (workflow, area m², cost credits, enabled optional blocks)."""
        geom = body.get("geometry")
        err = polygon_error(geom)
        if err:
            raise ApiError(400, err, "INVALID_GEOMETRY")
        n_aois = len(polygons_of(geom))
        if n_aois > self.max_aois:
            raise ApiError(400, f"At most {self.max_aois} AOIs per processing, got {n_aois}", "TOO_MANY_AOIS",
                           details={"maxAoisPerProcessing": self.max_aois, "aoiCount": n_aois})
        wd = self._workflow(body)
        enabled = self._enabled_blocks(wd, body)
        source_price, min_area_km2, provider_name = self._source(body)
        area = geometry_area(geom)
        if area > self.aoi_area_limit:
            limit_km2 = self.aoi_area_limit / 1e6
            raise ApiError(400, f"AOI area {area / 1e6:.2f} km² exceeds your limit of {limit_km2:g} km²",
                           "TOO_LARGE_PROCESSING", details={"area": round(area), "aoiAreaLimit": self.aoi_area_limit})
        if area / 1e6 < min_area_km2:
            raise ApiError(400, f"The AOI is {area / 1e6:.3f} km²; {provider_name} needs at least {min_area_km2:g} km²",
                           "ProviderMinAreaError", details={"aoiArea": round(area / 1e6, 6),
                                                            "providerName": provider_name,
                                                            "providerMinArea": min_area_km2})
        price = wd["pricePerSqKm"] + source_price + sum(b["price"] for b in wd["blocks"] if b["name"] in enabled)
        cost = max(1, math.ceil(area / 1e6 * price))
        return wd, area, cost, enabled

    def _new_processing(self, body, charge=True, base_url=""):
        wd, area, cost, enabled = self._quote(body)
        project_id = body.get("projectId") or self.default_project_id
        self._project(project_id)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "Processing name is required", "VALIDATION_ERROR")
        if charge and self.billing_type == "AREA":
            # mapflow-notes: AREA accounts spend processing area (remainingArea, m²), not credits.
            if area > self.remaining_area:
                raise ApiError(400, f"Not enough processing area: this AOI is {area / 1e6:.2f} km², you have "
                               f"{self.remaining_area / 1e6:.2f} km²", "NOT_ENOUGH_AREA",
                               details={"aoiArea": round(area), "remainingArea": self.remaining_area})
            self.remaining_area -= round(area)
        elif charge and self.billing_type == "CREDITS":
            if cost > self.remaining_credits:
                raise ApiError(400, f"Not enough credits: this processing costs {cost}, you have "
                               f"{self.remaining_credits}", "NOT_ENOUGH_CREDITS",
                               details={"cost": cost, "remainingCredits": self.remaining_credits})
            self.remaining_credits -= cost
        now = iso(time.time(), ms=True)
        lowered = name.lower()
        proc = {"id": seeding.uuid4(self._rng), "name": name.strip(), "description": body.get("description") or "",
                "projectId": project_id, "status": "IN_PROGRESS", "percentCompleted": 0, "aoiArea": round(area),
                "aoiCount": len(polygons_of(body["geometry"])), "cost": cost, "created": now, "updated": now,
                "workflowDef": {"id": wd["id"], "name": wd["name"], "description": wd["description"]},
                "blocks": [{"name": b["name"], "displayName": b["displayName"],
                            "enabled": (not b["optional"]) or b["name"] in enabled} for b in wd["blocks"]],
                "params": body.get("params") or {"sourceParams": {"dataProvider": {"providerName": "Mapbox"}}},
                "meta": body.get("meta") or {}, "messages": [],
                "_geometry": body["geometry"], "_kind": "mixed" if "mixed" in lowered else wd["_kind"],
                "_start": time.monotonic(), "_seconds": float(self.processing_seconds), "_fail": "fail" in lowered,
                "_result": None}
        self.processings[proc["id"]] = proc
        return proc

    def _advance(self, proc):
        if proc["status"] in FINAL:
            return
        elapsed = time.monotonic() - proc["_start"]
        if proc["_seconds"] > 0 and elapsed < proc["_seconds"]:
            proc["percentCompleted"] = min(99, int(100 * elapsed / proc["_seconds"]))
            return
        proc["percentCompleted"] = 100
        proc["updated"] = iso(time.time(), ms=True)
        if proc["_fail"]:
            source = proc["params"].get("sourceParams") or {}
            provider = (source.get("dataProvider") or {}).get("providerName")
            proc["status"] = "FAILED"
            proc["messages"] = [{"code": "source-validator.SourceNotAvailable",
                                 "parameters": {"source_type": provider or "Mapbox",
                                                "message": "The imagery source is not available for this area"}}]
        else:
            proc["status"] = "OK"
            if self.review_enabled:
                proc["reviewStatus"] = {"reviewStatus": "IN_REVIEW"}

    def finish(self, processing_id, status=None):
        """Force a processing to its final state now (tests); status "OK"/"FAILED" overrides the name rule."""
        with self.lock:
            proc = self._processing(processing_id)
            proc["_start"] -= proc["_seconds"] + 1
            if status is not None:
                proc["_fail"] = status == "FAILED"
            self._advance(proc)
            return self._processing_out(proc)

    def _processing(self, processing_id):
        proc = self.processings.get(processing_id)
        if proc is None:
            raise ApiError(404, f"Processing '{processing_id}' not found", "PROCESSING_NOT_FOUND")
        return proc

    def _processing_out(self, proc, req=None):
        self._advance(proc)
        out = {k: v for k, v in proc.items() if not k.startswith("_")}
        if req is not None:
            out["rasterLayer"] = tile_layer(req.base_url, "raster", proc["id"])
            out["vectorLayer"] = tile_layer(req.base_url, "vector", proc["id"])
        return out

    def create_processing(self, req):
        """POST /processings/v2 → the processing as created (always IN_PROGRESS, 0 %)."""
        proc = self._new_processing(req.json_body())
        return self._processing_out(proc, req)

    def get_processing(self, req, processing_id):
        """GET /processings/{id}/v2."""
        return self._processing_out(self._processing(processing_id), req)

    def rename_processing(self, req, processing_id):
        """PUT /processings/{id}/v2 {name, description?} → the processing."""
        proc = self._processing(processing_id)
        body = req.json_body()
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "name must be a non-empty string", "VALIDATION_ERROR")
        proc["name"] = name.strip()
        if "description" in body:
            proc["description"] = body["description"] or ""
        proc["updated"] = iso(time.time(), ms=True)
        return self._processing_out(proc, req)

    def restart_processing(self, req, processing_id):
        """POST /processings/{id}/restart/v2: a FAILED or CANCELLED processing runs again (and succeeds)."""
        proc = self._processing(processing_id)
        self._advance(proc)
        if proc["status"] not in ("FAILED", "CANCELLED"):
            raise ApiError(400, f"Only FAILED or CANCELLED processings can be restarted; this one is "
                           f"{proc['status']}", "PROCESSING_CANNOT_BE_RESTARTED")
        proc.update(status="IN_PROGRESS", percentCompleted=0, messages=[], updated=iso(time.time(), ms=True),
                    _start=time.monotonic(), _fail=False, _seconds=float(self.processing_seconds))
        return self._processing_out(proc, req)

    def rate_processing(self, req, processing_id):
        """PUT /processings/{id}/rate {rating 1..5, feedback} (status OK only)."""
        proc = self._processing(processing_id)
        self._advance(proc)
        body = req.json_body()
        rating = body.get("rating")
        if proc["status"] != "OK":
            raise ApiError(400, f"Only finished (OK) processings can be rated; this one is {proc['status']}",
                           "VALIDATION_ERROR")
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            raise ApiError(400, "rating must be an integer 1..5", "VALIDATION_ERROR")
        proc["rating"] = {"rating": rating, "feedback": str(body.get("feedback") or "")}
        return self._processing_out(proc, req)

    def _in_review(self, processing_id):
        proc = self._processing(processing_id)
        self._advance(proc)
        if not self.review_enabled or (proc.get("reviewStatus") or {}).get("reviewStatus") != "IN_REVIEW":
            raise ApiError(400, "This processing is not under review", "VALIDATION_ERROR")
        return proc

    def accept_processing(self, req, processing_id):
        """PUT /processings/{id}/acceptation (no body): a processing under review is accepted."""
        proc = self._in_review(processing_id)
        proc["reviewStatus"] = {"reviewStatus": "ACCEPTED"}
        return self._processing_out(proc, req)

    def reject_processing(self, req, processing_id):
        """PUT /processings/{id}/rejection {comment, features: FeatureCollection}."""
        proc = self._in_review(processing_id)
        body = req.json_body()
        features = body.get("features")
        if not isinstance(features, dict) or features.get("type") != "FeatureCollection":
            raise ApiError(400, "features must be a GeoJSON FeatureCollection", "VALIDATION_ERROR")
        proc["reviewStatus"] = {"reviewStatus": "REFUSED", "comment": str(body.get("comment") or "")}
        return self._processing_out(proc, req)

    def get_aois(self, req, processing_id):
        """GET /processings/{id}/aois → [{id, status, percentCompleted, area, geometry, messages}]."""
        proc = self._processing(processing_id)
        self._advance(proc)
        rng = random.Random(f"aoi:{processing_id}")
        return [{"id": seeding.uuid4(rng), "status": proc["status"], "percentCompleted": proc["percentCompleted"],
                 "area": round(ring_area(poly[0])), "geometry": {"type": "Polygon", "coordinates": poly},
                 "messages": proc["messages"]} for poly in polygons_of(proc["_geometry"])]

    def delete_processing(self, req, processing_id):
        """DELETE /processings/{id}."""
        proc = self._processing(processing_id)
        del self.processings[processing_id]
        if proc["_result"]:
            try:
                os.remove(proc["_result"][1])
            except OSError:
                pass
        return {"id": processing_id, "deleted": True}

    def processing_cost(self, req):
        """POST /processing/cost/v2 → a bare integer as plain text (credits), as the live service answers."""
        cost = self._quote(req.json_body())[2]
        return Response(200, raw=str(cost), content_type="text/plain")

    def get_result(self, req, processing_id):
        """GET /processings/{id}/result: GeoJSON streamed from a temp file (409 unless OK)."""
        with self.lock:
            proc = self._processing(processing_id)
            self._advance(proc)
            if proc["status"] != "OK":
                raise ApiError(409, f"Processing is {proc['status']}; results are available only when it is OK",
                               "PROCESSING_NOT_COMPLETED", details={"status": proc["status"]})
            count = self.result_features if self.result_features is not None else DEFAULT_RESULT_FEATURES
            lock = self._result_locks.setdefault(processing_id, threading.Lock())
        with lock:
            cached = proc["_result"]
            if cached is None or cached[0] != count or not os.path.exists(cached[1]):
                path = os.path.join(self.tmpdir, f"result-{processing_id}-{count}.geojson")
                write_result(path, proc["_geometry"], int(count), proc["_kind"], f"{self.seed}:{processing_id}")
                if cached and cached[1] != path:
                    try:
                        os.remove(cached[1])
                    except OSError:
                        pass
                proc["_result"] = (count, path)
            path = proc["_result"][1]
        return Response(200, file=path, content_type="application/geo+json")
