"""Mapsemble emulator: maps and their GeoJSON features with upsert by remote field and plan limits."""

# The Mapsemble page documents only the feature endpoints' methods and bodies; every response shape
# here is an assumption:
# - errors: {"error": {"code", "message"[, "details"]}}
# - GET /maps → {"data": [{id, name, plan, remoteField, featureCount, fields}]}; GET /maps/{id} → {"data": {...}}
# - GET features → {"type": "FeatureCollection", "features": [...], "meta": {total, page, per_page, last_page}}
#   (page default 1, per_page default 100, max 1000)
# - POST → 201 {"created", "updated", "ids"}; PUT → 200 same (unknown features are created);
#   PATCH → 200 {"updated", "ids"} (unknown features → 404, nothing changed);
#   DELETE → 200 {"deleted"} (features it does not hold are left out of the count).
# - A map made strict (set_strict) answers 404 NOT_FOUND naming features[i] to a PUT or DELETE naming a feature id it
#   does not hold, and changes nothing: the other reasonable reading of the docs' silence.
# - Invalid GeoJSON → 422 VALIDATION_ERROR naming features[i]; not a FeatureCollection → 400;
#   more than 1,000 features in one request → 413 PAYLOAD_TOO_LARGE;
#   free plan over 100 features → 403 PLAN_LIMIT_EXCEEDED. Every write is all-or-nothing.

from __future__ import annotations

import copy

from . import seed as seeding
from .base import ApiError, Response, Service, is_number

MAX_PER_REQUEST = 1000
FREE_PLAN_LIMIT = 100
GEOMETRY_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2,
                  "MultiPolygon": 3}


def _position_error(pos):
    if not isinstance(pos, list) or len(pos) not in (2, 3) or not all(is_number(c) for c in pos):
        return f"position {pos!r} must be [longitude, latitude] numbers"
    if not -180 <= pos[0] <= 180:
        return f"longitude {pos[0]} out of range -180..180"
    if not -90 <= pos[1] <= 90:
        return f"latitude {pos[1]} out of range -90..90"
    return None


def _coords_error(coords, depth):
    if depth == 0:
        return _position_error(coords)
    if not isinstance(coords, list):
        return "coordinates must be nested arrays"
    for item in coords:
        err = _coords_error(item, depth - 1)
        if err:
            return err
    return None


def geometry_error(geom):
    """Why a GeoJSON geometry is invalid, or None."""
    if not isinstance(geom, dict):
        return "geometry must be an object"
    gtype = geom.get("type")
    if gtype == "GeometryCollection":
        geoms = geom.get("geometries")
        if not isinstance(geoms, list) or not geoms:
            return "GeometryCollection needs a non-empty 'geometries' array"
        for sub in geoms:
            err = geometry_error(sub)
            if err:
                return err
        return None
    if gtype not in GEOMETRY_DEPTH:
        return f"unsupported geometry type {gtype!r}"
    coords = geom.get("coordinates")
    depth = GEOMETRY_DEPTH[gtype]
    err = _coords_error(coords, depth)
    if err:
        return err
    if depth and not coords:
        return f"{gtype} has no coordinates"
    if gtype in ("LineString", "MultiLineString"):
        lines = [coords] if gtype == "LineString" else coords
        if any(len(line) < 2 for line in lines):
            return "a line needs at least 2 positions"
    if gtype in ("Polygon", "MultiPolygon"):
        rings = coords if gtype == "Polygon" else [r for poly in coords for r in poly]
        for ring in rings:
            if len(ring) < 4:
                return "a polygon ring needs at least 4 positions"
            if ring[0][:2] != ring[-1][:2]:
                return "a polygon ring must be closed (first position == last)"
    return None


class Mapsemble(Service):
    """State and routes of the Mapsemble API (base .../mapsemble/api/v1)."""

    name = "mapsemble"
    uppercase_codes = True
    ROUTES = (
        ("GET", r"/maps", "list_maps"),
        ("GET", r"/maps/([^/]+)", "get_map"),
        ("GET", r"/maps/([^/]+)/features", "list_features"),
        ("POST", r"/maps/([^/]+)/features", "create_features"),
        ("PUT", r"/maps/([^/]+)/features", "replace_features"),
        ("PATCH", r"/maps/([^/]+)/features", "patch_features"),
        ("DELETE", r"/maps/([^/]+)/features", "delete_features"),
    )

    def __init__(self, token, *, seed=1):
        super().__init__(token)
        self._rng = seeding.rng_for(seed, "mapsemble")
        self.maps = {}
        fields = [{"slug": "label", "name": "Label", "type": "text"},
                  {"slug": "category", "name": "Category", "type": "select"},
                  {"slug": "rating", "name": "Rating", "type": "number"},
                  {"slug": "opened", "name": "Opened", "type": "date"}]
        for map_id, name, plan, remote, count, center in (
                ("ms_demo", "Demo stores", "pro", "external_id", 25, (4.9041, 52.3676)),
                ("ms_free", "Free plan map", "free", None, 10, (2.3522, 48.8566)),
                ("ms_plain", "Plain map", "pro", None, 5, (-3.7038, 40.4168))):
            map_fields = fields + ([{"slug": "external_id", "name": "External ID", "type": "text"}] if remote else [])
            self.maps[map_id] = {"id": map_id, "name": name, "plan": plan, "remoteField": remote,
                                 "fields": map_fields, "_features": {}}
            for feat in seeding.mapsemble_features(self._rng, count, center, name.split()[0], remote=bool(remote)):
                self._store(self.maps[map_id], None, feat["geometry"], feat["properties"])

    # -- state helpers ---------------------------------------------------------------------
    def features(self, map_id):
        """Features of a map as GeoJSON Feature dicts (deep copies, for tests)."""
        with self.lock:
            return [self._out(f) for f in self._map(map_id)["_features"].values()]

    def remove_map(self, map_id):
        """Delete a map as its owner would in the web app (the API documents no endpoint for it)."""
        with self.lock:
            self._map(map_id)
            del self.maps[map_id]

    def set_strict(self, map_id, strict=True):
        """Tests: PUT and DELETE of features the map does not hold answer 404 instead of creating / skipping them."""
        with self.lock:
            self._map(map_id)["_strict"] = bool(strict)

    def _refuse_unknown(self, m, feats):
        """A strict map's 404 for the first feature naming an id the map does not hold."""
        if not m.get("_strict"):
            return
        for i, feat in enumerate(feats):
            fid = feat.get("id") if isinstance(feat, dict) else None
            if fid is not None and str(fid) not in m["_features"]:
                raise ApiError(404, f"features[{i}]: no feature with id {fid!r}", "NOT_FOUND",
                               details=[{"index": i, "message": "no matching feature"}])

    def set_remote_field(self, map_id, slug):
        """Set (or clear, with None) a map's remoteField, as its owner would in the map settings."""
        with self.lock:
            self._map(map_id)["remoteField"] = slug

    def lock_features(self, map_id, ids):
        """Tests: features a DELETE leaves in place without an error, only its count tells (locked in the web app)."""
        with self.lock:
            self._map(map_id)["_locked"] = set(ids)

    def set_plan(self, map_id, plan):
        """Switch a map between "free" and "pro"."""
        with self.lock:
            self._map(map_id)["plan"] = plan

    def _map(self, map_id):
        m = self.maps.get(map_id)
        if m is None:
            raise ApiError(404, f"Map '{map_id}' not found", "NOT_FOUND")
        return m

    @staticmethod
    def _out(feat):
        return {"type": "Feature", "id": feat["id"], "geometry": copy.deepcopy(feat["geometry"]),
                "properties": copy.deepcopy(feat["properties"])}

    def _map_out(self, m):
        out = {k: v for k, v in m.items() if not k.startswith("_")}
        if m.get("_hide_remote_field"):
            # Tests: a map whose remoteField is set in its settings but not shown by the API (the docs never say
            # that the map's answer carries it).
            out.pop("remoteField", None)
        out["featureCount"] = len(m["_features"])
        return out

    def _store(self, m, feat_id, geometry, properties):
        feat_id = feat_id or "ftr_" + seeding.base62(self._rng, 12)
        m["_features"][feat_id] = {"id": feat_id, "geometry": copy.deepcopy(geometry),
                                   "properties": copy.deepcopy(properties or {})}
        return feat_id

    @staticmethod
    def _remote_key(value):
        # Assumption: remote ids compare as strings ("12" matches 12); null/"" never match.
        if value is None or value == "" or isinstance(value, (dict, list)):
            return None
        return str(value)

    def _remote_index(self, m):
        """{remote key: feature id} for a map with a remoteField."""
        remote = m["remoteField"]
        if not remote:
            return {}
        index = {}
        for feat in m["_features"].values():
            key = self._remote_key(feat["properties"].get(remote))
            if key is not None:
                index.setdefault(key, feat["id"])
        return index

    def _find(self, m, feature, index=None, by_id=True):
        """Existing feature id matched by top-level "id", else by the map's remote field."""
        fid = feature.get("id") if by_id else None
        if fid is not None and str(fid) in m["_features"]:
            return str(fid)
        remote = m["remoteField"]
        if remote:
            key = self._remote_key((feature.get("properties") or {}).get(remote))
            if key is not None:
                if index is None:
                    index = self._remote_index(m)
                return index.get(key)
        return None

    # -- validation ----------------------------------------------------------------------------
    def _collection(self, req, geometry_required=True):
        body = req.json_body()
        if body.get("type") != "FeatureCollection" or not isinstance(body.get("features"), list):
            raise ApiError(400, 'The body must be a GeoJSON FeatureCollection: {"type": "FeatureCollection", '
                           '"features": [...]}', "VALIDATION_ERROR")
        feats = body["features"]
        if len(feats) > MAX_PER_REQUEST:
            raise ApiError(413, f"At most {MAX_PER_REQUEST} features per request (got {len(feats)}); "
                           "send them in batches", "PAYLOAD_TOO_LARGE")
        details = []
        for i, feat in enumerate(feats):
            err = None
            if not isinstance(feat, dict) or feat.get("type") != "Feature":
                err = 'must be a GeoJSON Feature ({"type": "Feature", ...})'
            elif feat.get("properties") is not None and not isinstance(feat.get("properties"), dict):
                err = "properties must be an object or null"
            elif feat.get("geometry") is not None or geometry_required:
                err = geometry_error(feat.get("geometry"))
                err = f"geometry: {err}" if err else None
            if err:
                details.append({"index": i, "message": err})
        if details:
            raise ApiError(422, f"features[{details[0]['index']}]: {details[0]['message']}", "VALIDATION_ERROR",
                           details=details)
        return feats

    def _check_plan(self, m, new_count):
        if m["plan"] == "free" and len(m["_features"]) + new_count > FREE_PLAN_LIMIT:
            raise ApiError(403, f"The Free plan allows {FREE_PLAN_LIMIT} features via the API; this request would "
                           f"bring map '{m['id']}' to {len(m['_features']) + new_count}. Upgrade to Pro.",
                           "PLAN_LIMIT_EXCEEDED")

    def _upsert(self, m, feats, match_ids):
        """Plan the writes, check the plan limit, then apply. Returns (created, updated, ids)."""
        plan = []
        pending_remote = {}
        remote = m["remoteField"]
        new = 0
        index = self._remote_index(m)
        for feat in feats:
            target = self._find(m, feat, index, by_id=match_ids)
            key = self._remote_key((feat.get("properties") or {}).get(remote)) if remote else None
            if target is None and key is not None and key in pending_remote:
                target = pending_remote[key]
            if target is None:
                new += 1
                target = ("new", len(plan))
                if key is not None:
                    pending_remote[key] = target
            plan.append((target, feat))
        self._check_plan(m, new)
        created = updated = 0
        ids = []
        new_ids = {}
        for target, feat in plan:
            if isinstance(target, tuple):
                if target in new_ids:
                    fid = new_ids[target]
                    m["_features"][fid].update(geometry=copy.deepcopy(feat["geometry"]),
                                               properties=copy.deepcopy(feat.get("properties") or {}))
                    updated += 1
                else:
                    fid = new_ids[target] = self._store(m, None, feat["geometry"], feat.get("properties"))
                    created += 1
            else:
                fid = target
                m["_features"][fid].update(geometry=copy.deepcopy(feat["geometry"]),
                                           properties=copy.deepcopy(feat.get("properties") or {}))
                updated += 1
            ids.append(fid)
        return created, updated, ids

    # -- handlers ------------------------------------------------------------------------------
    def error_body(self, req, status, code, message, details):
        """Assumption (undocumented): {"error": {"code", "message"[, "details"]}}."""
        err = {"code": code, "message": message}
        if details is not None:
            err["details"] = details
        return {"error": err}

    def list_maps(self, req):
        """GET /maps."""
        return {"data": [self._map_out(m) for m in self.maps.values()]}

    def get_map(self, req, map_id):
        """GET /maps/{id}."""
        return {"data": self._map_out(self._map(map_id))}

    def list_features(self, req, map_id):
        """GET /maps/{id}/features?page=&per_page=."""
        m = self._map(map_id)
        page = req.int_arg("page", 1, 1)
        per_page = req.int_arg("per_page", 100, 1, MAX_PER_REQUEST)
        feats = list(m["_features"].values())
        chunk = feats[(page - 1) * per_page:page * per_page]
        return {"type": "FeatureCollection", "features": [self._out(f) for f in chunk],
                "meta": {"total": len(feats), "page": page, "per_page": per_page,
                         "last_page": max(1, -(-len(feats) // per_page))}}

    def create_features(self, req, map_id):
        """POST: create; with a remoteField, features whose remote id exists are updated (upsert)."""
        m = self._map(map_id)
        feats = self._collection(req)
        created, updated, ids = self._upsert(m, feats, match_ids=False)
        return Response(201, {"created": created, "updated": updated, "ids": ids})

    def replace_features(self, req, map_id):
        """PUT: replace features matched by "id" or remote field; unmatched ones are created (choice)."""
        m = self._map(map_id)
        feats = self._collection(req)
        self._refuse_unknown(m, feats)
        created, updated, ids = self._upsert(m, feats, match_ids=True)
        return {"created": created, "updated": updated, "ids": ids}

    def patch_features(self, req, map_id):
        """PATCH: merge given properties (and geometry if present) into matched features."""
        m = self._map(map_id)
        feats = self._collection(req, geometry_required=False)
        targets = []
        index = self._remote_index(m)
        for i, feat in enumerate(feats):
            target = self._find(m, feat, index)
            if target is None:
                raise ApiError(404, f"features[{i}]: no feature matches id {feat.get('id')!r}"
                               + (f" or {m['remoteField']}" if m["remoteField"] else ""), "NOT_FOUND",
                               details=[{"index": i, "message": "no matching feature"}])
            targets.append(target)
        for target, feat in zip(targets, feats):
            stored = m["_features"][target]
            stored["properties"].update(copy.deepcopy(feat.get("properties") or {}))
            if feat.get("geometry") is not None:
                stored["geometry"] = copy.deepcopy(feat["geometry"])
        return {"updated": len(targets), "ids": targets}

    def delete_features(self, req, map_id):
        """DELETE: body FeatureCollection, {"ids": [...]} or {"remote_ids": [...]} → {"deleted": n}."""
        m = self._map(map_id)
        body = req.json_body()
        doomed = set()
        index = self._remote_index(m)
        if body.get("type") == "FeatureCollection":
            self._refuse_unknown(m, body.get("features") or [])
            for feat in body.get("features") or []:
                target = self._find(m, feat, index) if isinstance(feat, dict) else None
                if target:
                    doomed.add(target)
        elif isinstance(body.get("ids"), list) or isinstance(body.get("remote_ids"), list):
            for fid in body.get("ids") or []:
                if str(fid) in m["_features"]:
                    doomed.add(str(fid))
            for rid in body.get("remote_ids") or []:
                if not m["remoteField"]:
                    raise ApiError(400, f"Map '{map_id}' has no remoteField; use ids", "VALIDATION_ERROR")
                target = self._find(m, {"properties": {m["remoteField"]: rid}}, index)
                if target:
                    doomed.add(target)
        else:
            raise ApiError(400, 'Body must be a FeatureCollection, {"ids": [...]} or {"remote_ids": [...]}',
                           "VALIDATION_ERROR")
        doomed -= m.get("_locked") or set()
        for fid in doomed:
            del m["_features"][fid]
        return {"deleted": len(doomed)}
