"""Mapiry emulator: maps, locations (paged, bulk), categories, tags, layers, keys, scopes, rate limits."""

# Choices where the docs are silent:
# - There is no GET /maps (the docs list none); the seeded map is "map_demo" ("Demo map").
# - pageSize outside 1..100 or page < 1 → 400 VALIDATION_ERROR; totalPages = ceil(total / pageSize).
# - PUT on maps, locations, categories, tags, layers is a partial update of the given fields.
# - DELETE → 200 {"data": {"id", "deleted": true}} (keys: {"data": {"id", "revoked": true}}).
# - Validation errors carry "details": [{"field", "message"}], plus "index" for bulk.
# - Rate limits: fixed one-hour windows starting at a bucket's first request; X-RateLimit-* describe the
#   request's own bucket (maps/bulk for those two endpoints, else general); rejected requests do not count.
# - GET /keys → {"data": [{id, name, scope, prefix, createdAt, expiresAt, lastUsedAt}]}; POST /keys
#   {name, scope?=READ_WRITE, expiresAt?} → 201 with the secret in "key".

from __future__ import annotations

import math
import re
import time

from . import seed as seeding
from .base import ApiError, Response, Service, is_number, iso, parse_time

DEFAULT_LIMITS = {"general": 1000, "maps": 50, "bulk": 20}
WINDOW_SECONDS = 3600
UNLIMITED = 1_000_000
MAX_BULK = 100
MAX_ACTIVE_KEYS = 10
BULK_PATH = re.compile(r"/maps/[^/]+/locations/bulk\Z")


def _now():
    return iso(time.time(), ms=True)


def _slug(text):
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "map"


class Mapiry(Service):
    """State and routes of the Mapiry public API (base .../mapiry/api/v1)."""

    name = "mapiry"
    uppercase_codes = True
    M = r"/maps/([^/]+)"
    ROUTES = (
        ("POST", r"/maps", "create_map"),
        ("GET", M, "get_map"),
        ("PUT", M, "update_map"),
        ("DELETE", M, "delete_map"),
        ("GET", M + r"/locations", "list_locations"),
        ("POST", M + r"/locations", "create_location"),
        ("POST", M + r"/locations/bulk", "bulk_locations"),
        ("GET", M + r"/locations/([^/]+)", "get_location"),
        ("PUT", M + r"/locations/([^/]+)", "update_location"),
        ("DELETE", M + r"/locations/([^/]+)", "delete_location"),
        ("PUT", M + r"/locations/([^/]+)/layers", "set_location_layers"),
        ("GET", M + r"/(categories|tags|layers)", "list_items"),
        ("POST", M + r"/(categories|tags|layers)", "create_item"),
        ("PUT", M + r"/(categories|tags|layers)/([^/]+)", "update_item"),
        ("DELETE", M + r"/(categories|tags|layers)/([^/]+)", "delete_item"),
        ("GET", r"/keys", "list_keys"),
        ("POST", r"/keys", "create_key"),
        ("DELETE", r"/keys/([^/]+)", "delete_key"),
    )

    def __init__(self, token, *, seed=1, rate_limits=True, window_seconds=WINDOW_SECONDS):
        super().__init__(token)
        self.rate_limits_enabled = rate_limits
        self.window_seconds = window_seconds     # the documented hour; benchmarks may compress it
        self.limits = dict(DEFAULT_LIMITS)   # tests may lower these
        # Undocumented, so tests may switch them: the body key of PUT .../locations/:locId/layers, and whether a
        # location's description may be set to null (else 400, "" clears it).
        self.layer_body_key = "layerIds"
        self.null_description = True
        self._windows = {}
        self._rng = seeding.rng_for(seed, "mapiry-ids")
        self.user_id = "user_sandbox"
        created = "2026-03-01T00:00:00.000Z"
        # Tokens: the default one is READ_WRITE; special ones exercise the documented error codes.
        self.keys = {}
        for token_value, name, scope, expires, pro in (
                (token, "Sandbox key", "READ_WRITE", None, True),
                ("mk_live_readonly", "Read-only key", "READ_ONLY", None, True),
                ("mk_live_expired", "Expired key", "READ_WRITE", "2025-01-01T00:00:00.000Z", True),
                ("mk_live_nopro", "Free account key", "READ_WRITE", None, False)):
            self.keys[token_value] = {"id": seeding.cuid(self._rng), "name": name, "scope": scope,
                                      "createdAt": created, "expiresAt": expires, "lastUsedAt": None,
                                      "revoked": False, "pro": pro}
        self.maps = {}
        self._seed_demo(seed, created)

    # -- seed & helpers ----------------------------------------------------------------------
    def _new_map(self, map_id, title, description, created):
        return {"id": map_id, "title": title, "slug": _slug(title), "description": description, "country": "",
                "city": "", "public": False, "allowCloning": True, "style": "streets-v12", "centerLat": None,
                "centerLng": None, "zoom": None, "userId": self.user_id, "createdAt": created,
                "updatedAt": created, "_locations": {}, "_categories": {}, "_tags": {}, "_layers": {}}

    def _seed_demo(self, seed, created):
        m = self._new_map("map_demo", "Demo map", "Seeded sandbox map", created)
        m.update({"country": "Japan", "city": "Tokyo", "centerLat": 35.6762, "centerLng": 139.6503, "zoom": 11})
        data = seeding.mapiry_seed(seed)
        for cat in data["categories"]:
            m["_categories"][cat["id"]] = dict(cat, mapId=m["id"], createdAt=created, updatedAt=created)
        for tag in data["tags"]:
            m["_tags"][tag["id"]] = dict(tag, mapId=m["id"], createdAt=created, updatedAt=created)
        for layer in data["layers"]:
            m["_layers"][layer["id"]] = dict(layer, routeEnabled=False, routeShowByDefault=False, mapId=m["id"],
                                             createdAt=created, updatedAt=created)
        for loc in data["locations"]:
            m["_locations"][loc["id"]] = dict(loc, tagIds=[], mapId=m["id"], createdAt=created, updatedAt=created)
        self.maps[m["id"]] = m

    def _map(self, map_id):
        m = self.maps.get(map_id)
        if m is None:
            raise ApiError(404, f"Map '{map_id}' not found", "NOT_FOUND")
        return m

    @staticmethod
    def _public(obj):
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _location_out(self, m, loc):
        out = {k: v for k, v in loc.items() if k != "layerIds"}
        out["layers"] = [dict(m["_layers"][lid]) for lid in loc["layerIds"] if lid in m["_layers"]]
        return out

    def locations(self, map_id):
        """Locations of a map as the API returns them (state inspection for tests)."""
        with self.lock:
            m = self._map(map_id)
            return [self._location_out(m, loc) for loc in m["_locations"].values()]

    def get_maps(self):
        """All maps (without nested collections)."""
        with self.lock:
            return [self._public(m) for m in self.maps.values()]

    def reset_rate_limits(self):
        """Forget all rate-limit counters."""
        with self.lock:
            self._windows.clear()

    # -- auth, rate limits ---------------------------------------------------------------------
    def error_body(self, req, status, code, message, details):
        """{"error": {"code", "message"[, "details"]}} as in the docs."""
        err = {"code": code, "message": message}
        if details is not None:
            err["details"] = details
        return {"error": err}

    def default_code(self, status):
        """Mapiry's documented codes for the statuses it documents."""
        return {401: "INVALID_API_KEY", 429: "RATE_LIMIT_EXCEEDED"}.get(status) or super().default_code(status)

    def authenticate(self, req):
        """Bearer key; documented 401/403 codes; READ_ONLY keys may only GET."""
        if not req.auth_present:
            raise ApiError(401, "No Authorization header provided", "MISSING_API_KEY")
        key = self.keys.get(req.auth_token) if req.auth_scheme == "bearer" else None
        if key is None or key["revoked"]:
            raise ApiError(401, "The API key is invalid or has been revoked.", "INVALID_API_KEY")
        if key["expiresAt"] and parse_time(key["expiresAt"]).timestamp() <= time.time():
            raise ApiError(401, "The API key has expired.", "API_KEY_EXPIRED")
        if not key["pro"]:
            raise ApiError(403, "API access requires an active Pro subscription.", "PRO_SUBSCRIPTION_REQUIRED")
        if key["scope"] == "READ_ONLY" and req.method != "GET":
            raise ApiError(403, f"This key's scope (READ_ONLY) does not allow {req.method}.", "INSUFFICIENT_SCOPE")
        key["lastUsedAt"] = _now()

    def _window(self, bucket, now):
        win = self._windows.get(bucket)
        if win is None or now >= win[0] + self.window_seconds:
            win = self._windows[bucket] = [now, 0]
        return win

    def before(self, req):
        """Per-account rate limits: general, POST /maps, bulk create."""
        buckets = ["general"]
        if req.method == "POST" and req.path == "/maps":
            buckets.append("maps")
        elif req.method == "POST" and BULK_PATH.match(req.path):
            buckets.append("bulk")
        req.extra["rl_bucket"] = buckets[-1]
        if not self.rate_limits_enabled:
            return
        now = time.time()
        with self.lock:
            wins = [(b, self._window(b, now)) for b in buckets]
            for bucket, win in wins:
                if win[1] >= self.limits[bucket]:
                    req.extra["rl_bucket"] = bucket
                    wait = max(1, math.ceil(win[0] + self.window_seconds - now))
                    raise ApiError(429, f"Rate limit exceeded for '{bucket}' ({self.limits[bucket]} requests/hour). "
                                   f"Retry after {wait} s.", "RATE_LIMIT_EXCEEDED",
                                   headers={"Retry-After": str(wait)})
            for _, win in wins:
                win[1] += 1

    def response_headers(self, req):
        """X-RateLimit-* on every response."""
        now = time.time()
        if not self.rate_limits_enabled:
            return {"X-RateLimit-Limit": str(UNLIMITED), "X-RateLimit-Remaining": str(UNLIMITED),
                    "X-RateLimit-Reset": str(int(now + self.window_seconds))}
        bucket = req.extra.get("rl_bucket", "general")
        with self.lock:
            win = self._window(bucket, now)
            limit = self.limits[bucket]
            return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(0, limit - win[1])),
                    "X-RateLimit-Reset": str(int(math.ceil(win[0] + self.window_seconds)))}

    # -- validation --------------------------------------------------------------------------
    def _check_location(self, m, data, partial):
        """List of {field, message} problems of a location body."""
        problems = []
        if not isinstance(data, dict):
            return [{"field": None, "message": "must be an object"}]
        if "name" in data or not partial:
            name = data.get("name")
            if not isinstance(name, str) or not name.strip():
                problems.append({"field": "name", "message": "name is required and must be a non-empty string"})
            elif len(name) > 500:
                problems.append({"field": "name", "message": "name must be at most 500 characters"})
        for field, lo, hi in (("lat", -90, 90), ("lng", -180, 180)):
            if field in data or not partial:
                value = data.get(field)
                if not is_number(value):
                    problems.append({"field": field, "message": f"{field} is required and must be a number"})
                elif not lo <= value <= hi:
                    problems.append({"field": field, "message": f"{field} must be between {lo} and {hi}, got {value}"})
        for field in ("description", "address", "notes"):
            value = data.get(field)
            if value is None and field in data and field == "description" and not self.null_description:
                problems.append({"field": field, "message": f"{field} must be a string"})
            elif value is not None and not isinstance(value, str):
                problems.append({"field": field, "message": f"{field} must be a string or null"})
        cat = data.get("categoryId")
        if cat is not None and cat not in m["_categories"]:
            problems.append({"field": "categoryId", "message": f"category '{cat}' does not exist on this map"})
        tag_ids = data.get("tagIds")
        if tag_ids is not None and (not isinstance(tag_ids, list) or any(t not in m["_tags"] for t in tag_ids)):
            problems.append({"field": "tagIds", "message": "tagIds must be a list of tag ids of this map"})
        return problems

    def _apply_location(self, loc, data):
        for field in ("name", "lat", "lng", "description", "address", "notes", "categoryId", "tagIds"):
            if field in data:
                loc[field] = data[field].strip() if field == "name" else data[field]

    def _make_location(self, m, data):
        now = _now()
        loc = {"id": seeding.cuid(self._rng), "name": "", "lat": 0.0, "lng": 0.0, "description": None,
               "address": None, "notes": None, "categoryId": None, "tagIds": [], "layerIds": [],
               "mapId": m["id"], "createdAt": now, "updatedAt": now}
        self._apply_location(loc, data)
        m["_locations"][loc["id"]] = loc
        return loc

    @staticmethod
    def _invalid(problems, prefix=""):
        first = problems[0]
        where = f"{prefix}{first['field']}" if first.get("field") else prefix.rstrip(".") or "body"
        return ApiError(400, f"Validation failed: {where}: {first['message']}", "VALIDATION_ERROR", details=problems)

    # -- maps --------------------------------------------------------------------------------
    def create_map(self, req):
        """POST /maps."""
        body = req.json_body()
        title = body.get("title")
        if not isinstance(title, str) or not title.strip():
            raise ApiError(400, "Validation failed: title is required and must be a non-empty string",
                           "VALIDATION_ERROR", details=[{"field": "title", "message": "required"}])
        m = self._new_map(seeding.cuid(self._rng), title.strip(), body.get("description") or "", _now())
        self._update_map_fields(m, body)
        self.maps[m["id"]] = m
        return Response(201, {"data": self._public(m)})

    def _update_map_fields(self, m, body):
        for field, kinds in (("title", str), ("description", str), ("country", str), ("city", str),
                             ("public", bool), ("allowCloning", bool), ("style", str)):
            if field in body:
                if not isinstance(body[field], kinds) or (field == "title" and not body[field].strip()):
                    raise ApiError(400, f"Validation failed: {field} has the wrong type", "VALIDATION_ERROR",
                                   details=[{"field": field, "message": "wrong type"}])
                m[field] = body[field]
        for field in ("centerLat", "centerLng", "zoom"):
            if field in body:
                if body[field] is not None and not is_number(body[field]):
                    raise ApiError(400, f"Validation failed: {field} must be a number or null", "VALIDATION_ERROR",
                                   details=[{"field": field, "message": "must be a number or null"}])
                m[field] = body[field]
        if "title" in body:
            m["slug"] = _slug(m["title"])

    def get_map(self, req, map_id):
        """GET /maps/:id."""
        return {"data": self._public(self._map(map_id))}

    def update_map(self, req, map_id):
        """PUT /maps/:id (partial: only given fields change)."""
        m = self._map(map_id)
        self._update_map_fields(m, req.json_body())
        m["updatedAt"] = _now()
        return {"data": self._public(m)}

    def delete_map(self, req, map_id):
        """DELETE /maps/:id."""
        self._map(map_id)
        del self.maps[map_id]
        return {"data": {"id": map_id, "deleted": True}}

    # -- locations -----------------------------------------------------------------------------
    def list_locations(self, req, map_id):
        """GET /maps/:id/locations?page=&pageSize= (pageSize max 100)."""
        m = self._map(map_id)
        try:
            page = req.int_arg("page", 1, 1)
            size = req.int_arg("pageSize", 20, 1, 100)
        except ApiError as err:
            raise ApiError(400, err.message, "VALIDATION_ERROR") from None
        locs = list(m["_locations"].values())
        chunk = locs[(page - 1) * size:page * size]
        return {"data": {"locations": [self._location_out(m, loc) for loc in chunk],
                         "pagination": {"total": len(locs), "page": page, "pageSize": size,
                                        "totalPages": math.ceil(len(locs) / size)}}}

    def create_location(self, req, map_id):
        """POST /maps/:id/locations."""
        m = self._map(map_id)
        body = req.json_body()
        problems = self._check_location(m, body, partial=False)
        if problems:
            raise self._invalid(problems)
        return Response(201, {"data": self._location_out(m, self._make_location(m, body))})

    def bulk_locations(self, req, map_id):
        """POST /maps/:id/locations/bulk: atomic, max 100, errors name the index."""
        m = self._map(map_id)
        body = req.json_body()
        items = body.get("locations")
        if not isinstance(items, list) or not items:
            raise ApiError(400, "Validation failed: locations must be a non-empty array", "VALIDATION_ERROR",
                           details=[{"index": None, "field": "locations", "message": "must be a non-empty array"}])
        if len(items) > MAX_BULK:
            raise ApiError(400, f"Validation failed: at most {MAX_BULK} locations per request, got {len(items)}",
                           "VALIDATION_ERROR", details=[{"index": None, "field": "locations",
                                                         "message": f"at most {MAX_BULK} items"}])
        details = []
        for i, item in enumerate(items):
            for problem in self._check_location(m, item, partial=False):
                details.append({"index": i, **problem})
        if details:
            first = details[0]
            raise ApiError(400, f"Validation failed: locations[{first['index']}].{first['field']}: "
                           f"{first['message']} (nothing was created)", "VALIDATION_ERROR", details=details)
        created = [self._location_out(m, self._make_location(m, item)) for item in items]
        return Response(201, {"data": {"created": created, "count": len(created)}})

    def _location(self, m, loc_id):
        loc = m["_locations"].get(loc_id)
        if loc is None:
            raise ApiError(404, f"Location '{loc_id}' not found", "NOT_FOUND")
        return loc

    def get_location(self, req, map_id, loc_id):
        """GET one location."""
        m = self._map(map_id)
        return {"data": self._location_out(m, self._location(m, loc_id))}

    def update_location(self, req, map_id, loc_id):
        """PUT one location (partial update of the given fields)."""
        m = self._map(map_id)
        loc = self._location(m, loc_id)
        body = req.json_body()
        problems = self._check_location(m, body, partial=True)
        if problems:
            raise self._invalid(problems)
        self._apply_location(loc, body)
        loc["updatedAt"] = _now()
        return {"data": self._location_out(m, loc)}

    def delete_location(self, req, map_id, loc_id):
        """DELETE one location."""
        m = self._map(map_id)
        self._location(m, loc_id)
        del m["_locations"][loc_id]
        return {"data": {"id": loc_id, "deleted": True}}

    def set_location_layers(self, req, map_id, loc_id):
        """PUT /maps/:id/locations/:locId/layers {"layerIds": [...]} (or layer_body_key): replace memberships."""
        m = self._map(map_id)
        loc = self._location(m, loc_id)
        key = self.layer_body_key
        ids = req.json_body().get(key)
        if not isinstance(ids, list) or any(i not in m["_layers"] for i in ids):
            raise ApiError(400, f"Validation failed: {key} must be a list of layer ids of this map",
                           "VALIDATION_ERROR", details=[{"field": key, "message": "unknown layer id"}])
        loc["layerIds"] = list(dict.fromkeys(ids))
        loc["updatedAt"] = _now()
        return {"data": self._location_out(m, loc)}

    # -- categories / tags / layers ---------------------------------------------------------
    ITEM_FIELDS = {"categories": (("name", str), ("color", str), ("icon", str)),
                   "tags": (("name", str), ("color", str)),
                   "layers": (("name", str), ("color", str), ("order", int), ("routeEnabled", bool),
                              ("routeShowByDefault", bool))}

    def _check_item(self, m, kind, body, current=None):
        for field, typ in self.ITEM_FIELDS[kind]:
            if field in body and body[field] is not None and (not isinstance(body[field], typ)
                                                               or isinstance(body[field], bool) != (typ is bool)):
                raise ApiError(400, f"Validation failed: {field} has the wrong type", "VALIDATION_ERROR",
                               details=[{"field": field, "message": f"must be {typ.__name__}"}])
        name = body.get("name", current["name"] if current else None)
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "Validation failed: name is required", "VALIDATION_ERROR",
                           details=[{"field": "name", "message": "required"}])
        if kind == "tags":
            for tag in m["_tags"].values():
                if tag["name"].lower() == name.strip().lower() and tag is not current:
                    raise ApiError(409, f"A tag named '{name}' already exists on this map", "CONFLICT")

    def list_items(self, req, map_id, kind):
        """GET categories/tags/layers."""
        return {"data": list(self._map(map_id)["_" + kind].values())}

    def create_item(self, req, map_id, kind):
        """POST a category/tag/layer."""
        m = self._map(map_id)
        body = req.json_body()
        self._check_item(m, kind, body)
        now = _now()
        item = {"id": seeding.cuid(self._rng), "name": body["name"].strip(), "color": body.get("color") or "#6366F1"}
        if kind == "categories":
            item["icon"] = body.get("icon")
        if kind == "layers":
            item.update(order=body.get("order", len(m["_layers"])), routeEnabled=bool(body.get("routeEnabled")),
                        routeShowByDefault=bool(body.get("routeShowByDefault")))
        item.update(mapId=map_id, createdAt=now, updatedAt=now)
        m["_" + kind][item["id"]] = item
        return Response(201, {"data": item})

    def update_item(self, req, map_id, kind, item_id):
        """PUT a category/tag/layer (partial)."""
        m = self._map(map_id)
        item = m["_" + kind].get(item_id)
        if item is None:
            raise ApiError(404, f"{kind[:-1].capitalize()} '{item_id}' not found", "NOT_FOUND")
        body = req.json_body()
        self._check_item(m, kind, body, current=item)
        for field, _ in self.ITEM_FIELDS[kind]:
            if field in body:
                item[field] = body[field].strip() if field == "name" else body[field]
        item["updatedAt"] = _now()
        return {"data": item}

    def delete_item(self, req, map_id, kind, item_id):
        """DELETE a category/tag/layer; references on locations are cleared."""
        m = self._map(map_id)
        if item_id not in m["_" + kind]:
            raise ApiError(404, f"{kind[:-1].capitalize()} '{item_id}' not found", "NOT_FOUND")
        del m["_" + kind][item_id]
        for loc in m["_locations"].values():
            if kind == "categories" and loc["categoryId"] == item_id:
                loc["categoryId"] = None
            elif kind == "tags" and item_id in loc["tagIds"]:
                loc["tagIds"] = [t for t in loc["tagIds"] if t != item_id]
            elif kind == "layers" and item_id in loc["layerIds"]:
                loc["layerIds"] = [x for x in loc["layerIds"] if x != item_id]
        return {"data": {"id": item_id, "deleted": True}}

    # -- keys ----------------------------------------------------------------------------------
    def _key_out(self, token, key):
        out = {k: key[k] for k in ("id", "name", "scope", "createdAt", "expiresAt", "lastUsedAt")}
        out["prefix"] = token[:12]
        return out

    def list_keys(self, req):
        """GET /keys: active keys of the account (never the secret)."""
        return {"data": [self._key_out(t, k) for t, k in self.keys.items() if k["pro"] and not k["revoked"]]}

    def create_key(self, req):
        """POST /keys {name, scope?, expiresAt?} → 201 with the secret `key` shown once."""
        body = req.json_body()
        name = body.get("name")
        scope = body.get("scope", "READ_WRITE")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "Validation failed: name is required", "VALIDATION_ERROR",
                           details=[{"field": "name", "message": "required"}])
        if scope not in ("READ_ONLY", "READ_WRITE"):
            raise ApiError(400, "Validation failed: scope must be READ_ONLY or READ_WRITE", "VALIDATION_ERROR",
                           details=[{"field": "scope", "message": "must be READ_ONLY or READ_WRITE"}])
        expires = body.get("expiresAt")
        if expires is not None and parse_time(expires) is None:
            raise ApiError(400, "Validation failed: expiresAt must be an ISO 8601 date-time", "VALIDATION_ERROR",
                           details=[{"field": "expiresAt", "message": "not ISO 8601"}])
        now = time.time()
        active = [k for k in self.keys.values() if k["pro"] and not k["revoked"]
                  and not (k["expiresAt"] and parse_time(k["expiresAt"]).timestamp() <= now)]
        if len(active) >= MAX_ACTIVE_KEYS:
            raise ApiError(400, f"Validation failed: you can have up to {MAX_ACTIVE_KEYS} active API keys",
                           "VALIDATION_ERROR", details=[{"field": None, "message": "too many active keys"}])
        token = "mk_live_" + seeding.base62(self._rng, 32)
        key = {"id": seeding.cuid(self._rng), "name": name.strip(), "scope": scope, "createdAt": _now(),
               "expiresAt": expires, "lastUsedAt": None, "revoked": False, "pro": True}
        self.keys[token] = key
        return Response(201, {"data": dict(self._key_out(token, key), key=token)})

    def delete_key(self, req, key_id):
        """DELETE /keys/:id: revoke."""
        for key in self.keys.values():
            if key["id"] == key_id and key["pro"] and not key["revoked"]:
                key["revoked"] = True
                return {"data": {"id": key_id, "revoked": True}}
        raise ApiError(404, f"API key '{key_id}' not found", "NOT_FOUND")
