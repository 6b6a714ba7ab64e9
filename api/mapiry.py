"""Mapiry REST API: one method per endpoint."""

from __future__ import annotations

import re

from . import probe as probing
from .config import DEFAULT_URLS
from .encoding import JSON_HEADERS, compact_json, json_with_array, segment
from .errors import ServiceError
from .http import PageRepeats, ServiceClient
from .rate_limits import parse_rate_limit

MAX_BULK = 100          # documented: bulk create accepts at most 100 locations per request
MAX_PAGE_SIZE = 100     # assumption: the docs show pageSize=20 and name no maximum; 100 is the common cap
SAFE_PAGE_SIZE = 20     # the page size the docs' own example uses
BUCKET_GENERAL = "general"
BUCKET_MAPS = "maps"
BUCKET_BULK = "bulk"
LAYER_BODY_KEYS = ("layerIds", "layers")   # the body of PUT .../locations/:locId/layers is undocumented: both tried
PROBE_MAP_ID = "mapbridge-connection-check"   # no map has this id: Mapiry's ids are cuids (no dashes)
TOKEN_CODES = ("MISSING_API_KEY", "INVALID_API_KEY", "API_KEY_EXPIRED")
_BULK_PATH = re.compile(r"/maps/[^/]+/locations/bulk/?\Z")


def unwrap(body):
    """Mapiry wraps every success body in {"data": ...}."""
    if isinstance(body, dict) and "data" in body:
        return body["data"]
    return body


def bucket_of(method, path):
    """Which documented rate-limit bucket a request counts against."""
    path = "/" + path.lstrip("/")
    if method.upper() == "POST" and _BULK_PATH.search(path):
        return BUCKET_BULK
    if method.upper() == "POST" and path.rstrip("/") == "/maps":
        return BUCKET_MAPS
    return BUCKET_GENERAL


class MapiryClient(ServiceClient):
    """Client of the Mapiry API (maps, locations, bulk)."""

    service = "mapiry"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rate_limits = {}
        self.layer_body_key = None      # the body key of a location's layer ids the service accepted

    def request(self, method, path, **kwargs):
        """Send a request and remember the rate-limit headers of its bucket."""
        response = super().request(method, path, **kwargs)
        state = parse_rate_limit(response.headers)
        if state is not None:
            self.rate_limits[bucket_of(method, path)] = state
        return response

    def rate_limit(self, bucket):
        """The last known RateLimitState of a bucket, or None."""
        return self.rate_limits.get(bucket)

    def probe(self):
        """Prove the URL is the Mapiry API and the key is accepted, and find what it may do; changes nothing.

        GET /keys (documented) answers {"data": [...]}; where it is not offered, a lookup of a map that cannot
        exist must give Mapiry's own NOT_FOUND error. Either way the same request without the key must be
        refused. Then DELETE of that map that cannot exist tells the key's scope: READ_ONLY keys get 403
        INSUFFICIENT_SCOPE, READ_WRITE keys 404 (nothing is deleted: there is nothing to delete)."""
        default = DEFAULT_URLS["mapiry"]
        path = "/keys"
        answer = probing.ask(self, "GET", path)
        self._refused(answer)
        account = ""
        if answer.status == 200 and isinstance(answer.body, dict) and "data" in answer.body:
            keys = unwrap(answer.body)
            keys = keys.get("keys") if isinstance(keys, dict) else keys
            if not isinstance(keys, list):
                raise probing.not_the_api(self, path, answer, default)
            account = f"{len(keys):,} API key{'s' if len(keys) != 1 else ''} on the account"
        elif answer.status in (404, 405):
            path = f"/maps/{PROBE_MAP_ID}"
            answer = probing.ask(self, "GET", path)
            self._refused(answer)
            if not (answer.status == 404 and self._mapiry_error(answer, "NOT_FOUND")):
                raise probing.not_the_api(self, path, answer, default)
        else:
            raise probing.not_the_api(self, path, answer, default)
        probing.require_token_check(self, path, default)
        return probing.ProbeResult("mapiry", account=account, **self._scope())

    def _scope(self):
        answer = probing.ask(self, "DELETE", f"/maps/{PROBE_MAP_ID}")
        if answer.status == 403 and answer.code == "INSUFFICIENT_SCOPE":
            return {"access": "read only", "warnings": [
                "This key is READ_ONLY: Mapiry refuses every push with it. Create a READ_WRITE key in Mapiry's "
                "Account Settings ▸ API Keys."]}
        if answer.status == 404:
            return {"access": "read and write"}
        return {"warnings": [f"Whether this key may write is unknown (the check answered HTTP {answer.status})."]}

    @staticmethod
    def _mapiry_error(answer, code):
        error = answer.body.get("error") if isinstance(answer.body, dict) else None
        return isinstance(error, dict) and error.get("code") == code

    def _refused(self, answer):
        """Raise the clear error for a key Mapiry refuses (the documented 401 codes, or no Pro subscription)."""
        if answer.status == 401 and answer.code in TOKEN_CODES:
            raise probing.token_refused(self, answer)
        if answer.status == 403 and answer.code == "PRO_SUBSCRIPTION_REQUIRED":
            raise ServiceError(
                "the key is accepted but the account has no active Pro subscription, which the API needs "
                f"({answer.code})", service=self.service, status=403, code=answer.code,
                server_message=answer.message,
                hint="Subscribe to Mapiry Pro, or use a key of an account that has it")

    def ping(self):
        """Cheapest authenticated call (the account's API keys); probe() is the proof a connection works."""
        keys = unwrap(self.get_json("/keys"))
        if isinstance(keys, dict):
            keys = keys.get("keys", [])
        return f"{len(keys)} API keys" if isinstance(keys, list) else "connected"

    # -- maps ------------------------------------------------------------------------------
    def create_map(self, title, description=None):
        """POST /maps: a new map; returns the map dict (with its "id")."""
        body = {"title": title}
        if description:
            body["description"] = description
        return unwrap(self.send_json("POST", "/maps", body))

    def get_map(self, map_id):
        """GET /maps/:mapId."""
        return unwrap(self.get_json(f"/maps/{segment(map_id)}"))

    # -- locations -------------------------------------------------------------------------
    def list_locations(self, map_id, page=1, page_size=MAX_PAGE_SIZE):
        """GET /maps/:mapId/locations?page=&pageSize= → (locations, pagination dict)."""
        params = {"page": page, "pageSize": page_size}
        body = unwrap(self.get_json(f"/maps/{segment(map_id)}/locations", params=params))
        if isinstance(body, list):
            return body, {}
        if not isinstance(body, dict):
            return [], {}
        locations = body.get("locations")
        if not isinstance(locations, list):
            locations = body.get("items") if isinstance(body.get("items"), list) else []
        pagination = body.get("pagination") if isinstance(body.get("pagination"), dict) else {}
        return locations, pagination

    def iter_locations(self, map_id, page_size=MAX_PAGE_SIZE, cancelled=lambda: False, wrap=None):
        """Every location of a map, page after page; `wrap(call)` runs each page request (e.g. to wait out limits)."""
        wrap = wrap or (lambda call: call())
        page = 1
        repeats = PageRepeats(self.service, f"the locations of map {map_id}")
        while True:
            try:
                locations, pagination = wrap(lambda p=page, s=page_size: self.list_locations(map_id, p, s))
            except ServiceError as exc:
                # Assumption: a server with a smaller page-size cap answers 400; the docs' own 20 always works.
                if page != 1 or exc.status not in (400, 422) or page_size <= SAFE_PAGE_SIZE:
                    raise
                page_size = SAFE_PAGE_SIZE
                continue
            first = locations[0].get("id") if locations and isinstance(locations[0], dict) else None
            if repeats.repeated(first, full=len(locations) >= page_size):
                return
            yield from locations
            total_pages = pagination.get("totalPages")
            if cancelled() or not locations:
                return
            if isinstance(total_pages, (int, float)) and page >= total_pages:
                return
            if total_pages is None and len(locations) < page_size:
                return
            page += 1

    def create_location(self, map_id, location):
        """POST /maps/:mapId/locations: one location; returns it (with its "id")."""
        return unwrap(self.send_json("POST", f"/maps/{segment(map_id)}/locations", location))

    def bulk_create_locations(self, map_id, locations, encoded=None):
        """POST /maps/:mapId/locations/bulk (≤ 100, atomic); returns the created locations in order.

        `encoded`: compact_json(locations) done beforehand (by the thread that built them), or None.
        """
        path = f"/maps/{segment(map_id)}/locations/bulk"
        if encoded is not None:
            body = json_with_array(b'{"locations":', encoded)
        else:
            body = compact_json({"locations": list(locations)})
        answer = self.request("POST", path, data=body, headers=JSON_HEADERS)
        body = unwrap(self.json_of(answer, path))
        if isinstance(body, list):
            return body
        if isinstance(body, dict):
            for key in ("created", "locations", "items"):
                if isinstance(body.get(key), list):
                    return body[key]
        return []

    def get_location(self, map_id, location_id):
        """GET /maps/:mapId/locations/:locId."""
        return unwrap(self.get_json(f"/maps/{segment(map_id)}/locations/{segment(location_id)}"))

    def update_location(self, map_id, location_id, fields):
        """PUT /maps/:mapId/locations/:locId."""
        return unwrap(self.send_json("PUT", f"/maps/{segment(map_id)}/locations/{segment(location_id)}", fields))

    def delete_location(self, map_id, location_id):
        """DELETE /maps/:mapId/locations/:locId."""
        path = f"/maps/{segment(map_id)}/locations/{segment(location_id)}"
        return unwrap(self.json_of(self.request("DELETE", path), path))

    def count_locations(self, map_id):
        """How many locations a map holds (pagination.total of a one-item page), or None when not said."""
        _, pagination = self.list_locations(map_id, page=1, page_size=1)
        total = pagination.get("total")
        return int(total) if isinstance(total, (int, float)) and not isinstance(total, bool) else None

    # -- layers ----------------------------------------------------------------------------
    def list_layers(self, map_id):
        """GET /maps/:mapId/layers: the map's layers (dicts with "id" and "name")."""
        body = unwrap(self.get_json(f"/maps/{segment(map_id)}/layers"))
        if isinstance(body, dict):
            body = body.get("layers") if isinstance(body.get("layers"), list) else body.get("items")
        return [layer for layer in body or [] if isinstance(layer, dict)]

    def create_layer(self, map_id, name):
        """POST /maps/:mapId/layers: a new layer; returns it (with its "id")."""
        return unwrap(self.send_json("POST", f"/maps/{segment(map_id)}/layers", {"name": name}))

    def set_location_layers(self, map_id, location_id, layer_ids):
        """PUT /maps/:mapId/locations/:locId/layers: replace a location's layer memberships.

        Assumption: the docs name the endpoint but give no body. {"layerIds": [...]} is sent first (a guess in the
        style of an id field); a 400 VALIDATION_ERROR to it is retried once as {"layers": [...]} (the name location
        reads give the memberships), and the shape that was accepted is sent from then on. An empty list leaves
        the location in no layer.
        """
        path = f"/maps/{segment(map_id)}/locations/{segment(location_id)}/layers"
        ids = list(layer_ids)
        shapes = LAYER_BODY_KEYS if self.layer_body_key is None else (self.layer_body_key,)
        first_error = None
        for key in shapes:
            try:
                answer = unwrap(self.send_json("PUT", path, {key: ids}))
            except ServiceError as exc:
                if exc.status != 400 or exc.code != "VALIDATION_ERROR" or len(shapes) == 1:
                    raise
                first_error = first_error or exc
                continue
            self.layer_body_key = key
            return answer
        raise first_error
