"""Push features as new Mapalyze records (one POST each), checking unknown outcomes before sending again."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from ..api.errors import CancelledError, MapbridgeError, ServiceError
from .push_errors import RejectionGuard, fatal, outcome_unknown, retryable, short
from .push_items import CREATED, FAILED, SKIPPED
from .push_wait import call_rate_limited, sleep_cancellable

PAGE = 500                      # documented maximum of `limit`
COORD_TOLERANCE = 1e-6
CHECK_WINDOW_SECONDS = 900      # records created this long before a lost answer are compared (clock skew margin)
MAX_ATTEMPTS = 4
RETRY_PAUSES = (2.0, 5.0, 15.0)


def parse_time(text):
    """Epoch seconds of an ISO 8601 text (naive means UTC), or None."""
    if not isinstance(text, str) or not text.strip():
        return None
    value = text.strip()
    if value[-1:] in ("z", "Z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def iso_utc(epoch):
    """Epoch seconds as ISO 8601 UTC with Z."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def _matches(feature, payload):
    coords = (feature.get("geometry") or {}).get("coordinates") or feature.get("coordinates")
    if not isinstance(coords, list) or len(coords) < 2:
        return False
    try:
        if abs(float(coords[0]) - payload["coordinates"][0]) > COORD_TOLERANCE:
            return False
        if abs(float(coords[1]) - payload["coordinates"][1]) > COORD_TOLERANCE:
            return False
    except (TypeError, ValueError):
        return False
    props = feature.get("properties") or feature
    if payload.get("captured_at"):
        ours, theirs = parse_time(payload["captured_at"]), parse_time(props.get("captured_at"))
        if ours is None or theirs is None or abs(ours - theirs) > 1.0:
            return False
    data = props.get("data") if isinstance(props.get("data"), dict) else props
    for key, value in payload["data"].items():
        if value is None or isinstance(value, (list, dict)) or key not in data:
            continue
        if str(data[key]) != str(value) and data[key] != value:
            return False
    return True


class MapalyzePush:
    """Sends PushItems whose payloads are {"coordinates", "data"[, "captured_at"]} to one form."""

    service = "mapalyze"

    def __init__(self, client, feedback, form_id):
        self.client = client
        self.feedback = feedback
        self.form_id = (form_id or "").strip()
        self.known_ids = set()
        self.guard = RejectionGuard(self.service)
        self.sent_count = 0
        self.expected = 0
        self.batch_size = 10 ** 9     # one batch: the capture-time check lists the form once for all records

    def start(self):
        """Check the form id is given (the form itself is checked by the first request)."""
        if not self.form_id:
            raise MapbridgeError("no form given", service=self.service, hint="Give the id of the form (FORM_ID)")

    def accept(self, item):
        """Every feature with a payload is sent."""
        return True

    def send(self, batch):
        """All records in one go (sender thread): those already there are skipped, the others created one by one."""
        pending = self._skip_already_there([item for item in batch if item.pending])
        if pending:
            self.feedback.pushInfo(f"Mapalyze: creating {len(pending)} records in form {self.form_id}")
        for item in pending:
            if self.feedback.isCanceled():
                raise CancelledError()
            self._send(item)

    def finish(self):
        """Nothing to add."""

    def _skip_already_there(self, pending):
        """Records with a capture time that already exist (same place and time) are not created again."""
        times = [parse_time(item.payload.get("captured_at")) for item in pending]
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
            self.feedback.pushInfo(f"Mapalyze: {len(pending) - len(left)} records are already there; they are not "
                                   f"sent again")
        return left

    def _records_since(self, since):
        """Records of the form created after `since` (GET /records?form_id&since, paged by limit/offset)."""
        out, offset = [], 0
        while True:
            try:
                body = call_rate_limited(
                    lambda o=offset: self.client.records(offset=o, limit=PAGE, form_id=self.form_id,
                                                         since=iso_utc(since)),
                    self.feedback, self.service)
            except ServiceError as exc:
                if exc.status == 404:
                    raise MapbridgeError(f"the form '{self.form_id}' was not found", service=self.service,
                                         details=exc.details, hint="Check the form id (FORM_ID)") from None
                raise
            page = []
            if isinstance(body, dict):
                page = body.get("features") or body.get("records") or body.get("data") or []
            elif isinstance(body, list):
                page = body
            out.extend(page)
            total = body.get("total") if isinstance(body, dict) else None
            offset += len(page)
            if len(page) < PAGE or (isinstance(total, int) and offset >= total) or self.feedback.isCanceled():
                return out

    def _send(self, item, attempt=1):
        payload = item.payload
        started = time.time()
        try:
            answer = call_rate_limited(
                lambda: self.client.create_record(self.form_id, payload["coordinates"], payload["data"],
                                                  payload.get("captured_at")),
                self.feedback, self.service)
        except CancelledError:
            raise
        except ServiceError as exc:
            self._handle_error(item, exc, attempt, started)
            return
        rec_id = record_id(answer)
        if rec_id is not None:
            self.known_ids.add(rec_id)
        item.done(CREATED, remote_id=rec_id)
        self.guard.success()
        self._advance()

    def _handle_error(self, item, exc, attempt, started):
        if outcome_unknown(exc):
            since = started - CHECK_WINDOW_SECONDS
            captured = parse_time(item.payload.get("captured_at"))
            if captured is not None:
                since = min(since, captured - 1.0)
            try:
                rec_id = RecordMatcher(self._records_since(since)).claim(item.payload, self.known_ids)
            except ServiceError:
                item.done(FAILED, error="no answer from Mapalyze and the form could not be checked: this record may "
                                        "or may not have arrived")
                raise
            if rec_id is not None:
                self.known_ids.add(rec_id)
                item.done(CREATED, remote_id=rec_id or None)
                self.feedback.pushInfo("Mapalyze: the record had arrived despite the lost answer; not sending again")
                self._advance()
                return
            self._retry(item, exc, attempt)
            return
        if retryable(exc):
            self._retry(item, exc, attempt)
            return
        if exc.status == 404 and "form" in (exc.server_message or "").lower():
            raise MapbridgeError(f"the form '{self.form_id}' was not found", service=self.service,
                                 details=exc.details, hint="Check the form id (FORM_ID)") from None
        if fatal(exc):
            raise exc
        self.guard.rejected(exc)
        item.done(FAILED, error=f"rejected by Mapalyze: {short(exc)}")
        self._advance()

    def _retry(self, item, exc, attempt):
        if attempt >= MAX_ATTEMPTS:
            item.done(FAILED, error=f"not sent: {short(exc)} (gave up after {attempt} attempts)")
            self._advance()
            return
        pause = RETRY_PAUSES[min(attempt - 1, len(RETRY_PAUSES) - 1)]
        self.feedback.pushInfo(f"Mapalyze: {short(exc)}; sending the record again in {pause:.0f} s")
        sleep_cancellable(pause, self.feedback)
        self._send(item, attempt + 1)

    def _advance(self):
        self.sent_count += 1
        if self.expected:
            self.feedback.setProgress(100.0 * min(1.0, self.sent_count / self.expected))
