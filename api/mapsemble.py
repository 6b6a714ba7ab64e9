"""Mapsemble REST API: one method per endpoint."""

from __future__ import annotations

from . import probe as probing
from .config import DEFAULT_URLS
from .encoding import JSON_HEADERS, compact_json, json_with_array, segment
from .errors import ServiceError
from .http import PageRepeats, ServiceClient
from .rate_limits import parse_rate_limit

SAFE_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000   # assumption: the docs mention pagination without sizes; a larger ask is capped by the server


def items_of(body, *keys):
    """The list in a body that is either a list or {"data"|key: [...]} (the docs leave it open)."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("data", *keys):
            value = body.get(key)
            if isinstance(value, list):
                return value
            if isinstance(value, dict):
                inner = items_of(value, *keys)
                if inner:
                    return inner
    return []


def object_of(body):
    """The object in a body that is either the object or {"data": {...}}."""
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        return body["data"]
    return body if isinstance(body, dict) else {}


def _page_meta(body):
    """(total, last_page) from whatever paging block the answer carries."""
    if not isinstance(body, dict):
        return None, None
    for key in ("meta", "pagination", "paging"):
        meta = body.get(key)
        if isinstance(meta, dict):
            total = meta.get("total")
            last = meta.get("last_page", meta.get("lastPage", meta.get("totalPages", meta.get("pages"))))
            return total, last
    return body.get("total"), body.get("last_page")


class MapsembleClient(ServiceClient):
    """Client of the Mapsemble API (maps and their features)."""

    service = "mapsemble"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rate_limit = None

    def request(self, method, path, **kwargs):
        """Send a request and remember its X-RateLimit-* headers when the server sends them."""
        response = super().request(method, path, **kwargs)
        state = parse_rate_limit(response.headers)
        if state is not None:
            self.rate_limit = state
        return response

    def list_maps(self):
        """The account's maps as a list of dicts."""
        return items_of(self.get_json("/maps"), "maps", "results", "items")

    def probe(self):
        """Prove the URL is the Mapsemble API and the token is accepted (ProbeResult), else MapbridgeError.

        Assumption (the docs show `curl .../api/v1/maps` and no answer): GET /maps answers a list of maps, bare or
        under "data"; the same request without the token is refused."""
        default = DEFAULT_URLS["mapsemble"]
        answer = probing.ask(self, "GET", "/maps")
        body = answer.body
        maps = body if isinstance(body, list) else (body.get("data") if isinstance(body, dict) else None)
        if isinstance(maps, dict):
            maps = items_of(maps, "maps", "items", "results")
        if answer.status == 200 and isinstance(maps, list) and all(isinstance(m, dict) for m in maps):
            probing.require_token_check(self, "/maps", default)
            warnings = []
            free = [m for m in maps if str(m.get("plan") or "").lower() == "free"]
            if free:
                which = "1 map is" if len(free) == 1 else f"{len(free):,} maps are"
                warnings.append(f"{which} on the Free plan, which takes 100 features via the API.")
            return probing.ProbeResult("mapsemble", account=f"{len(maps):,} map{'s' if len(maps) != 1 else ''}",
                                       warnings=warnings)
        if answer.status in (401, 403) and answer.is_json and answer.message:
            raise probing.token_refused(self, answer)
        raise probing.not_the_api(self, "/maps", answer, default)

    def ping(self):
        """Cheapest authenticated call (the account's maps); probe() is the proof a connection works."""
        return f"{len(self.list_maps())} maps"

    def get_map(self, map_id):
        """GET /maps/{map_id}: the map's settings (remoteField, fields) as a dict."""
        return object_of(self.get_json(f"/maps/{segment(map_id)}"))

    def list_features(self, map_id, page=1, per_page=MAX_PAGE_SIZE):
        """GET /maps/{map_id}/features?page=&per_page= → (features, total, last_page)."""
        body = self.get_json(f"/maps/{segment(map_id)}/features", params={"page": page, "per_page": per_page})
        features = items_of(body, "features", "items", "results")
        total, last_page = _page_meta(body)
        return features, total, last_page

    def count_features(self, map_id):
        """How many features a map holds (the paging block's total of a one-item page), or None when not said."""
        _, total, _ = self.list_features(map_id, page=1, per_page=1)
        return int(total) if isinstance(total, (int, float)) and not isinstance(total, bool) else None

    def iter_features(self, map_id, per_page=MAX_PAGE_SIZE, cancelled=lambda: False, wrap=None):
        """Every feature of a map, page after page; `wrap(call)` runs each page request (e.g. to wait out limits)."""
        wrap = wrap or (lambda call: call())
        page = 1
        seen = 0
        repeats = PageRepeats(self.service, f"the features of map {map_id}")
        while True:
            try:
                features, total, last_page = wrap(lambda p=page, s=per_page: self.list_features(map_id, p, s))
            except ServiceError as exc:
                # Assumption: a server with a smaller page cap answers 400/422; retry with a modest size.
                if page != 1 or exc.status not in (400, 422) or per_page <= SAFE_PAGE_SIZE:
                    raise
                per_page = SAFE_PAGE_SIZE
                continue
            first = features[0].get("id") if features and isinstance(features[0], dict) else None
            if repeats.repeated(first, full=len(features) >= per_page):
                return
            yield from features
            seen += len(features)
            if cancelled() or not features:
                return
            if total is None and last_page is None and len(features) < per_page:
                return
            if isinstance(last_page, (int, float)) and page >= last_page:
                return
            if isinstance(total, (int, float)) and seen >= total:
                return
            page += 1

    def create_features(self, map_id, features, encoded=None):
        """POST /maps/{map_id}/features: create (upsert by the map's remoteField); returns the answer."""
        return self.write_features("POST", map_id, features, encoded)

    def replace_features(self, map_id, features, encoded=None):
        """PUT /maps/{map_id}/features: replace features matched by id or remote id."""
        return self.write_features("PUT", map_id, features, encoded)

    def update_features(self, map_id, features, encoded=None):
        """PATCH /maps/{map_id}/features: merge properties (and geometry when given) into matched features."""
        return self.write_features("PATCH", map_id, features, encoded)

    def delete_features(self, map_id, features, encoded=None):
        """DELETE /maps/{map_id}/features with a FeatureCollection naming the features by id or remote id."""
        return self.write_features("DELETE", map_id, features, encoded)

    def write_features(self, method, map_id, features, encoded=None):
        """Send a FeatureCollection with one of POST/PUT/PATCH/DELETE; returns the parsed answer.

        `encoded`: compact_json(features) done beforehand (by the thread that built them), or None.
        """
        path = f"/maps/{segment(map_id)}/features"
        if encoded is not None:
            body = json_with_array(b'{"type":"FeatureCollection","features":', encoded)
        else:
            body = compact_json({"type": "FeatureCollection", "features": list(features)})
        return self.json_of(self.request(method, path, data=body, headers=JSON_HEADERS), path)

