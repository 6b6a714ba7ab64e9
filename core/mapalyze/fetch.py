"""Fetch every page of /records with a few requests in flight, delivered in order, each page exactly once.

Paging is by offset with the largest documented limit (500). The first page gives `total`; the other pages
are fetched by a small thread pool (their own connections from one pooled session) while the caller writes
the pages already delivered. The fetchers only move bytes; pages are parsed by the caller, in the thread that
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

from ...api.errors import CancelledError, RateLimitedError, ServiceError
from ...api.http import MapbridgeRetry, make_retry
from ...api.mapalyze import MAX_PAGE_SIZE, MapalyzeClient

DEFAULT_WORKERS = 4
WINDOW_PER_WORKER = 2  # pages fetched ahead of the writer, per fetcher (bounds memory)
FEATURE_KEYS = ("features", "records", "data", "items", "results")
TOTAL_KEYS = ("total", "total_count", "totalCount", "count", "numberMatched")


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


def fetch_client(client, workers):
    """A client sharing the configuration and proxy of `client`, with a pool and a gate for `workers` fetchers."""
    gate = RateGate()
    retry = GateRetry.wrap(make_retry(), gate)
    fetcher = MapalyzeClient(client.config, client.session.proxy_settings, timeout=client.timeout, retry=retry,
                             pool_size=workers + 2)
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
        self.client, self.gate = fetch_client(client, self.workers)
        self.total = None          # announced by the first page
        self.latest_total = None   # announced by the latest page
        self.requests = 0

    def cancelled(self):
        """Whether the user asked to stop."""
        return self.feedback is not None and self.feedback.isCanceled()

    def _get(self, offset):
        """The raw body of one page; waits out long rate limits cancellably."""
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
                seconds = exc.retry_after if exc.retry_after is not None else 30.0
                self.gate.hold(seconds)
                if self.feedback is not None:
                    self.feedback.pushInfo(f"Mapalyze asks to wait {seconds:.0f} s (rate limit); waiting…")

    @staticmethod
    def _parse(offset, raw):
        """The Page of a raw body."""
        try:
            body = json.loads(raw)
        except ValueError:
            raise ServiceError("the answer from /records is not valid JSON", service="mapalyze",
                               hint="Check the base URL in Mapbridge ▸ Settings",
                               details=raw[:300].decode("utf-8", "replace")) from None
        features = features_of(body)
        if features is None:
            raise ServiceError("the answer from /records holds no list of records", service="mapalyze",
                               hint="Check the base URL in Mapbridge ▸ Settings",
                               details=raw[:300].decode("utf-8", "replace"))
        return Page(offset, features, total_of(body))

    def pages(self):
        """Yield Page objects in offset order until every record has been delivered."""
        first = self._parse(0, self._get(0))
        self.total = self.latest_total = first.total
        yield first
        size = len(first.features)
        if size == 0 or (first.total is not None and size >= first.total):
            return
        # A server may cap the limit below what we asked: step by what it actually gave.
        step = size if size < self.page_size else self.page_size
        yield from self._rest(step, size)

    def _rest(self, step, next_offset):
        window = self.workers * WINDOW_PER_WORKER
        pending = deque()
        done = False
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="mapalyze-page")
        try:
            while True:
                while not done and len(pending) < window and self._more(next_offset, pending):
                    pending.append((next_offset, pool.submit(self._get, next_offset)))
                    next_offset += step
                if not pending:
                    return
                page = self._result(pending)
                if page.total is not None:
                    self.latest_total = page.total
                if len(page.features) < step and (self.latest_total is None
                                                  or page.offset + len(page.features) >= self.latest_total):
                    done = True  # the last page; anything requested beyond it is empty
                yield page
                if done:
                    return
        finally:
            for _, future in pending:
                future.cancel()
            # Pages still in flight finish in the background; their results are dropped.
            pool.shutdown(wait=False, cancel_futures=True)

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
        """Whether to ask for a page starting at `offset` now."""
        if self.latest_total is not None:
            return offset < self.latest_total
        # No total announced: only a few pages ahead, since the end shows only as a short page.
        return len(pending) < self.workers
