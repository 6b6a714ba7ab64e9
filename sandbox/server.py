"""The sandbox HTTP server: prefix routing, faults, latency, request log and /_sandbox control endpoints."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

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
LOG_BODY_LIMIT = 10 * 1024          # /_sandbox/requests leaves out bodies larger than this
LOG_MAX_BODY = 16 * 1024 * 1024     # the in-process log keeps at most this much of a body
LOG_MAX_RECORDS = 100_000           # and at most this many records (oldest dropped)
FAULT_MESSAGES = {429: "Too many requests", 500: "Internal server error", 502: "Bad gateway",
                  503: "Service temporarily unavailable", 504: "Gateway timeout"}


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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MapbridgeSandbox/1.0"
    timeout = 120

    def setup(self):
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

    def _dispatch(self):
        self.server.sandbox._dispatch(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


class SandboxServer:
    """Local HTTP emulator of Mapalyze, Mapflow, Mapiry and Mapsemble."""

    def __init__(self, port=0, host="127.0.0.1", records=5000, seed=1, processing_seconds=2.0,
                 mapiry_rate_limits=True, result_features=None, mapiry_rate_window=3600):
        self.host = host
        self.records = records
        self.seed = seed
        self._processing_seconds = processing_seconds
        self._mapiry_rate_limits = mapiry_rate_limits
        self._mapiry_rate_window = float(mapiry_rate_window)
        self._result_features = result_features
        self.latency_ms = 0
        self.tokens = dict(DEFAULT_TOKENS)
        self.faults = FaultSet()
        self._log_lock = threading.Lock()
        self._log = []
        self._conn_lock = threading.Lock()
        self._connections = set()
        self._tmpdir = tempfile.mkdtemp(prefix="mapbridge-sandbox-")
        self._thread = None
        self.state = self._build_state()
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.sandbox = self

    # -- public API -------------------------------------------------------------------------
    @property
    def port(self):
        """The bound TCP port."""
        return self._httpd.server_address[1]

    @property
    def url(self):
        """http://host:port."""
        return f"http://{self.host}:{self.port}"

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
                  latency_ms=0, status=None):
        """Inject a fault (see faults.Fault); returns it."""
        return self.faults.add(Fault(service, kind, method=method, path=path, count=count, after=after,
                                     retry_after=retry_after, latency_ms=latency_ms, status=status))

    def clear_faults(self):
        """Remove all faults."""
        self.faults.clear()

    def reset(self):
        """Back to the seeded state (current config kept); faults and request log cleared."""
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

    def config(self):
        """Current configuration."""
        return {"latency_ms": self.latency_ms, "processing_seconds": self.processing_seconds,
                "mapiry_rate_limits": self.mapiry_rate_limits, "mapiry_rate_window": self.mapiry_rate_window,
                "result_features": self.result_features,
                "records": self.records, "seed": self.seed}

    # -- internals --------------------------------------------------------------------------
    def _build_state(self):
        return SandboxState(
            Mapalyze(self.tokens["mapalyze"], records=self.records, seed=self.seed),
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
            self._send(handler, self._control(handler.command, path[len(CONTROL):], body))
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
        extra_latency, fault = self.faults.take(service, req.method, rel)
        delay = float(self.latency_ms or 0) + extra_latency
        if delay > 0:
            time.sleep(delay / 1000.0)
        if fault is not None and fault.kind == "drop":
            self._record(req, 0)
            handler.close_connection = True
            return
        if fault is not None and (fault.kind in ERROR_KINDS or fault.kind == "error"):
            headers_out = {}
            if fault.status == 429:
                headers_out["Retry-After"] = str(fault.retry_after)
            message = FAULT_MESSAGES.get(fault.status, f"Injected error {fault.status}")
            resp = svc.error_response(req, ApiError(fault.status, message + " (sandbox fault)", headers=headers_out))
        else:
            try:
                resp = svc.handle(req)
            except Exception as exc:  # noqa: BLE001 - a handler bug becomes a 500 in the service's shape
                LOG.exception("sandbox handler failed: %s %s", req.method, req.path)
                resp = svc.error_response(req, ApiError(500, f"Sandbox internal error: {exc!r}"))
        if fault is not None and fault.kind == "drop_after":
            self._record(req, 0)
            handler.close_connection = True
            return
        if fault is not None and fault.kind == "error_after":
            message = FAULT_MESSAGES.get(fault.status, f"Injected error {fault.status}")
            resp = svc.error_response(req, ApiError(fault.status, message + " (sandbox fault, after acting)"))
        self._record(req, resp.status)
        self._send(handler, resp)

    def _send(self, handler, resp):
        try:
            handler.send_response(resp.status)
            for key, value in resp.headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Type", resp.content_type)
            if resp.file is not None:
                size = os.path.getsize(resp.file)
                handler.send_header("Content-Length", str(size))
                handler.end_headers()
                if handler.command != "HEAD":
                    with open(resp.file, "rb") as src:
                        shutil.copyfileobj(src, handler.wfile, 1024 * 1024)
            else:
                body = resp.body_bytes()
                handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                if handler.command != "HEAD" and body:
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
        unknown = set(data) - {"latency_ms", "processing_seconds", "mapiry_rate_limits", "mapiry_rate_window",
                               "result_features", "records"}
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(sorted(unknown))}")
        if "latency_ms" in data:
            self.latency_ms = float(data["latency_ms"] or 0)
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
