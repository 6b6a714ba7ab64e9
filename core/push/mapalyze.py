"""Push features as new Mapalyze records (one POST each), never creating a record twice.

Features that came from Mapalyze (a record_id the form holds) are recognised and skipped: the API has no update,
and creating them would duplicate them. Features with a capture time that match a record of the form (same place,
time and values, compared by meaning) are skipped too, and an answer lost in transit is looked for on the service
before anything is sent again.
"""

from __future__ import annotations

import json
import time

from ...api.errors import CancelledError, MapbridgeError, ServiceError
from ...api.http import PageRepeats
from ...api.json_values import json_number
from .geometry import same_position
from .choices import CREATED, SKIPPED
from ..timestamps import epoch_seconds, iso_utc
from .job import PushJob
from .values import changed_texts

PAGE = 500                      # documented maximum of `limit`
CHECK_WINDOW_SECONDS = 900      # records created this long before a lost answer are compared (clock skew margin)


def record_id(answer):
    """The id in a create answer: a Feature, {"data": {...}} or {"record": {...}}."""
    if not isinstance(answer, dict):
        return None
    for key in ("data", "record"):
        if isinstance(answer.get(key), dict):
            return record_id(answer[key])
    if answer.get("id") is not None:
        return answer["id"]
    props = answer.get("properties")
    return props.get("id") if isinstance(props, dict) else None


class RecordMatcher:
    """Finds our record among listed ones: same place, same capture time when we gave one, same data values."""

    def __init__(self, features):
        self.features = [f for f in features if isinstance(f, dict)]
        self.claimed = set()

    def claim(self, payload, skip_ids=()):
        """Id of an unclaimed listed record matching the payload, or None."""
        for feature in self.features:
            fid = feature.get("id")
            if fid in self.claimed or fid in skip_ids:
                continue
            if _matches(feature, payload):
                self.claimed.add(fid)
                return fid if fid is not None else ""
        return None


def _parsed(text):
    """A JSON object or array kept as text (a Mapalyze layer keeps lists and objects so), parsed; else None."""
    stripped = text.strip()
    if not stripped.startswith(("[", "{")):
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None


def same_value(ours, theirs):
    """True when two values mean the same: 1 and 1.0, "1.5" and 1.5, two spellings of one instant, a list and
    its JSON text, objects key by key; not their text (str(0.1 + 0.2) differs from "0.3" yet JSON may carry it)."""
    if ours is None or theirs is None:
        return ours is None and theirs is None
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return isinstance(ours, bool) and isinstance(theirs, bool) and ours == theirs
    if isinstance(ours, str) and isinstance(theirs, (list, dict)):
        ours = _parsed(ours)
    elif isinstance(theirs, str) and isinstance(ours, (list, dict)):
        theirs = _parsed(theirs)
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(same_value(a, b) for a, b in zip(ours, theirs))
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return ours.keys() == theirs.keys() and all(same_value(ours[k], theirs[k]) for k in ours)
    if isinstance(ours, str) and isinstance(theirs, str):
        if ours == theirs:
            return True
        a, b = epoch_seconds(ours), epoch_seconds(theirs)
        return a is not None and b is not None and abs(a - b) < 0.001
    a, b = json_number(ours), json_number(theirs)
    return a is not None and b is not None and a == b


def _matches(feature, payload):
    coords = (feature.get("geometry") or {}).get("coordinates") or feature.get("coordinates")
    if not isinstance(coords, list) or len(coords) < 2:
        return False
    try:
        if not same_position(float(coords[0]), float(coords[1]), *payload["coordinates"][:2]):
            return False
    except (TypeError, ValueError):
        return False
    props = feature.get("properties") or feature
    if payload.get("captured_at"):
        ours, theirs = epoch_seconds(payload["captured_at"]), epoch_seconds(props.get("captured_at"))
        if ours is None or theirs is None or abs(ours - theirs) > 1.0:
            return False
    data = props.get("data") if isinstance(props.get("data"), dict) else props
    for key, value in payload["data"].items():
        # Assumption: a property the service left out was not kept by it (nothing to compare).
        if key in data and not same_value(value, data[key]):
            return False
    return True


class MapalyzePush(PushJob):
    """Sends PushItems whose payloads are {"coordinates", "data"[, "captured_at"]} to one form, one POST each."""

    service = "mapalyze"
    nouns = ("record", "records")
    place = "form"
    batch_size = 10 ** 9     # one batch: the capture-time check lists the form once for all records

    def __init__(self, client, feedback, form_id):
        super().__init__(client, feedback)
        self.form_id = (form_id or "").strip()
        self.known_ids = set()
        self.started = 0.0

    def start(self):
        """Check the form id is given (the form itself is checked by the first request)."""
        if not self.form_id:
            raise MapbridgeError("no form given", service=self.service, hint="Give the id of the form (FORM_ID)")

    def send(self, batch):
        """All records in one go (sender thread): those already there are skipped, the others created one by one."""
        pending = self._skip_known_records([item for item in batch if item.pending])
        pending = self._skip_already_there(pending)
        if pending:
            self.info(f"creating {len(pending):,} records in form {self.form_id}")
        for item in pending:
            if self.feedback.isCanceled():
                raise CancelledError()
            self.send_batch([item])

    def _skip_known_records(self, pending):
        """Features that came from this form (their record_id is one of its records) are not created again."""
        if not any(item.payload.get("record_id") for item in pending):
            return pending
        held = {str(record_id(r)) for r in self._records_since(None)}
        left = []
        for item in pending:
            rec_id = item.payload.get("record_id")
            if rec_id and rec_id in held:
                self.known_ids.add(rec_id)
                item.done(SKIPPED, remote_id=rec_id,
                          error="already in this Mapalyze form (it came from there: same record_id); not created "
                                "again")
            else:
                left.append(item)
        if len(left) < len(pending):
            self.info(f"{len(pending) - len(left):,} features are records of form {self.form_id} already (their "
                      "record_id); they are not created again")
        return left

    def _skip_already_there(self, pending):
        """Records with a capture time that already exist (same place and time) are not created again."""
        times = [epoch_seconds(item.payload.get("captured_at")) for item in pending]
        times = [t for t in times if t is not None]
        if not times:
            return pending
        matcher = RecordMatcher(self._records_since(min(times) - 1.0))
        left = []
        for item in pending:
            rec_id = matcher.claim(item.payload) if item.payload.get("captured_at") else None
            if rec_id is None:
                left.append(item)
            else:
                self.known_ids.add(rec_id)
                item.done(SKIPPED, remote_id=rec_id or None,
                          error="already in Mapalyze (same place and capture time); not sent again")
        if len(left) < len(pending):
            self.info(f"{len(pending) - len(left):,} records are already there; they are not sent again")
        return left

    def _records_since(self, since):
        """Records of the form created after `since` (every one for None), GET /records paged by limit/offset."""
        out, offset = [], 0
        repeats = PageRepeats(self.service, f"the records of form {self.form_id}")
        since_text = iso_utc(since) if since is not None else None
        while True:
            try:
                body = self.paced(lambda o=offset: self.client.records(offset=o, limit=PAGE, form_id=self.form_id,
                                                                       since=since_text))
            except ServiceError as exc:
                if exc.status == 404:
                    raise self._form_not_found(exc) from None
                raise
            page = []
            if isinstance(body, dict):
                page = body.get("features") or body.get("records") or body.get("data") or []
            elif isinstance(body, list):
                page = body
            first = page[0].get("id") if page and isinstance(page[0], dict) else None
            if repeats.repeated(first, full=len(page) >= PAGE):
                return out
            out.extend(page)
            total = body.get("total") if isinstance(body, dict) else None
            offset += len(page)
            if len(page) < PAGE or (isinstance(total, int) and offset >= total) or self.feedback.isCanceled():
                return out

    def _form_not_found(self, exc):
        return MapbridgeError(f"the form '{self.form_id}' was not found", service=self.service,
                              details=exc.details, hint="Check the form id (FORM_ID)")

    def request(self, batch, attempt, split):
        payload = batch[0].payload
        self.started = time.time()
        return self.paced(lambda: self.client.create_record(self.form_id, payload["coordinates"], payload["data"],
                                                            payload.get("captured_at")))

    def mark_done(self, batch, answer):
        rec_id = record_id(answer)
        if rec_id is not None:
            self.known_ids.add(rec_id)
        stored = answer.get("properties") if isinstance(answer, dict) else None
        stored = stored if isinstance(stored, dict) else (answer.get("data") if isinstance(answer, dict) else None)
        changed = changed_texts(batch[0].payload["data"], stored) if isinstance(stored, dict) else []
        batch[0].done(CREATED, remote_id=rec_id, error=self.text_changed(changed))

    def find_arrived(self, batch, exc):
        """List the records created around the lost answer and find this one among them."""
        item = batch[0]
        since = self.started - CHECK_WINDOW_SECONDS
        captured = epoch_seconds(item.payload.get("captured_at"))
        if captured is not None:
            since = min(since, captured - 1.0)
        rec_id = RecordMatcher(self._records_since(since)).claim(item.payload, self.known_ids)
        if rec_id is None:
            return 0
        self.known_ids.add(rec_id)
        item.done(CREATED, remote_id=rec_id or None)
        return 1

    def fatal_error(self, exc):
        if exc.status == 404 and "form" in (exc.server_message or "").lower():
            return self._form_not_found(exc)
        return exc
