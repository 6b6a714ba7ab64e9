"""Push GeoJSON features to a Mapsemble map: batched, upsert by remote id, bad items isolated, no duplicates."""

from __future__ import annotations

import json
from collections import Counter

from ..api.errors import CancelledError, MapbridgeError, ServiceError
from .push_errors import RejectionGuard, fatal, item_errors, outcome_unknown, retryable, short
from .push_items import CREATED, DELETED, FAILED, SKIPPED, UPDATED
from .push_payloads import METHOD_CREATE, METHOD_DELETE, METHOD_UPDATE, METHOD_VERBS
from .push_wait import call_rate_limited, sleep_cancellable, wait_for_bucket

DEFAULT_BATCH = 500       # features per request: large enough for speed, well under common body limits
MAX_ATTEMPTS = 4
RETRY_PAUSES = (2.0, 5.0, 15.0)
FINGERPRINT_DIGITS = 6


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


class MapsemblePush:
    """Sends PushItems whose payloads are GeoJSON features with one of POST/PUT/PATCH/DELETE."""

    service = "mapsemble"

    def __init__(self, client, feedback, map_id, method=METHOD_CREATE, batch_size=DEFAULT_BATCH):
        self.client = client
        self.feedback = feedback
        self.map_id = (map_id or "").strip()
        self.method = method
        self.verb = METHOD_VERBS[method]
        self.batch_size = max(1, batch_size)
        self.remote_key = None
        self.map_info = {}
        self.snapshot = None          # {"ids": set, "remote": {key: id}, "prints": Counter} of the map before
        self.unknown_prints = Counter()   # fingerprints of features we created whose ids the answer did not give
        self.known_ids = set()
        self.sent_count = 0
        self.expected = 0
        self.without_id = 0
        self.snapshot_taken = False
        self.guard = RejectionGuard(self.service)

    # -- preparation -------------------------------------------------------------------------------
    def prepare(self):
        """Read the map's settings (remoteField); raises a clear error when the map is not there."""
        if not self.map_id:
            raise MapbridgeError("no map given", service=self.service, hint="Choose the map to push to (MAP_ID)")
        try:
            self.map_info = call_rate_limited(lambda: self.client.get_map(self.map_id), self.feedback, self.service)
        except ServiceError as exc:
            if exc.status not in (404, 405, 501):
                raise
            # Assumption: GET /maps/{id} is not in the docs; a service without it still lists the maps.
            self.map_info = self._map_from_list(exc)
        self.remote_key = remote_field_of(self.map_info)
        return self.map_info

    def _map_from_list(self, exc):
        """The map's entry in GET /maps, or the clear "not found" error."""
        for entry in call_rate_limited(self.client.list_maps, self.feedback, self.service):
            if isinstance(entry, dict) and str(entry.get("id")) == self.map_id:
                return entry
        raise MapbridgeError(f"the map '{self.map_id}' was not found", service=self.service, details=exc.details,
                             hint="Check the map id (MAP_ID)")

    def _take_snapshot(self):
        """What the map holds before the push (ids, remote ids, fingerprints); None when it cannot be listed."""
        ids, remote, prints = set(), {}, Counter()
        try:
            def wrap(call):
                self._pace()
                return call_rate_limited(call, self.feedback, self.service)

            for feature in self.client.iter_features(self.map_id, cancelled=self.feedback.isCanceled, wrap=wrap):
                if not isinstance(feature, dict):
                    continue
                fid = feature.get("id")
                if fid is not None:
                    ids.add(str(fid))
                if self.remote_key:
                    value = (feature.get("properties") or {}).get(self.remote_key)
                    if value not in (None, ""):
                        remote.setdefault(str(value), fid)
                prints[fingerprint(feature)] += 1
        except CancelledError:
            raise
        except ServiceError as exc:
            self.feedback.pushInfo(f"Mapsemble: could not list the map's features ({short(exc)}); statuses will "
                                   f"follow the service's counts")
            return None
        return {"ids": ids, "remote": remote, "prints": prints}

    def identifier(self, item):
        """("remote", value) or ("id", value) of an item's payload, or None."""
        payload = item.payload
        if self.remote_key:
            value = (payload.get("properties") or {}).get(self.remote_key)
            if value not in (None, ""):
                return ("remote", str(value))
        if payload.get("id") not in (None, ""):
            return ("id", str(payload["id"]))
        return None

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
        self.feedback.pushInfo(f"Mapsemble: {self.verb} features to map {self.map_id} in requests of up to "
                               f"{self.batch_size}")

    def accept(self, item):
        """False (and 'skipped') for a delete of a feature that is not on the map."""
        if self.method == METHOD_CREATE and (self.remote_key is None or self.identifier(item) is None):
            self.without_id += 1
        if self.method == METHOD_DELETE and self.snapshot is not None and self.existed(item) is None:
            item.done(SKIPPED, error="not on the map; nothing to delete")
            return False
        return True

    def send(self, batch):
        """Send one batch (sender thread), in smaller pieces once the service said requests were too large."""
        if not self.snapshot_taken:
            # Taken here, in the sender thread, so listing the map overlaps with reading the first features.
            self.snapshot_taken = True
            if self.method != METHOD_UPDATE:
                self.snapshot = self._take_snapshot()
        for start in range(0, len(batch), self.batch_size):
            if self.feedback.isCanceled():
                raise CancelledError()
            self._send(batch[start:start + self.batch_size])

    def finish(self):
        """Warn when re-running this push would create features again."""
        if self.without_id:
            self.feedback.pushInfo(
                f"Mapsemble: {self.without_id} features had no remote id; pushing them again would create them "
                f"again (set REMOTE_ID_FIELD on a map with a remoteField to update instead)")

    # -- sending ---------------------------------------------------------------------------------------
    def _request(self, batch):
        payloads = [item.payload for item in batch]
        call = {
            "POST": self.client.create_features,
            "PUT": self.client.replace_features,
            "PATCH": self.client.update_features,
            "DELETE": self.client.delete_features,
        }[self.verb]
        self._pace()
        return call_rate_limited(lambda: call(self.map_id, payloads), self.feedback, self.service)

    def _send(self, batch, attempt=1):
        batch = [item for item in batch if item.pending]
        if not batch:
            return
        try:
            answer = self._request(batch)
        except CancelledError:
            raise
        except ServiceError as exc:
            self._handle_error(batch, exc, attempt)
            return
        self._mark_done(batch, answer)

    def _handle_error(self, batch, exc, attempt):
        if outcome_unknown(exc):
            if self.verb != "POST" or all(self.identifier(item) for item in batch):
                # PUT/PATCH/DELETE and upserts by remote id can be sent again without creating duplicates.
                self._retry(batch, exc, attempt)
                return
            self.feedback.pushInfo(f"Mapsemble: {short(exc)}; checking which of {len(batch)} features arrived")
            self._reconcile(batch, exc)
            rest = [item for item in batch if item.pending]
            if rest:
                self._retry(rest, exc, attempt)
            return
        if retryable(exc):
            self._retry(batch, exc, attempt)
            return
        named = item_errors(exc, len(batch)) if exc.status not in (401, 403) else {}
        if named:
            for index, message in named.items():
                batch[index].done(FAILED, error=f"rejected by Mapsemble: {message}")
            self._advance(len(named))
            self._send([item for item in batch if item.pending], attempt)
            return
        if fatal(exc):
            raise exc
        if exc.status == 413 and len(batch) > 1:
            self.batch_size = max(1, len(batch) // 2)
            self.feedback.pushInfo(f"Mapsemble: a request of {len(batch)} features was too large; sending "
                                   f"{self.batch_size} per request from now on")
        if len(batch) == 1:
            self.guard.rejected(exc)
            batch[0].done(FAILED, error=f"rejected by Mapsemble: {short(exc)}")
            self._advance(1)
            return
        half = len(batch) // 2
        self._send(batch[:half])
        self._send(batch[half:])

    def _retry(self, batch, exc, attempt):
        if attempt >= MAX_ATTEMPTS:
            reason = f"{short(exc)} (gave up after {attempt} attempts)"
            for item in batch:
                item.done(FAILED, error=f"not sent: {reason}")
            self._advance(len(batch))
            return
        pause = RETRY_PAUSES[min(attempt - 1, len(RETRY_PAUSES) - 1)]
        self.feedback.pushInfo(f"Mapsemble: {short(exc)}; sending {len(batch)} features again in {pause:.0f} s")
        sleep_cancellable(pause, self.feedback)
        self._send(batch, attempt + 1)

    def _reconcile(self, batch, exc):
        """After an unknown outcome of a plain create: list the map and claim the features that arrived."""
        if self.snapshot is None:
            for item in batch:
                if not self.identifier(item):
                    item.done(FAILED, error=f"no answer from Mapsemble ({short(exc)}) and the map cannot be listed: "
                                            f"this feature may or may not have arrived")
            self._advance(len(batch))
            return
        try:
            after = self._take_snapshot_list()
        except ServiceError:
            for item in batch:
                item.done(FAILED, error="no answer from Mapsemble and the map could not be checked: this feature "
                                        "may or may not have arrived")
            raise
        new = Counter()
        new_ids = {}
        for feature in after:
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
                fid = ids.pop(0) if ids else None
                self._created(item, fid)
                arrived += 1
        if arrived:
            self.feedback.pushInfo(f"Mapsemble: {arrived} of them had arrived; not sending those again")
        self._advance(arrived)

    def _take_snapshot_list(self):
        def wrap(call):
            self._pace()
            return call_rate_limited(call, self.feedback, self.service)

        return [f for f in self.client.iter_features(self.map_id, cancelled=self.feedback.isCanceled, wrap=wrap)
                if isinstance(f, dict)]

    def _created(self, item, fid):
        if fid is not None:
            self.known_ids.add(str(fid))
        else:
            self.unknown_prints[fingerprint(item.payload)] += 1
        item.done(CREATED, remote_id=fid if fid is not None else self._ident_value(item))

    def _ident_value(self, item):
        ident = self.identifier(item)
        return ident[1] if ident else None

    def _mark_done(self, batch, answer):
        self.guard.success(len(batch))
        ids = ids_of(answer, len(batch))
        if self.verb == "DELETE":
            deleted = count_of(answer, "deleted")
            note = None
            if deleted is not None and deleted < len(batch) and self.snapshot is None:
                note = f"the service reported {deleted} of {len(batch)} deleted; some were not on the map"
            for item in batch:
                item.done(DELETED, remote_id=self.existed(item) or self._ident_value(item), error=note)
            self._advance(len(batch))
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
        self._advance(len(batch))

    def _advance(self, n):
        self.sent_count += n
        if self.expected:
            self.feedback.setProgress(100.0 * min(1.0, self.sent_count / self.expected))

    def _pace(self):
        wait_for_bucket(self.client.rate_limit, self.feedback, self.service, "request")
