"""Push GeoJSON features to a Mapsemble map: batched, upsert by remote id, bad items isolated, no duplicates."""

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
    """Feature ids in request order from a write answer ({"ids": [...]}, {"features"|"data": [...]}), or []."""
    if not isinstance(answer, dict):
        return []
    for key in ("ids", "features", "data", "items"):
        value = answer.get(key)
        if isinstance(value, dict):
            value = value.get("ids") or value.get("features")
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

    def __init__(self, client, feedback, map_id, method=METHOD_CREATE, batch_size=DEFAULT_BATCH):
        super().__init__(client, feedback)
        self.map_id = (map_id or "").strip()
        self.method = method
        self.verb = METHOD_VERBS[method]
        self.batch_size = max(1, batch_size)
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
        ids, remote = set(), {}
        try:
            listed = self._list_features()
        except ServiceError as exc:
            self.info(f"could not list the map's features ({short(exc)}); statuses will follow the service's counts")
            return None
        for feature in listed:
            fid = feature.get("id")
            if fid is not None:
                ids.add(str(fid))
            if self.remote_key:
                value = (feature.get("properties") or {}).get(self.remote_key)
                if value not in (None, ""):
                    remote.setdefault(str(value), fid)
        return {"ids": ids, "remote": remote}

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
        ident = self.identifier(item)
        if ident is None:
            return None
        kind, value = ident
        if kind == "remote":
            return self.snapshot["remote"].get(value)
        return value if value in self.snapshot["ids"] else None

    # -- the job -------------------------------------------------------------------------------------
    def start(self):
        """Before any feature is read: the map's settings and what it holds (for statuses and checks)."""
        if not self.map_info:
            self.prepare()
        if self.method == METHOD_DELETE:
            self.snapshot = self._take_snapshot()      # needed now: absent features are skipped as they are read
            self.snapshot_taken = True
        self.info(f"{self.verb} features to map {self.map_id} in requests of up to {self.batch_size}")

    def accept(self, item):
        """False (and 'skipped') for a delete of a feature that is not on the map."""
        if self.method == METHOD_CREATE and (self.remote_key is None or self.identifier(item) is None):
            self.without_id += 1
        if self.method == METHOD_DELETE and self.snapshot is not None and self.existed(item) is None:
            item.done(SKIPPED, error="not on the map; nothing to delete")
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
        """PUT/PATCH/DELETE and upserts by remote id can be sent again without creating duplicates."""
        return self.verb != "POST" or all(self.identifier(item) for item in batch)

    def before_split(self, batch, exc):
        if exc.status == 413:
            self.batch_size = max(1, len(batch) // 2)
            self.info(f"a request of {len(batch)} features was too large; sending {self.batch_size} per request "
                      f"from now on")

    def find_arrived(self, batch, exc):
        """After an unknown outcome of a plain create: list the map and claim the features that arrived."""
        if self.snapshot is None:
            self.fail([item for item in batch if not self.identifier(item)],
                      f"no answer from Mapsemble ({short(exc)}) and the map cannot be listed: this feature may or "
                      f"may not have arrived")
            return 0
        new = Counter()
        new_ids = {}
        for feature in self._list_features():
            fid = feature.get("id")
            if fid is not None and (str(fid) in self.snapshot["ids"] or str(fid) in self.known_ids):
                continue
            fp = fingerprint(feature)
            new[fp] += 1
            new_ids.setdefault(fp, []).append(fid)
        new.subtract(self.unknown_prints)
        arrived = 0
        for item in batch:
            if self.identifier(item):
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
