"""Push GeoJSON features to a Mapsemble map: batched, upsert by remote id, bad items isolated, no duplicates.

Upsert is proven, not assumed: it is relied on only when the map's settings name its remoteField. Otherwise (the
map cannot be read, or names none) a push with remote ids says so before the first request, lists the map first
and does not create again what is already there; and whatever happens, a request whose answer was lost is sent
again only for the features a listing of the map shows did not arrive.
"""

from __future__ import annotations

import json
from collections import Counter

from ...api.errors import MapbridgeError, ServiceError
from .failures import short
from .choices import CREATED, DELETED, SKIPPED, UPDATED
from .job import PushJob
from .choices import METHOD_CREATE, METHOD_DELETE, METHOD_UPDATE, METHOD_VERBS

DEFAULT_BATCH = 500       # features per request: large enough for speed, well under common body limits
IN_FLIGHT = 2             # requests at once while the rate limit leaves room
FINGERPRINT_DIGITS = 6
BUCKET = "request"


def remote_field_of(map_info):
    """The map's remoteField slug (the docs name the setting; the key spelling is read leniently)."""
    if not isinstance(map_info, dict):
        return None
    for key in ("remoteField", "remote_field", "remoteFieldSlug", "remote_id_field"):
        value = map_info.get(key)
        if isinstance(value, dict):
            value = value.get("slug") or value.get("name")
        if isinstance(value, str) and value.strip():
            return value.strip()
    settings = map_info.get("settings")
    return remote_field_of(settings) if isinstance(settings, dict) else None


def _rounded(coords):
    if isinstance(coords, (list, tuple)):
        return [_rounded(c) for c in coords]
    return round(float(coords), FINGERPRINT_DIGITS) if isinstance(coords, (int, float)) else coords


def fingerprint(feature):
    """Label + geometry of a GeoJSON feature, to recognise one we sent among the map's features."""
    props = feature.get("properties") or {}
    geom = feature.get("geometry") or {}
    return json.dumps([props.get("label"), geom.get("type"), _rounded(geom.get("coordinates"))])


def ids_of(answer, count):
    """Feature ids in request order from a write answer, or [].

    Assumption (the docs show no answer): a list of ids or of features under "ids", "features", "created", "data"
    or "items", at the top or inside "data" ({"data": {"created": [...]}}); a count under "created" is no list."""
    if not isinstance(answer, dict):
        return []
    for key in ("ids", "features", "created", "data", "items"):
        value = answer.get(key)
        if isinstance(value, dict):
            value = next((value[inner] for inner in ("ids", "features", "created", "items")
                          if isinstance(value.get(inner), list)), None)
        if isinstance(value, list) and len(value) == count:
            return [v.get("id") if isinstance(v, dict) else v for v in value]
    return []


def count_of(answer, key):
    """An integer count from a write answer, or None."""
    if isinstance(answer, dict):
        value = answer.get(key)
        if value is None and isinstance(answer.get("data"), dict):
            value = answer["data"].get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
    return None


class MapsemblePush(PushJob):
    """Sends PushItems whose payloads are GeoJSON features with one of POST/PUT/PATCH/DELETE."""

    service = "mapsemble"
    nouns = ("feature", "features")
    max_in_flight = IN_FLIGHT
    encodes = True
    send_buckets = (BUCKET,)
    bucket_names = {BUCKET: "request"}

    def __init__(self, client, feedback, map_id, method=METHOD_CREATE, batch_size=DEFAULT_BATCH,
                 remote_id_field=None):
        super().__init__(client, feedback)
        self.map_id = (map_id or "").strip()
        self.method = method
        self.verb = METHOD_VERBS[method]
        self.batch_size = max(1, batch_size)
        self.remote_id_field = remote_id_field or None   # the layer field holding each feature's remote id
        self.remote_key = None
        self.map_info = {}
        self.snapshot = None          # {"ids": set, "remote": {key: id}} of the map before the push
        self.snapshot_taken = False
        self.unknown_prints = Counter()   # fingerprints of features we created whose ids the answer did not give
        self.known_ids = set()
        self.without_id = 0

    # -- preparation -------------------------------------------------------------------------------
    def prepare(self):
        """Read the map's settings (remoteField); raises a clear error when the map is not there."""
        if not self.map_id:
            raise MapbridgeError("no map given", service=self.service, hint="Choose the map to push to (MAP_ID)")
        try:
            self.map_info = self.paced(lambda: self.client.get_map(self.map_id))
        except ServiceError as exc:
            if exc.status not in (404, 405, 501):
                raise
            # Assumption: GET /maps/{id} is not in the docs; a service without it still lists the maps.
            self.map_info = self._map_from_list(exc)
        self.remote_key = remote_field_of(self.map_info)
        return self.map_info

    @property
    def upsert_confirmed(self):
        """True when the map's own settings name its remoteField (the documented condition of an upsert)."""
        return bool(self.remote_key)

    @property
    def guarded_create(self):
        """A create with remote ids on a map whose upsert cannot be confirmed: nothing already there is re-created."""
        return self.method == METHOD_CREATE and bool(self.remote_id_field) and not self.upsert_confirmed

    def _value_fields(self):
        """The properties that may hold a feature's remote id on the map."""
        return [key for key in dict.fromkeys((self.remote_key, self.remote_id_field)) if key]

    def _map_from_list(self, exc):
        """The map's entry in GET /maps, or the clear "not found" error."""
        for entry in self.paced(self.client.list_maps):
            if isinstance(entry, dict) and str(entry.get("id")) == self.map_id:
                return entry
        raise MapbridgeError(f"the map '{self.map_id}' was not found", service=self.service, details=exc.details,
                             hint="Check the map id (MAP_ID)")

    def _list_features(self):
        """Every feature of the map (dicts), paced and rate-limit aware."""
        def wrap(call):
            return self.paced(call, BUCKET)

        return [f for f in self.client.iter_features(self.map_id, cancelled=self.feedback.isCanceled, wrap=wrap)
                if isinstance(f, dict)]

    def _take_snapshot(self):
        """What the map holds before the push (ids and remote ids); None when it cannot be listed."""
        try:
            listed = self._list_features()
        except ServiceError as exc:
            self.info(f"could not list the map's features ({short(exc)}); statuses will follow the service's counts")
            return None
        return self._index(listed)

    def _index(self, listed):
        """{"ids": feature ids, "remote": {remote id value: feature id}} of listed features."""
        ids, remote = set(), {}
        fields = self._value_fields()
        for feature in listed:
            fid = feature.get("id")
            if fid is not None:
                ids.add(str(fid))
            properties = feature.get("properties") or {}
            for key in fields:
                value = properties.get(key)
                if value not in (None, "") and not isinstance(value, (dict, list)):
                    remote.setdefault(str(value), fid)
        return {"ids": ids, "remote": remote}

    def _find(self, index, item):
        """The id of the indexed feature an item names (by remote id, or by id), or None."""
        ident = self.identifier(item)
        if ident is None or index is None:
            return None
        kind, value = ident
        if kind == "id" and value in index["ids"]:
            return value
        return index["remote"].get(value)

    def identifier(self, item):
        """("remote", value) or ("id", value) of an item's payload, or None."""
        payload = item.payload
        if payload is None:         # settled already
            return None
        if self.remote_key:
            value = (payload.get("properties") or {}).get(self.remote_key)
            if value not in (None, ""):
                return ("remote", str(value))
        value = payload.get("id")
        return ("id", str(value)) if value not in (None, "") else None

    def existed(self, item):
        """The id of the map's feature this item matches before the push, None if none, False when unknown."""
        if self.snapshot is None:
            return False
        return self._find(self.snapshot, item)

    # -- the job -------------------------------------------------------------------------------------
    def start(self):
        """Before any feature is read: the map's settings and what it holds (for statuses and checks)."""
        if not self.map_info:
            self.prepare()
        if self.guarded_create:
            self.feedback.pushWarning(
                f"Mapsemble: map {self.map_id} does not show which field is its remoteField, so upsert by "
                f"'{self.remote_id_field}' cannot be confirmed: the map is listed first and features already on it "
                "are not created again; use METHOD replace to change them")
        if self.method == METHOD_DELETE or self.guarded_create:
            # Needed now: features are skipped (absent ones for a delete, present ones for a guarded create) as
            # they are read.
            self.snapshot = self._take_snapshot()
            self.snapshot_taken = True
            if self.snapshot is None and self.guarded_create:
                self.feedback.reportError(
                    f"Mapsemble: map {self.map_id} could not be listed: features pushed to it before will be created "
                    "again")
        self.info(f"{self.verb} features to map {self.map_id} in requests of up to {self.batch_size}")

    def accept(self, item):
        """False (and 'skipped') for a delete of a feature that is not on the map."""
        if self.method == METHOD_CREATE and (self.remote_key is None or self.identifier(item) is None):
            self.without_id += 1
        if self.method == METHOD_DELETE and self.snapshot is not None and self.existed(item) is None:
            item.done(SKIPPED, error="not on the map; nothing to delete")
            return False
        if self.guarded_create and self.snapshot is not None:
            found = self.existed(item)
            if found:
                item.done(SKIPPED, remote_id=found, error="already on the map (same remote id); not created again, as "
                                                          "this map's upsert cannot be confirmed (replace changes it)")
                return False
        return True

    def before_first_send(self):
        """The map's features before the push, listed in the sender thread while the first features are read."""
        if not self.snapshot_taken:
            self.snapshot_taken = True
            if self.method != METHOD_UPDATE:
                self.snapshot = self._take_snapshot()

    def finish(self):
        """Warn when re-running this push would create features again."""
        if self.without_id:
            self.info(f"{self.without_id} features had no remote id; pushing them again would create them again "
                      f"(set REMOTE_ID_FIELD on a map with a remoteField to update instead)")

    def rate_state(self, bucket):
        return self.client.rate_limit

    # -- sending ---------------------------------------------------------------------------------------
    def request(self, batch, attempt, split):
        payloads = [item.payload for item in batch]
        call = {
            "POST": self.client.create_features,
            "PUT": self.client.replace_features,
            "PATCH": self.client.update_features,
            "DELETE": self.client.delete_features,
        }[self.verb]
        encoded = self.take_encoded(batch)
        return self.paced(lambda: call(self.map_id, payloads, encoded), BUCKET)

    def keys(self, batch):
        """The remote ids of a batch: two requests touching the same feature go one after the other."""
        identifier = self.identifier
        return [ident for ident in map(identifier, batch) if ident is not None]

    def resend_is_safe(self, batch):
        """PUT/PATCH/DELETE can be sent again as they are; a POST only after listing what arrived (never assumed)."""
        return self.verb != "POST"

    def before_split(self, batch, exc):
        if exc.status == 413:
            self.batch_size = max(1, len(batch) // 2)
            self.info(f"a request of {len(batch)} features was too large; sending {self.batch_size} per request "
                      f"from now on")

    def find_arrived(self, batch, exc):
        """After an unknown outcome of a create: list the map and claim the features that arrived (by remote id or
        id, else by label and geometry); only the others are sent again."""
        if self.snapshot is None:
            self.fail(batch, f"no answer from Mapsemble ({short(exc)}) and the map cannot be listed: this feature may "
                             f"or may not have arrived")
            return 0
        listed = self._list_features()
        now = self._index(listed)
        by_id = {str(f.get("id")): f for f in listed if f.get("id") is not None}
        arrived = 0
        for item in batch:
            if item.status is not None or not self.identifier(item):
                continue
            fid = self._find(now, item)
            if fid is None:
                continue                                    # not there: proven missing, sent again
            if str(fid) not in self.snapshot["ids"] and str(fid) not in self.known_ids:
                self._created(item, fid)
                arrived += 1
            elif fingerprint(by_id.get(str(fid), {})) == fingerprint(item.payload):
                self.known_ids.add(str(fid))
                item.done(UPDATED, remote_id=fid)
                arrived += 1
        new = Counter()
        new_ids = {}
        for feature in listed:
            fid = feature.get("id")
            if fid is not None and (str(fid) in self.snapshot["ids"] or str(fid) in self.known_ids):
                continue
            fp = fingerprint(feature)
            new[fp] += 1
            new_ids.setdefault(fp, []).append(fid)
        new.subtract(self.unknown_prints)
        for item in batch:
            if item.status is not None or self.identifier(item):
                continue
            fp = fingerprint(item.payload)
            if new[fp] > 0:
                new[fp] -= 1
                ids = new_ids.get(fp) or [None]
                self._created(item, ids.pop(0) if ids else None)
                arrived += 1
        return arrived

    def _created(self, item, fid):
        if fid is not None:
            self.known_ids.add(str(fid))
        else:
            self.unknown_prints[fingerprint(item.payload)] += 1
        item.done(CREATED, remote_id=fid if fid is not None else self._ident_value(item))

    def _ident_value(self, item):
        ident = self.identifier(item)
        return ident[1] if ident else None

    def mark_done(self, batch, answer):
        ids = ids_of(answer, len(batch))
        if self.verb == "DELETE":
            deleted = count_of(answer, "deleted")
            note = None
            if deleted is not None and deleted < len(batch) and self.snapshot is None:
                note = f"the service reported {deleted} of {len(batch)} deleted; some were not on the map"
            for item in batch:
                item.done(DELETED, remote_id=self.existed(item) or self._ident_value(item), error=note)
            return
        created_n, updated_n = count_of(answer, "created"), count_of(answer, "updated")
        for i, item in enumerate(batch):
            fid = ids[i] if ids else None
            if self.verb == "PATCH":
                status = UPDATED
            else:
                before = self.existed(item)
                if before is False:       # no snapshot: go by the service's counts
                    status = UPDATED if (updated_n == len(batch) or self.verb == "PUT" and not created_n) else CREATED
                else:
                    status = UPDATED if before is not None else CREATED
                    if fid is None and before is not None:
                        fid = before
            if status == CREATED:
                self._created(item, fid)
            else:
                if fid is not None:
                    self.known_ids.add(str(fid))
                item.done(UPDATED, remote_id=fid if fid is not None else self._ident_value(item))
