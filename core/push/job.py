"""What the three push jobs share: sending with a few requests in flight, retries, unknown outcomes, progress."""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager

from ...api.encoding import compact_json
from ...api.errors import CancelledError, ServiceError, service_title
from .failures import RejectionGuard, fatal, item_errors, outcome_unknown, retryable, short
from .items import FAILED
from .waiting import call_rate_limited, sleep_cancellable, wait_for_bucket

MAX_ATTEMPTS = 4
RETRY_PAUSES = (2.0, 5.0, 15.0)


def pending(batch):
    """The items of a batch whose outcome is not known yet."""
    return [item for item in batch if item.status is None]


class _Slot:
    """A request's place in the gate."""

    __slots__ = ("then_exclusive",)

    def __init__(self):
        self.then_exclusive = False


class SendGate:
    """Up to `limit` requests in flight at once; the recovery after a failed one runs alone.

    Recovery (checking what arrived, retrying, splitting) sees no other request in flight, so what it
    finds on the server can only come from the batch it checks: the no-duplicate guarantees of one
    request at a time still hold. Batches sharing a key (a remote id) are never in flight together.
    """

    def __init__(self, limit, feedback):
        self.cond = threading.Condition()
        self.limit = max(1, limit)
        self.feedback = feedback
        self.in_flight = 0
        self.keys = Counter()
        self.exclusive_held = False
        self.exclusive_waiting = 0

    @contextmanager
    def shared(self, keys=(), room=None):
        """One request; waits while the limit, the rate limit (`room(in_flight)`) or a shared key says so.

        Set `slot.then_exclusive = True` inside to go on alone right after (no request slips in between).
        """
        with self.cond:
            while (self.exclusive_held or self.exclusive_waiting or self.in_flight >= self.limit
                   or (self.in_flight and ((room is not None and not room(self.in_flight))
                                           or any(self.keys[key] for key in keys)))):
                self._wait()
            self.in_flight += 1
            self.keys.update(keys)
        slot = _Slot()
        try:
            yield slot
        finally:
            with self.cond:
                self.in_flight -= 1
                self.keys.subtract(keys)
                if slot.then_exclusive:
                    self.exclusive_waiting += 1
                self.cond.notify_all()

    @contextmanager
    def exclusive(self, reserved=False):
        """Alone: waits until no other request is in flight, and lets none start meanwhile."""
        with self.cond:
            if not reserved:
                self.exclusive_waiting += 1
            try:
                while self.exclusive_held or self.in_flight:
                    self._wait()
            finally:
                self.exclusive_waiting -= 1
            self.exclusive_held = True
        try:
            yield
        finally:
            with self.cond:
                self.exclusive_held = False
                self.cond.notify_all()

    def _wait(self):
        if self.feedback.isCanceled():
            raise CancelledError()
        self.cond.wait(0.2)


class PushJob:
    """Sends batches of PushItems and marks each item's outcome; subclasses talk to one service.

    Subclasses implement request(), mark_done() and find_arrived(), and may refine the hooks below.
    `send(batch)` runs in the sender threads (see push_pipeline); everything else of the job in the
    Processing thread.
    """

    service = ""
    nouns = ("item", "items")           # what one request item is, singular and plural
    place = "map"                       # what holds them on the service
    batch_size = 1
    max_in_flight = 1                   # requests sent at once while all goes well
    send_buckets = ()                   # the rate-limit buckets a batch request counts against
    bucket_names = {}                   # bucket → words for the log
    encodes = False                     # request() takes a body encoded beforehand (see encode())

    def __init__(self, client, feedback):
        self.client = client
        self.feedback = feedback
        self.expected = 0
        self.sent_count = 0
        self.guard = RejectionGuard(self.service)
        self.lock = threading.RLock()           # outcomes and counters, between sender threads
        self.gate = SendGate(self.max_in_flight, feedback)
        self.answered = False                   # one answer seen: its rate-limit headers tell the room left
        self._setup_lock = threading.Lock()
        self._setup_done = False
        self._setup_error = None
        self._encoded = {}                      # id(first item) → (items, compact_json of their payloads)
        self.texts_changed = 0                  # items the service stored with other texts than it was sent

    # -- hooks ------------------------------------------------------------------------------------
    def request(self, batch, attempt, split):
        """Send one request for the batch and return the service's answer (raise ServiceError)."""
        raise NotImplementedError

    def mark_done(self, batch, answer):
        """Mark every item of a batch the service accepted."""
        raise NotImplementedError

    def find_arrived(self, batch, exc):
        """After an unknown outcome: mark the items that arrived and return how many (ServiceError: can't check)."""
        raise NotImplementedError

    def before_first_send(self):
        """Once, in the first sender thread, before the first request."""

    def resend_is_safe(self, batch):
        """True when sending the batch again cannot create anything twice (an upsert, a PUT …)."""
        return False

    def keys(self, batch):
        """Identifiers that must not be in flight in two requests at once (order matters for them)."""
        return ()

    def before_split(self, batch, exc):
        """Say (or adjust) something before a refused batch is split in halves."""

    def fatal_error(self, exc):
        """The error to stop the job with, for a refusal nothing more can be pushed after."""
        return exc

    def rate_state(self, bucket):
        """The last known RateLimitState of a bucket, or None."""
        return None

    def text_changed(self, notes):
        """The report note for an item the service stored with texts other than those sent (never silent)."""
        if not notes:
            return None
        with self.lock:
            self.texts_changed += 1
        return f"arrived, but {self.title} did not keep the text as sent: " + "; ".join(notes)

    def report_text_changes(self):
        """Say in the log how many items the service stored with texts changed (see their push_error)."""
        if self.texts_changed:
            self.feedback.reportError(f"{self.title}: {self.texts_changed:,} {self.nouns[1]} arrived with texts the "
                                      "service cut or changed; their push_error in the report says which")

    # -- job interface (see push_run) ------------------------------------------------------------
    def start(self):
        """Before any feature is read."""

    def accept(self, item):
        """False when the item is settled without sending it (it is then marked)."""
        return True

    def finish(self):
        """After the last batch."""

    def send(self, batch):
        """Send one queued batch from a sender thread, in requests of at most `batch_size`."""
        if self.feedback.isCanceled():
            raise CancelledError()
        self._setup()
        while batch:
            size = self.batch_size
            batch = self.send_gated(batch[:size]) + batch[size:]

    # -- sending ----------------------------------------------------------------------------------
    def encode(self, batch):
        """In the producer thread: the JSON of a queued batch's first request, so the sender threads stay light.

        Sender threads doing CPU work hold the GIL while the producer's every QGIS call lets go of it, which
        slows the producer many times over; encoding where the payloads are built avoids that.
        """
        if not self.encodes or not batch:
            return
        first = batch[:self.batch_size]
        try:
            body = compact_json([item.payload for item in first])
        except (TypeError, ValueError):
            return      # the sender encodes it and reports the error as before
        self._encoded[id(first[0])] = (first, body)

    def take_encoded(self, batch):
        """The JSON array encoded beforehand for exactly these items (all still pending), or None."""
        entry = self._encoded.pop(id(batch[0]), None) if batch else None
        if entry is None:
            return None
        items, body = entry
        if len(items) != len(batch) or any(a is not b for a, b in zip(items, batch)):
            return None
        return body

    def _setup(self):
        with self._setup_lock:
            if self._setup_error is not None:
                raise self._setup_error
            if self._setup_done:
                return
            try:
                self.before_first_send()
            except BaseException as exc:
                self._setup_error = exc
                raise
            self._setup_done = True

    def send_gated(self, batch):
        """A request alongside others while all goes well; a failure is handled with nothing else in flight.

        Returns the items left for a later request (the batch size may have shrunk meanwhile).
        """
        batch = pending(batch)
        with self.gate.shared(self.keys(batch), self.room) as slot:
            batch, later = pending(batch[:self.batch_size]), batch[self.batch_size:]
            if not batch:
                return later
            if self.feedback.isCanceled():
                raise CancelledError()
            try:
                answer = self.request(batch, 1, False)
            except ServiceError as exc:
                failure = exc
                slot.then_exclusive = True
            else:
                self._mark(batch, answer)
                return later
        with self.gate.exclusive(reserved=True):
            self.handle_error(batch, failure, 1, False)
        return later

    def send_batch(self, batch, attempt=1, split=False):
        """Send a batch now (recovery, or a job sending one request at a time)."""
        batch = pending(batch)
        if not batch:
            return
        if self.feedback.isCanceled():
            raise CancelledError()
        try:
            answer = self.request(batch, attempt, split)
        except ServiceError as exc:
            self.handle_error(batch, exc, attempt, split)
            return
        self._mark(batch, answer)

    def _mark(self, batch, answer):
        with self.lock:
            self.answered = True
            self.guard.success(len(batch))
            self.mark_done(batch, answer)
            self.advance(len(batch))

    def handle_error(self, batch, exc, attempt, split=False):
        """Unknown outcome → check, then retry the rest; refused → retry later; bad items → isolate them."""
        if outcome_unknown(exc):
            if not self.resend_is_safe(batch):
                self.info(f"{short(exc)}; checking which of {self.count(len(batch))} arrived")
                self._check_arrived(batch, exc)
                batch = pending(batch)
            if batch:
                self.retry(batch, exc, attempt)
            return
        if retryable(exc):
            self.retry(batch, exc, attempt)
            return
        if fatal(exc):
            raise self.fatal_error(exc)
        # Refused for its content (400/409/413/422, a 403 about a limit): find the bad items.
        named = item_errors(exc, len(batch))
        if len(batch) == 1:
            self.guard.rejected(exc)
            self.fail(batch, f"rejected by {self.title}: {named.get(0) or short(exc)}")
            return
        if named:
            for index, message in named.items():
                batch[index].done(FAILED, error=f"rejected by {self.title}: {message}")
            self.advance(len(named))
            self.send_batch(batch, attempt, split)
            return
        self.before_split(batch, exc)
        half = len(batch) // 2
        self.send_batch(batch[:half], split=True)
        self.send_batch(batch[half:], split=True)

    def _check_arrived(self, batch, exc):
        try:
            arrived = self.find_arrived(batch, exc)
        except ServiceError:
            self.fail(batch, f"no answer from {self.title} and the {self.place} could not be checked: this one may "
                             f"or may not have arrived; push again to finish without duplicates")
            raise
        if arrived:
            self.info(f"{arrived} of them had arrived; not sending those again")
            self.advance(arrived)

    def retry(self, batch, exc, attempt):
        """Send again after a pause, or give up after MAX_ATTEMPTS."""
        if attempt >= MAX_ATTEMPTS:
            self.fail(batch, f"not sent: {short(exc)} (gave up after {attempt} attempts)")
            return
        pause = RETRY_PAUSES[min(attempt - 1, len(RETRY_PAUSES) - 1)]
        self.info(f"{short(exc)}; sending {self.count(len(batch))} again in {pause:.0f} s")
        sleep_cancellable(pause, self.feedback)
        self.send_batch(batch, attempt + 1)

    def fail(self, batch, reason):
        """Mark the pending items of a batch failed with the reason."""
        left = pending(batch)
        for item in left:
            item.done(FAILED, error=reason)
        self.advance(len(left))

    # -- rate limits ------------------------------------------------------------------------------
    def paced(self, call, *buckets):
        """Run one request: first wait for empty buckets to refill, then wait out a long 429 if one comes."""
        for bucket in dict.fromkeys(buckets):
            wait_for_bucket(self.rate_state(bucket), self.feedback, self.service,
                            self.bucket_names.get(bucket, bucket))
        return call_rate_limited(call, self.feedback, self.service)

    def room(self, in_flight):
        """True when another request may join `in_flight` ones without overdrawing a rate-limit bucket."""
        if not self.answered:
            return False            # the first answer tells what is left
        for bucket in self.send_buckets:
            state = self.rate_state(bucket)
            if state is not None and state.remaining is not None and state.remaining <= in_flight:
                return False
        return True

    # -- reporting --------------------------------------------------------------------------------
    @property
    def title(self):
        """The service's name for messages."""
        return service_title(self.service)

    def count(self, n):
        """"1 location", "5 locations"."""
        return f"{n:,} {self.nouns[0] if n == 1 else self.nouns[1]}"

    def info(self, text):
        """A log line naming the service."""
        self.feedback.pushInfo(f"{self.title}: {text}")

    def advance(self, n):
        """n more items have their outcome."""
        with self.lock:
            self.sent_count += n
            if self.expected:
                self.feedback.setProgress(100.0 * min(1.0, self.sent_count / self.expected))
