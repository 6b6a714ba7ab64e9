"""Fetch every page of /records with a few requests in flight, delivered in order, each page exactly once.

Paging is by offset with the largest documented limit (500). The first page gives `total`; the other pages
are fetched by a small thread pool (their own connections from one pooled session) while the caller writes
the pages already delivered. Each page after the first starts one record early: that record must be the last
one of the page before, so records deleted or added on the server while paging (which shift every later page)
are noticed, as is a change of `total`, instead of a layer that silently misses records (RecordsShifted; the
loader then reads again). A server that ignores `offset` (the same page again) is refused.
The fetchers only move bytes; pages are parsed by the caller, in the thread that
writes: a fetcher parsing JSON would hold the GIL for milliseconds each time the writer's OGR calls let it go.
A 429 or 503 is retried by the session (urllib3 Retry, Retry-After honoured); a Retry-After also pauses the
other fetchers (a shared gate), so concurrency never outruns a rate limit.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from ...api.errors import CancelledError, MapbridgeError, RateLimitedError, ServiceError
from ...api.http import MapbridgeRetry, RateLimitWaits, describe_rate_wait, make_retry
from ...api.mapalyze import MAX_PAGE_SIZE, MapalyzeClient
from ...api.scrub import excerpt

DEFAULT_WORKERS = 4
WINDOW_PER_WORKER = 2  # pages fetched ahead of the writer, per fetcher (bounds memory)
FEATURE_KEYS = ("features", "records", "data", "items", "results")
TOTAL_KEYS = ("total", "total_count", "totalCount", "count", "numberMatched")


class RecordsShifted(MapbridgeError):
    """The records changed on the server while they were paged (pages shifted, or `total` changed)."""

    def __init__(self, message):
        super().__init__(message, service="mapalyze", hint="The records changed while loading; run it again")


def record_key(item):
    """What identifies a record across pages: its id, else its whole content."""
    if isinstance(item, dict):
        rec_id = item.get("id")
        if rec_id is None and isinstance(item.get("properties"), dict):
            rec_id = item["properties"].get("id")
        if rec_id is not None:
            return ("id", str(rec_id))
    return ("content", json.dumps(item, sort_keys=True, default=str))


class RateGate:
    """Shared pause: when one fetcher is told to wait, the others wait too before their next request."""

    def __init__(self):
        self._lock = threading.Lock()
        self._until = 0.0

    def hold(self, seconds):
        """Pause new requests for `seconds` from now."""
        with self._lock:
            self._until = max(self._until, time.monotonic() + max(0.0, float(seconds)))

    def wait(self, cancelled):
        """Sleep (cancellably) until the pause is over."""
        while True:
            with self._lock:
                left = self._until - time.monotonic()
            if left <= 0:
                return
            if cancelled():
                raise CancelledError()
            time.sleep(min(0.1, left))


class GateRetry(MapbridgeRetry):
    """The session's Retry policy, also telling the gate when the server asks to wait."""

    gate = None

    @classmethod
    def wrap(cls, retry, gate):
        """A copy of `retry` (same settings) that reports Retry-After to `gate`."""
        clone = cls.__new__(cls)
        clone.__dict__.update(retry.__dict__)
        clone.gate = gate
        return clone

    def new(self, **kw):
        retry = super().new(**kw)
        retry.gate = self.gate
        return retry

    def sleep_for_retry(self, response=None):
        seconds = self.get_retry_after(response) if response is not None else None
        if seconds and self.gate is not None:
            self.gate.hold(seconds)
        return super().sleep_for_retry(response)


def features_of(body):
    """The list of records in a page body (GeoJSON FeatureCollection or a plain list envelope)."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in FEATURE_KEYS:
            value = body.get(key)
            if isinstance(value, list):
                return value
            if isinstance(value, dict) and isinstance(value.get("features"), list):
                return value["features"]
    return None


def total_of(body):
    """The total number of matching records a page announces, or None."""
    if isinstance(body, dict):
        for key in TOTAL_KEYS:
            value = body.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
        meta = body.get("meta") or body.get("pagination")
        if isinstance(meta, dict):
            return total_of(meta)
    return None


class Page:
    """One delivered page."""

    __slots__ = ("offset", "features", "total")

    def __init__(self, offset, features, total):
        self.offset = offset
        self.features = features
        self.total = total


def fetch_client(client, workers, cancelled=None):
    """A client sharing the configuration and proxy of `client`, with a pool and a gate for `workers` fetchers."""
    gate = RateGate()
    retry = GateRetry.wrap(make_retry(), gate)
    fetcher = MapalyzeClient(client.config, client.session.proxy_settings, timeout=client.timeout, retry=retry,
                             pool_size=workers + 2)
    # A stalled page is aborted by a cancel: the job's, or the one the client was given.
    fetcher.cancel_check = lambda: bool((cancelled is not None and cancelled()) or client.cancelled())
    return fetcher, gate


class PageFetcher:
    """Iterates the pages of /records for a form filter and a since, in offset order."""

    def __init__(self, client, *, form_id=None, since=None, feedback=None, workers=DEFAULT_WORKERS,
                 page_size=MAX_PAGE_SIZE):
        self.form_id = form_id or None
        self.since = since or None
        self.feedback = feedback
        self.workers = max(1, int(workers))
        self.page_size = page_size
        self.client, self.gate = fetch_client(client, self.workers, self.cancelled)
        self.total = None          # announced by the first page
        self.latest_total = None   # announced by the latest page
        self.requests = 0
        self.waits = RateLimitWaits()
        self._wait_lock = threading.Lock()

    def cancelled(self):
        """Whether the user asked to stop."""
        return self.feedback is not None and self.feedback.isCanceled()

    def _get(self, offset):
        """The raw body of one page; waits out long rate limits cancellably (bounded: see RateLimitWaits)."""
        def call():
            self.gate.wait(self.cancelled)
            if self.cancelled():
                raise CancelledError()
            self.requests += 1
            return self.client.records(offset=offset, limit=self.page_size, form_id=self.form_id,
                                       since=self.since, raw=True)

        while True:
            try:
                return call()
            except RateLimitedError as exc:
                with self._wait_lock:
                    seconds, named = self.waits.next(exc)
                self.gate.hold(seconds)
                if self.feedback is not None:
                    self.feedback.pushInfo(describe_rate_wait("mapalyze", seconds, named))

    @staticmethod
    def _parse(offset, raw):
        """The Page of a raw body."""
        try:
            body = json.loads(raw)
        except ValueError:
            raise ServiceError("the answer from /records is not valid JSON", service="mapalyze",
                               hint="Check the base URL in Mapbridge ▸ Settings",
                               details=excerpt(raw, 300)) from None
        features = features_of(body)
        if features is None:
            raise ServiceError("the answer from /records holds no list of records", service="mapalyze",
                               hint="Check the base URL in Mapbridge ▸ Settings",
                               details=excerpt(raw, 300))
        return Page(offset, features, total_of(body))

    def pages(self):
        """Yield Page objects in offset order until every record has been delivered (each record once)."""
        first = self._parse(0, self._get(0))
        self.total = self.latest_total = first.total
        yield first
        size = len(first.features)
        if size == 0 or (first.total is not None and size >= first.total):
            return
        # A server may cap the limit below what we asked: step by what it actually gave. Every later page starts
        # one record early (the overlap that proves nothing shifted), so it brings size - 1 new records.
        overlap = 1 if size > 1 else 0
        yield from self._rest(size, size - overlap, first)

    def _rest(self, size, step, previous):
        window = self.workers * WINDOW_PER_WORKER
        pending = deque()
        done = False
        overlap = size - step
        next_start = size                  # the offset of the first record not delivered yet
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="mapalyze-page")
        try:
            while True:
                while not done and len(pending) < window and self._more(next_start, pending):
                    offset = next_start - overlap
                    pending.append((offset, pool.submit(self._get, offset)))
                    next_start += step
                if not pending:
                    return
                page = self._result(pending)
                self._check_total(page)
                if len(page.features) < size and (self.latest_total is None
                                                  or page.offset + len(page.features) >= self.latest_total):
                    done = True  # the last page; anything requested beyond it is empty
                if overlap:
                    page = self._after_overlap(previous, page)
                previous = page
                yield page
                if done:
                    return
        finally:
            for _, future in pending:
                future.cancel()
            # Pages still in flight finish in the background; their results are dropped.
            pool.shutdown(wait=False, cancel_futures=True)

    def _check_total(self, page):
        """RecordsShifted when a page announces another total than the first one did."""
        if page.total is None:
            return
        if self.total is not None and page.total != self.total:
            raise RecordsShifted(f"the number of Mapalyze records changed from {self.total:,} to {page.total:,} "
                                 "while loading")
        self.latest_total = page.total

    @staticmethod
    def _after_overlap(previous, page):
        """The page without the records the previous page already brought; RecordsShifted on a gap.

        The page was asked to start with the previous page's last record. Found later in the page, the records
        moved back (one was added, or the server counts from one): the repeats are dropped. Not found, they
        moved forward (one was deleted) and a record may have slipped between the two pages unseen.
        """
        if not page.features:
            return page
        keys = [record_key(item) for item in page.features]
        if previous.features and keys == [record_key(item) for item in previous.features]:
            raise ServiceError("Mapalyze answered the same page of records again for another offset: it ignores "
                               "the `offset` paging parameter, so the records cannot all be read", service="mapalyze",
                               hint="Check the base URL in Mapbridge ▸ Settings, or load one form at a time")
        last = record_key(previous.features[-1]) if previous.features else None
        if last is None:
            return page
        try:
            position = keys.index(last)
        except ValueError:
            raise RecordsShifted("Mapalyze records were deleted or moved while loading (the pages no longer "
                                 "line up)") from None
        return Page(page.offset + position + 1, page.features[position + 1:], page.total)

    def _result(self, pending):
        """The oldest pending page, checking for cancel while waiting."""
        offset, future = pending[0]
        while True:
            if self.cancelled():
                raise CancelledError()
            try:
                raw = future.result(timeout=0.25)
            except FutureTimeout:
                continue
            pending.popleft()
            return self._parse(offset, raw)

    def close(self):
        """Release the fetchers' connections."""
        self.client.close()

    def _more(self, offset, pending):
        """Whether to ask for the page whose first new record is at `offset` now."""
        if self.latest_total is not None:
            return offset < self.latest_total
        # No total announced: only a few pages ahead, since the end shows only as a short page.
        return len(pending) < self.workers
