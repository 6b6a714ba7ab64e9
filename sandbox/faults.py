"""Injected failures: which requests they hit and what they do to them."""

from __future__ import annotations

import re
import threading

SERVICES = ("mapalyze", "mapflow", "mapiry", "mapsemble")
ERROR_KINDS = {"429": 429, "500": 500, "502": 502, "503": 503, "504": 504}
# Extra kinds:
# - "error": answer with `status` (any 4xx/5xx) in the service's error shape.
# - "error_after": the service acts on the request, then the answer is replaced by `status` (a gateway that gave
#   up after the service had created or charged something).
# - "html": answer with `status` and an HTML error page (a proxy's or gateway's, e.g. 502 Bad Gateway).
# - "stall": hold the request `latency_ms` before answering (ends early when the client hangs up).
# - "stall_body": send the headers and half of the body, then hold `latency_ms` and hang up.
# - "gzip": the answer goes with Content-Encoding: gzip when the request accepts it (a proxy or CDN would); with
#   `position` only that many bytes of it are sent, then the connection is closed (a cut compressed download).
# - "gzip_body": the answer's body itself is gzip data (Content-Type application/gzip, no Content-Encoding).
# - "no_retry_after": a 429 without a Retry-After header.
# - "echo": answer `status` (200 when not given) with a JSON page echoing the request's headers and body, escaped the
#   way some servers escape ("\/" for "/", \uXXXX, percent-encoded) — a malformed successful answer.
# - "truncate": the service silently cuts every text of the request's JSON body to `position` characters.
# - "no_paging": the service answers the first page whatever `page`/`offset` asks (in the query or a JSON body),
#   without any total (a server that ignores paging); with `position` 1 the totals are kept.
# - "reset_after": the service acts, then its answer's headers and the first `position` bytes of its body (half
#   of it when 0) are sent and the connection is reset (a connection lost in the middle of a success).
# - "garbage_after": the service acts, then the answer (its own status, or `status`) carries an HTML page when
#   `position` is 0, else only the first `position` bytes of the service's JSON (an unreadable success).
# - "delete" / "insert" (Mapalyze): before handling, delete the record at `position` of the ordered records, or
#   insert a new one there (records changing on the server between two pages of a load).
KINDS = tuple(ERROR_KINDS) + ("error", "error_after", "html", "drop", "drop_after", "latency", "stall", "stall_body",
                              "gzip", "gzip_body", "no_retry_after", "echo", "no_paging", "truncate", "delete",
                              "insert", "reset_after", "garbage_after")
NEEDS_STATUS = ("error", "error_after", "html")


class Fault:
    """One fault rule: matches service/method/path, skips `after` hits, then affects `count` hits."""

    def __init__(self, service, kind, *, method=None, path=None, count=1, after=0, retry_after=1,
                 latency_ms=0, status=None, position=0):
        kind = str(kind)
        if service not in SERVICES and service not in (None, "*"):
            raise ValueError(f"unknown service {service!r}; expected one of {', '.join(SERVICES)} or '*'")
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
        if kind in NEEDS_STATUS and status is None:
            raise ValueError(f"fault kind {kind!r} needs a status")
        if count is not None and int(count) < 1:
            raise ValueError("count must be >= 1 or None (forever)")
        self.service = None if service == "*" else service
        self.kind = kind
        self.method = method.upper() if method else None
        self.path = path
        self.path_re = re.compile(path) if path else None
        self.count = None if count is None else int(count)
        self.after = int(after or 0)
        self.retry_after = retry_after
        self.latency_ms = float(latency_ms or 0)
        self.status = int(status) if status is not None else ERROR_KINDS.get(kind, 429 if kind == "no_retry_after"
                                                                             else None)
        self.position = int(position or 0)
        self.seen = 0
        self.fired = 0

    def matches(self, service, method, path):
        """Whether the rule applies to this request at all."""
        if self.service is not None and self.service != service:
            return False
        if self.method is not None and self.method != method:
            return False
        return self.path_re is None or self.path_re.search(path) is not None

    @property
    def exhausted(self):
        """True once the rule has affected `count` requests."""
        return self.count is not None and self.fired >= self.count

    def to_dict(self):
        """JSON-friendly description."""
        return {"service": self.service, "kind": self.kind, "method": self.method, "path": self.path,
                "count": self.count, "after": self.after, "retry_after": self.retry_after,
                "latency_ms": self.latency_ms, "status": self.status, "position": self.position, "seen": self.seen,
                "fired": self.fired}


class FaultSet:
    """Thread-safe list of fault rules consulted once per service request."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []

    def add(self, fault):
        """Append a rule; returns it."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self):
        """Remove all rules."""
        with self._lock:
            self._faults.clear()

    def list(self):
        """Snapshot of the active rules."""
        with self._lock:
            return list(self._faults)

    def take(self, service, method, path):
        """Consume matching rules; returns (extra latency in ms, the acting fault or None, record changes)."""
        # Latency rules add up; of the other kinds the first one due acts. Every rule counts every
        # matching request toward its `after`, and exhausted rules are dropped.
        latency = 0.0
        acting = None
        changes = []
        with self._lock:
            for fault in self._faults:
                if not fault.matches(service, method, path):
                    continue
                fault.seen += 1
                if fault.seen <= fault.after or fault.exhausted:
                    continue
                if fault.kind in ("latency", "delete", "insert"):
                    # Latency adds up; a record change happens besides whatever else acts on the request.
                    if fault.kind != "latency":
                        changes.append(fault)
                    fault.fired += 1
                    latency += fault.latency_ms
                elif acting is None:
                    fault.fired += 1
                    acting = fault
                    if fault.kind not in ("stall", "stall_body"):     # those hold the connection themselves
                        latency += fault.latency_ms
            self._faults = [f for f in self._faults if not f.exhausted]
        return latency, acting, changes
