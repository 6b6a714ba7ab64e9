"""The sandbox HTTP server: prefix routing, faults, latency, line speed, request log and /_sandbox control
endpoints."""

from __future__ import annotations

import gzip
import json
import logging
import os
import select
import shutil
import socket
import ssl
import struct
import subprocess  # nosec B404 - openssl makes the self-signed certificate of the TLS mode (tests only)
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from .bandwidth import Link, request_size
from .base import ApiError, Request, Response, dumps
from .faults import ERROR_KINDS, Fault, FaultSet
from .mapalyze import Mapalyze
from .mapflow import Mapflow
from .mapiry import Mapiry
from .mapsemble import Mapsemble

LOG = logging.getLogger(__name__)

DEFAULT_TOKENS = {
    "mapalyze": "sandbox-mapalyze-token",
    "mapflow": "sandbox-mapflow-token",
    "mapiry": "mk_live_sandbox_mapiry",
    "mapsemble": "sandbox-mapsemble-token",
}
PREFIXES = {
    "mapalyze": "/mapalyze/v1",
    "mapflow": "/mapflow/rest",
    "mapiry": "/mapiry/api/v1",
    "mapsemble": "/mapsemble/api/v1",
}
CONTROL = "/_sandbox"
# Web servers that are not any of the services, for connection tests: a site answering every path with an HTML
# 404 page, and an open JSON server answering 200 to everything (any token, or none) in shapes the services use.
IMPOSTORS = {
    "/impostor/html": lambda: Response(404, raw="<html><body><h1>404 Not Found</h1></body></html>",
                                       content_type="text/html; charset=utf-8"),
    "/impostor/open": lambda: Response(200, {"type": "FeatureCollection", "features": [], "total": 0, "data": [],
                                             "remainingCredits": 0, "billingType": "NONE"}),
}
LOG_BODY_LIMIT = 10 * 1024          # /_sandbox/requests leaves out bodies larger than this
LOG_MAX_BODY = 16 * 1024 * 1024     # the in-process log keeps at most this much of a body
LOG_MAX_RECORDS = 100_000           # and at most this many records (oldest dropped)
ANSWER_HEAD_BYTES = 150             # status line and the headers every answer has (Server, Date, type, length)
FAULT_MESSAGES = {429: "Too many requests", 500: "Internal server error", 502: "Bad gateway",
                  503: "Service temporarily unavailable", 504: "Gateway timeout"}
HTML_PAGE = ("<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head><body><center><h1>{status} "
             "{reason}</h1></center><hr><center>nginx</center>\n<!-- {padding} --></body></html>\n")
STALL_STEP = 0.05


@dataclass
class RequestRecord:
    """One request a service received (status 0: the connection was dropped without a response)."""

    service: str
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    json: object
    status: int
    time: float = field(default=0.0)

    def to_dict(self):
        """JSON-friendly form; bodies over 10 KB are left out (body_size tells their length)."""
        small = len(self.body) <= LOG_BODY_LIMIT
        return {"service": self.service, "method": self.method, "path": self.path, "query": self.query,
                "headers": self.headers, "status": self.status, "time": self.time, "body_size": len(self.body),
                "body": self.body.decode("utf-8", "replace") if small else None,
                "json": self.json if small else None}


def _cut_texts(value, limit):
    """Every text in a JSON value cut to `limit` characters (a service that silently shortens what it stores)."""
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, list):
        return [_cut_texts(v, limit) for v in value]
    if isinstance(value, dict):
        return {k: _cut_texts(v, limit) for k, v in value.items()}
    return value


def _peer_closed(conn):
    """True when the client closed its end of the connection."""
    try:
        readable, _, _ = select.select([conn], [], [], 0)
        if not readable:
            return False
        return conn.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class SandboxState:
    """The four service objects."""

    def __init__(self, mapalyze, mapiry, mapsemble, mapflow):
        self.mapalyze = mapalyze
        self.mapiry = mapiry
        self.mapsemble = mapsemble
        self.mapflow = mapflow

    def get(self, service):
        """Service object by name."""
        return getattr(self, service)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # Clients that hang up (cancelled, refused our TLS certificate) are part of the tests, not errors.
        LOG.debug("sandbox connection from %s ended early", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MapbridgeSandbox/1.0"
    timeout = 120

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            # A client refusing our certificate ends the connection here (the server stays quiet about it).
            self.request.do_handshake()
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.server.sandbox._track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.sandbox._track(self.connection, False)

    def log_message(self, format, *args):  # noqa: A002 - silence the default stderr log
        pass

    def date_time_string(self, timestamp=None):
        """The Date header, on the sandbox's (possibly skewed) server clock."""
        if timestamp is None:
            timestamp = time.time() + self.server.sandbox.clock_offset
        return super().date_time_string(timestamp)

    def _dispatch(self):
        self.server.sandbox._dispatch(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


class SandboxServer:
    """Local HTTP emulator of Mapalyze, Mapflow, Mapiry and Mapsemble."""

    def __init__(self, port=0, host="127.0.0.1", records=5000, seed=1, processing_seconds=2.0,
                 mapiry_rate_limits=True, result_features=None, tls=False, mapiry_rate_window=3600):
        self.host = host
        self.records = records
        self.seed = seed
        self._processing_seconds = processing_seconds
        self._mapiry_rate_limits = mapiry_rate_limits
        self._mapiry_rate_window = float(mapiry_rate_window)
        self._result_features = result_features
        self.latency_ms = 0
        # The client's line: its requests cross the uplink, the answers the downlink (0 Mbit/s = no limit).
        self.uplink = Link()
        self.downlink = Link()
        self._clock_offset = 0.0
        self.tokens = dict(DEFAULT_TOKENS)
        self.faults = FaultSet()
        self._log_lock = threading.Lock()
        self._log = []
        self._conn_lock = threading.Lock()
        self._connections = set()
        self._tmpdir = tempfile.mkdtemp(prefix="mapbridge-sandbox-")
        self._thread = None
        self._generation = 0
        self.state = self._build_state()
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.sandbox = self
        self.tls = bool(tls)
        if self.tls:
            # An HTTPS sandbox with a self-signed certificate no client trusts (an untrusted-certificate test).
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self._self_signed())
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True,
                                                     do_handshake_on_connect=False)

    # -- public API -------------------------------------------------------------------------
    @property
    def port(self):
        """The bound TCP port."""
        return self._httpd.server_address[1]

    @property
    def url(self):
        """http(s)://host:port."""
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def _self_signed(self):
        cert, key = os.path.join(self._tmpdir, "cert.pem"), os.path.join(self._tmpdir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,  # nosec B603 B607 - fixed arguments
                        "-days", "2", "-subj", f"/CN={self.host}"], check=True, capture_output=True, timeout=60)
        return cert, key

    @property
    def base_urls(self):
        """Base URL of each service."""
        return {name: self.url + prefix for name, prefix in PREFIXES.items()}

    def env(self):
        """MAPBRIDGE_<SERVICE>_URL / _TOKEN variables for the four services."""
        out = {}
        for name, url in self.base_urls.items():
            out[f"MAPBRIDGE_{name.upper()}_URL"] = url
            out[f"MAPBRIDGE_{name.upper()}_TOKEN"] = self.tokens[name]
        return out

    def start(self):
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                            name=f"sandbox-{self.port}", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self):
        """Serve in the calling thread until shutdown()."""
        self._httpd.serve_forever(poll_interval=0.1)

    def stop(self):
        """Stop serving, close open connections and remove temp files."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def requests(self):
        """Snapshot of the request log (list of RequestRecord)."""
        with self._log_lock:
            return list(self._log)

    def clear_requests(self):
        """Empty the request log."""
        with self._log_lock:
            self._log.clear()

    def add_fault(self, service, kind, *, method=None, path=None, count=1, after=0, retry_after=1,
                  latency_ms=0, status=None, position=0):
        """Inject a fault (see faults.Fault); returns it."""
        return self.faults.add(Fault(service, kind, method=method, path=path, count=count, after=after,
                                     retry_after=retry_after, latency_ms=latency_ms, status=status,
                                     position=position))

    def clear_faults(self):
        """Remove all faults."""
        self.faults.clear()

    def reset(self):
        """Back to the seeded state (current config kept); faults and request log cleared."""
        self._generation += 1       # stalled requests of the old state end now, unrecorded
        old = self.state
        self.state = self._build_state()
        self.clear_faults()
        self.clear_requests()
        for proc in list(old.mapflow.processings.values()):
            if proc.get("_result"):
                try:
                    os.remove(proc["_result"][1])
                except OSError:
                    pass

    @property
    def processing_seconds(self):
        """Duration of a Mapflow processing (new processings)."""
        return self._processing_seconds

    @processing_seconds.setter
    def processing_seconds(self, value):
        self._processing_seconds = float(value)
        self.state.mapflow.processing_seconds = float(value)

    @property
    def clock_offset(self):
        """Seconds the services' clock (Date headers, Mapalyze creation times) is ahead of this computer's."""
        return self._clock_offset

    @clock_offset.setter
    def clock_offset(self, value):
        self._clock_offset = float(value)
        self.state.mapalyze.clock_offset = float(value)

    @property
    def mapiry_rate_limits(self):
        """Whether Mapiry enforces its rate limits."""
        return self._mapiry_rate_limits

    @mapiry_rate_limits.setter
    def mapiry_rate_limits(self, value):
        self._mapiry_rate_limits = bool(value)
        self.state.mapiry.rate_limits_enabled = bool(value)

    @property
    def mapiry_rate_window(self):
        """Length in seconds of Mapiry's rate-limit windows (the documented hour unless a benchmark compresses it)."""
        return self._mapiry_rate_window

    @mapiry_rate_window.setter
    def mapiry_rate_window(self, value):
        self._mapiry_rate_window = float(value)
        self.state.mapiry.window_seconds = float(value)
        self.state.mapiry.reset_rate_limits()

    @property
    def result_features(self):
        """Number of features in a Mapflow result (None: 50)."""
        return self._result_features

    @result_features.setter
    def result_features(self, value):
        self._result_features = None if value is None else int(value)
        self.state.mapflow.result_features = self._result_features

    def reseed_mapalyze(self, records):
        """Replace Mapalyze's state with `records` seeded records."""
        self.records = int(records)
        self.state.mapalyze = Mapalyze(self.tokens["mapalyze"], records=self.records, seed=self.seed)
        self.state.mapalyze.clock_offset = self._clock_offset

    def config(self):
        """Current configuration."""
        return {"latency_ms": self.latency_ms, "upload_mbps": self.uplink.rate_mbps,
                "download_mbps": self.downlink.rate_mbps, "clock_offset": self.clock_offset,
                "processing_seconds": self.processing_seconds,
                "mapiry_rate_limits": self.mapiry_rate_limits, "mapiry_rate_window": self.mapiry_rate_window,
                "result_features": self.result_features,
                "records": self.records, "seed": self.seed}

    # -- internals --------------------------------------------------------------------------
    def _build_state(self):
        mapalyze = Mapalyze(self.tokens["mapalyze"], records=self.records, seed=self.seed)
        mapalyze.clock_offset = getattr(self, "_clock_offset", 0.0)
        return SandboxState(
            mapalyze,
            Mapiry(self.tokens["mapiry"], seed=self.seed, rate_limits=self._mapiry_rate_limits,
                   window_seconds=self._mapiry_rate_window),
            Mapsemble(self.tokens["mapsemble"], seed=self.seed),
            Mapflow(self.tokens["mapflow"], seed=self.seed, processing_seconds=self._processing_seconds,
                    result_features=self._result_features, tmpdir=self._tmpdir))

    def _track(self, conn, add):
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _record(self, req, status):
        rec = RequestRecord(req.service, req.method, req.path, req.query, req.headers, req.body[:LOG_MAX_BODY],
                            req.json, status, time.time())
        with self._log_lock:
            self._log.append(rec)
            if len(self._log) > LOG_MAX_RECORDS:
                del self._log[:len(self._log) - LOG_MAX_RECORDS]

    @staticmethod
    def _read_body(handler):
        if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline()
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length > 0 else b""

    def _dispatch(self, handler):
        split = urlsplit(handler.path)
        path = unquote(split.path)
        try:
            body = self._read_body(handler)
        except (ValueError, OSError):
            handler.close_connection = True
            return
        if path == CONTROL or path.startswith(CONTROL + "/"):
            self._send(handler, self._control(handler.command, path[len(CONTROL):], body), line=False)
            return
        self.uplink.carry(request_size(handler, body))
        impostor = next((make for prefix, make in IMPOSTORS.items()
                         if path == prefix or path.startswith(prefix + "/")), None)
        if impostor is not None:
            self._send(handler, impostor())
            return
        service = next((name for name, prefix in PREFIXES.items()
                        if path == prefix or path.startswith(prefix + "/")), None)
        if service is None:
            self._send(handler, Response(404, {"error": {"code": "NOT_FOUND", "message": (
                f"No sandbox service at {path}; services live under " + ", ".join(PREFIXES.values()))}}))
            return
        rel = path[len(PREFIXES[service]):] or "/"
        if len(rel) > 1 and rel.endswith("/"):
            rel = rel.rstrip("/")
        headers = {k.lower(): v for k, v in handler.headers.items()}
        host = headers.get("host") or f"{self.host}:{self.port}"
        req = Request(service, handler.command, rel, parse_qs(split.query, keep_blank_values=True), headers, body,
                      f"http://{host}{PREFIXES[service]}")
        svc = self.state.get(service)
        generation = self._generation
        extra_latency, fault, changes = self.faults.take(service, req.method, rel)
        delay = float(self.latency_ms or 0) + extra_latency
        if delay > 0:
            time.sleep(delay / 1000.0)
        for change in changes:
            svc.change_records(change.kind, change.position)
        kind = fault.kind if fault is not None else None
        if kind == "stall" and not self._stall(handler, fault.latency_ms, generation):
            self._record(req, 0)
            handler.close_connection = True
            return
        if kind == "drop":
            self._record(req, 0)
            handler.close_connection = True
            return
        if kind in ERROR_KINDS or kind in ("error", "no_retry_after"):
            headers_out = {}
            if fault.status == 429 and kind != "no_retry_after":
                headers_out["Retry-After"] = str(fault.retry_after)
            message = FAULT_MESSAGES.get(fault.status, f"Injected error {fault.status}")
            resp = svc.error_response(req, ApiError(fault.status, message + " (sandbox fault)", headers=headers_out))
        elif kind == "html":
            resp = self._html_error(fault.status, req)
        elif kind == "echo":
            resp = self._echo(fault.status or 200, req)
        else:
            if kind == "no_paging":
                req.query = {k: v for k, v in req.query.items() if k not in ("page", "offset")}
                if isinstance(req.json, dict):
                    req.json = {k: v for k, v in req.json.items() if k not in ("page", "offset")}
            if kind == "truncate" and req.json is not None:
                req.json = _cut_texts(req.json, fault.position)
            try:
                resp = svc.handle(req)
            except Exception as exc:  # noqa: BLE001 - a handler bug becomes a 500 in the service's shape
                LOG.exception("sandbox handler failed: %s %s", req.method, req.path)
                resp = svc.error_response(req, ApiError(500, f"Sandbox internal error: {exc!r}"))
            if kind == "error_after":
                # The service acted; the gateway in front of it answers an error all the same.
                message = FAULT_MESSAGES.get(fault.status, f"Injected error {fault.status}")
                resp = svc.error_response(req, ApiError(fault.status, message + " (sandbox fault)"))
        if kind == "drop_after":
            self._record(req, 0)
            handler.close_connection = True
            return
        if kind == "no_paging" and fault.position != 1:
            resp = self._without_totals(resp)
        if kind in ("gzip", "gzip_body"):
            resp = self._gzipped(resp, req, kind == "gzip_body")
            if fault.position:
                self._record(req, resp.status)
                self._send_part_then_reset(handler, resp, fault.position, reset=False)
                return
        self._record(req, resp.status)
        if kind == "stall_body":
            self._send_half_then_stall(handler, resp, fault.latency_ms, generation)
            return
        if kind == "reset_after":
            self._send_part_then_reset(handler, resp, fault.position)
            return
        if kind == "garbage_after":
            resp = self._garbled(resp, fault)
        self._send(handler, resp)

    def _stall(self, handler, latency_ms, generation):
        """Hold the request; False when the client hung up (or the sandbox was reset) meanwhile."""
        deadline = time.monotonic() + latency_ms / 1000.0
        while time.monotonic() < deadline:
            if generation != self._generation or _peer_closed(handler.connection):
                return False
            time.sleep(STALL_STEP)
        return True

    @staticmethod
    def _html_error(status, req):
        reason = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out",
                  500: "Internal Server Error"}.get(status, "Error")
        auth = req.headers.get("authorization", "")
        # Like a misconfigured gateway's debug page: the request's headers echoed (the token among them).
        page = HTML_PAGE.format(status=status, reason=reason, padding=f"request authorization: {auth}")
        return Response(status, raw=page, content_type="text/html")

    @staticmethod
    def _without_totals(resp):
        totals = {"total", "totalPages", "last_page", "lastPage", "total_count", "totalCount", "pages"}

        def strip(value):
            if isinstance(value, dict):
                return {k: strip(v) for k, v in value.items() if k not in totals}
            if isinstance(value, list):
                return [strip(v) for v in value]
            return value

        data = resp.data if resp.raw is None else json.loads(resp.body_bytes())
        return Response(resp.status, strip(data), headers=resp.headers)

    @staticmethod
    def _echo(status, req):
        from urllib.parse import quote

        auth = req.headers.get("authorization", "")
        body = req.body.decode("utf-8", "replace") if req.body else None
        text = json.dumps({"echo": {"headers": req.headers, "quoted_authorization": quote(auth, safe=""),
                                    "body": body}})
        return Response(status, raw=text.replace("/", "\\/"))

    @staticmethod
    def _gzipped(resp, req, as_body):
        if resp.file is not None:
            with open(resp.file, "rb") as src:
                data = src.read()
        else:
            data = resp.body_bytes()
        packed = gzip.compress(data)
        if as_body:
            return Response(resp.status, raw=packed, content_type="application/gzip", headers=resp.headers)
        if "gzip" not in req.headers.get("accept-encoding", "").lower():
            return resp
        headers = dict(resp.headers, **{"Content-Encoding": "gzip"})
        return Response(resp.status, raw=packed, content_type=resp.content_type, headers=headers)

    def _send_half_then_stall(self, handler, resp, latency_ms, generation):
        """Headers and half of the body, then nothing for latency_ms, then hang up (a stalled transfer)."""
        self._send_part(handler, resp, 0, lambda: self._stall(handler, latency_ms, generation))

    @staticmethod
    def _garbled(resp, fault):
        """The service's answer made unreadable: an HTML page, or its JSON cut to `position` bytes."""
        status = fault.status or resp.status
        if not fault.position:
            page = HTML_PAGE.format(status=status, reason="OK", padding="a portal's page")
            return Response(status, raw=page, content_type="text/html", headers=resp.headers)
        return Response(status, raw=resp.body_bytes()[:fault.position], content_type=resp.content_type,
                        headers=resp.headers)

    def _send_part_then_reset(self, handler, resp, position, reset=True):
        """Headers and the first `position` bytes (half when 0) of the body, then a TCP reset (or, reset=False, an
        orderly close: the client sees the body simply end early)."""
        def hang_up():
            if reset:
                handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                handler.connection.close()      # with a zero linger: a reset, not an orderly end

        self._send_part(handler, resp, position, hang_up)

    @staticmethod
    def _send_part(handler, resp, position, then):
        """Headers and the first `position` bytes (half when 0) of the body, then then() (a stall, a reset)."""
        if resp.file is not None:
            with open(resp.file, "rb") as src:
                body = src.read()
        else:
            body = resp.body_bytes()
        try:
            handler.send_response(resp.status)
            for key, value in resp.headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Type", resp.content_type)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body[:position or len(body) // 2])
            handler.wfile.flush()
            then()
        except OSError:
            pass        # the client hung up first
        handler.close_connection = True

    def _send(self, handler, resp, line=True):
        """Send an answer; line=True (a service's answer): first wait while it crosses the client's downlink."""
        try:
            body = None if resp.file is not None else resp.body_bytes()
            size = os.path.getsize(resp.file) if resp.file is not None else len(body)
            if line and self.downlink.rate_mbps:
                head = ANSWER_HEAD_BYTES + sum(len(k) + len(v) + 4 for k, v in resp.headers.items())
                self.downlink.carry(head + (size if handler.command != "HEAD" else 0))
            handler.send_response(resp.status)
            for key, value in resp.headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Type", resp.content_type)
            handler.send_header("Content-Length", str(size))
            handler.end_headers()
            if handler.command == "HEAD":
                return
            if resp.file is not None:
                with open(resp.file, "rb") as src:
                    shutil.copyfileobj(src, handler.wfile, 1024 * 1024)
            elif body:
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True

    # -- control endpoints --------------------------------------------------------------------
    def _control(self, method, path, body):
        try:
            data = json.loads(body.decode("utf-8")) if body else {}
        except ValueError as exc:
            return Response(400, {"ok": False, "error": f"invalid JSON: {exc}"})
        route = (method, path.rstrip("/") or "/")
        try:
            if route == ("GET", "/health"):
                return Response(200, {"ok": True, "base_urls": self.base_urls, "tokens": self.tokens})
            if route == ("POST", "/reset"):
                self.reset()
                return Response(200, {"ok": True})
            if route == ("POST", "/faults"):
                if not isinstance(data, dict) or "service" not in data or "kind" not in data:
                    raise ValueError("body must be an object with at least 'service' and 'kind'")
                fault = self.add_fault(**data)
                return Response(201, {"ok": True, "fault": fault.to_dict()})
            if route == ("GET", "/faults"):
                return Response(200, [f.to_dict() for f in self.faults.list()])
            if route == ("DELETE", "/faults"):
                self.clear_faults()
                return Response(200, {"ok": True})
            if route == ("GET", "/requests"):
                return Response(200, raw=dumps([r.to_dict() for r in self.requests]))
            if route == ("DELETE", "/requests"):
                self.clear_requests()
                return Response(200, {"ok": True})
            if route == ("GET", "/config"):
                return Response(200, self.config())
            if route == ("POST", "/config"):
                return Response(200, {"ok": True, "config": self._apply_config(data)})
        except (TypeError, ValueError) as exc:
            return Response(400, {"ok": False, "error": str(exc)})
        return Response(404, {"ok": False, "error": f"unknown control endpoint {method} {CONTROL}{path}"})

    def _apply_config(self, data):
        if not isinstance(data, dict):
            raise ValueError("config body must be an object")
        unknown = set(data) - {"latency_ms", "upload_mbps", "download_mbps", "clock_offset", "processing_seconds",
                               "mapiry_rate_limits", "mapiry_rate_window", "result_features", "records"}
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(sorted(unknown))}")
        if "latency_ms" in data:
            self.latency_ms = float(data["latency_ms"] or 0)
        if "upload_mbps" in data:
            self.uplink.rate_mbps = data["upload_mbps"]
        if "download_mbps" in data:
            self.downlink.rate_mbps = data["download_mbps"]
        if "clock_offset" in data:
            self.clock_offset = data["clock_offset"] or 0
        if "processing_seconds" in data:
            self.processing_seconds = data["processing_seconds"]
        if "mapiry_rate_limits" in data:
            self.mapiry_rate_limits = data["mapiry_rate_limits"]
        if "mapiry_rate_window" in data:
            window = float(data["mapiry_rate_window"])
            if window <= 0:
                raise ValueError("mapiry_rate_window must be > 0 seconds")
            self.mapiry_rate_window = window
        if "result_features" in data:
            self.result_features = data["result_features"]
        if "records" in data:
            self.reseed_mapalyze(data["records"])
        return self.config()
