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
from .results import DEFAULT_RESULT_FEATURES, write_result

FINAL = ("OK", "FAILED", "CANCELLED", "REFUNDED")
DATA_PROVIDERS = [
    {"name": "Mapbox", "displayName": "Mapbox Satellite", "price": [{"zoom": 18, "priceSqKm": 1.0}],
     "minAreaSqKm": 0.0},
    {"name": "Maxar SecureWatch", "displayName": "Maxar SecureWatch",
     "price": [{"zoom": 17, "priceSqKm": 4.0}, {"zoom": 18, "priceSqKm": 6.0}], "minAreaSqKm": 0.0},
    {"name": "Esri World Imagery", "displayName": "Esri World Imagery", "price": [{"zoom": 18, "priceSqKm": 1.0}],
     "minAreaSqKm": 0.0},
    {"name": "Sentinel-2", "displayName": "Sentinel-2 (10 m)", "price": [{"zoom": 14, "priceSqKm": 0.1}],
     "minAreaSqKm": 1.0},
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


class ProcessingsMixin:
    """Processings: quote and create, advance with time, get, AOIs, delete, cost, result file."""

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

    def _provider(self, body):
        params = body.get("params") if isinstance(body.get("params"), dict) else {}
        source = params.get("sourceParams") if isinstance(params.get("sourceParams"), dict) else {}
        provider = source.get("dataProvider") if isinstance(source.get("dataProvider"), dict) else None
        if provider is None:
            return None, None
        name = provider.get("providerName")
        for known in DATA_PROVIDERS:
            if known["name"] == name:
                return known, provider.get("zoom")
        raise ApiError(400, f"Unknown data provider {name!r}", "DATA_PROVIDER_NOT_FOUND",
                       details={"providerName": name})

    def _quote(self, body):
        """Validate a create/cost body; returns (workflow, area m², cost credits)."""
        geom = body.get("geometry")
        err = polygon_error(geom)
        if err:
            raise ApiError(400, err, "INVALID_GEOMETRY")
        n_aois = len(polygons_of(geom))
        if n_aois > self.max_aois:
            raise ApiError(400, f"At most {self.max_aois} AOIs per processing, got {n_aois}", "TOO_MANY_AOIS",
                           details={"maxAoisPerProcessing": self.max_aois, "aoiCount": n_aois})
        wd = self._workflow(body)
        provider, zoom = self._provider(body)
        area = geometry_area(geom)
        if area > self.aoi_area_limit:
            limit_km2 = self.aoi_area_limit / 1e6
            raise ApiError(400, f"AOI area {area / 1e6:.2f} km² exceeds your limit of {limit_km2:g} km²",
                           "AOI_TOO_LARGE", details={"aoiArea": round(area), "aoiAreaLimit": self.aoi_area_limit})
        price = wd["pricePerSqKm"]
        if provider:
            prices = provider["price"]
            price += next((p["priceSqKm"] for p in prices if p["zoom"] == zoom), prices[-1]["priceSqKm"])
        cost = max(1, math.ceil(area / 1e6 * price))
        return wd, area, cost

    def _new_processing(self, body, charge=True):
        wd, area, cost = self._quote(body)
        project_id = body.get("projectId") or self.default_project_id
        self._project(project_id)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "Processing name is required", "VALIDATION_ERROR")
        if charge and cost > self.remaining_credits:
            raise ApiError(400, f"Not enough credits: this processing costs {cost}, you have {self.remaining_credits}",
                           "NOT_ENOUGH_CREDITS", details={"cost": cost, "remainingCredits": self.remaining_credits})
        if charge:
            self.remaining_credits -= cost
        now = iso(time.time(), ms=True)
        proc = {"id": seeding.uuid4(self._rng), "name": name.strip(), "description": body.get("description") or "",
                "projectId": project_id, "status": "IN_PROGRESS", "percentCompleted": 0, "aoiArea": round(area),
                "aoiCount": len(polygons_of(body["geometry"])), "cost": cost, "created": now, "updated": now,
                "workflowDef": {"id": wd["id"], "name": wd["name"], "description": wd["description"]},
                "params": body.get("params") or {}, "meta": body.get("meta") or {}, "messages": [],
                "_geometry": body["geometry"], "_kind": wd["_kind"], "_start": time.monotonic(),
                "_seconds": float(self.processing_seconds), "_fail": "fail" in name.lower(), "_result": None}
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
            provider = ((proc["params"].get("sourceParams") or {}).get("dataProvider") or {}).get("providerName")
            proc["status"] = "FAILED"
            proc["messages"] = [{"code": "source.not_available",
                                 "parameters": {"source_type": provider or "Mapbox",
                                                "message": "The imagery source is not available for this area"}}]
        else:
            proc["status"] = "OK"

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

    def _processing_out(self, proc):
        self._advance(proc)
        return {k: v for k, v in proc.items() if not k.startswith("_")}

    def create_processing(self, req):
        """POST /processings/v2 → the processing as created (always IN_PROGRESS, 0 %)."""
        proc = self._new_processing(req.json_body())
        return {k: v for k, v in proc.items() if not k.startswith("_")}

    def get_processing(self, req, processing_id):
        """GET /processings/{id}/v2."""
        return self._processing_out(self._processing(processing_id))

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
        """POST /processing/cost/v2 → a number."""
        _, _, cost = self._quote(req.json_body())
        return cost

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
