"""Request, response and route-table plumbing shared by the four service emulators."""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timezone

JSON_TYPE = "application/json"

# Generic error codes per HTTP status; a service may restyle them (see Service.default_code).
STATUS_CODES = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "unprocessable_entity",
    429: "rate_limit_exceeded",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


class ApiError(Exception):
    """An error answer; the service renders it in its own error shape."""

    def __init__(self, status, message, code=None, *, details=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.details = details
        self.headers = dict(headers or {})


def dumps(obj):
    """Compact UTF-8 JSON bytes."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Request:
    """One HTTP request as a service sees it (path relative to the service base)."""

    def __init__(self, service, method, path, query, headers, body, base_url):
        self.service = service
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.base_url = base_url
        self.extra = {}
        self.json = None
        self.json_error = None
        if body and not headers.get("content-type", "").lower().startswith("multipart/"):
            try:
                self.json = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                self.json_error = str(exc)
        auth = headers.get("authorization", "").strip()
        scheme, _, cred = auth.partition(" ")
        self.auth_present = bool(auth)
        self.auth_scheme = scheme.lower() if cred else ""
        self.auth_token = cred.strip() if cred else ""

    def arg(self, name, default=None):
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def int_arg(self, name, default, minimum=None, maximum=None):
        """Integer query parameter, 400 when malformed or out of range."""
        raw = self.arg(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, f"'{name}' must be an integer, got {raw!r}") from None
        if minimum is not None and value < minimum:
            raise ApiError(400, f"'{name}' must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise ApiError(400, f"'{name}' must be <= {maximum}, got {value}")
        return value

    def json_body(self, kind=dict):
        """The parsed JSON body, 400 when missing, malformed or not of the expected kind."""
        if self.json_error is not None:
            raise ApiError(400, f"Request body is not valid JSON: {self.json_error}")
        if self.json is None:
            raise ApiError(400, "A JSON request body is required")
        if kind is not None and not isinstance(self.json, kind):
            raise ApiError(400, f"The JSON body must be an {'object' if kind is dict else 'array'}")
        return self.json


class Response:
    """A handler's answer: a JSON object, raw bytes, or a file on disk streamed with Content-Length."""

    def __init__(self, status=200, data=None, *, raw=None, content_type=JSON_TYPE, headers=None, file=None):
        self.status = status
        self.data = data
        self.raw = raw
        self.content_type = content_type
        self.headers = dict(headers or {})
        self.file = file

    def body_bytes(self):
        """The body as bytes (not for file responses)."""
        if self.raw is not None:
            return self.raw.encode("utf-8") if isinstance(self.raw, str) else self.raw
        if self.data is None and self.status == 204:
            return b""
        return dumps(self.data)


def is_number(value):
    """True for int/float that is not a bool and is finite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value \
        and value not in (float("inf"), float("-inf"))


def parse_time(value):
    """Parse an ISO 8601 string to an aware UTC datetime (naive means UTC); None if invalid."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def iso(dt_or_ts, ms=False):
    """UTC ISO 8601 with Z from a datetime or an epoch timestamp."""
    dt = dt_or_ts if isinstance(dt_or_ts, datetime) else datetime.fromtimestamp(dt_or_ts, timezone.utc)
    dt = dt.astimezone(timezone.utc)
    if ms:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class Service:
    """Base of a service emulator: state lock, auth check, route table and error rendering."""

    name = ""
    # (method, regex on the relative path, handler method name[, locked]) — set by subclasses.
    ROUTES = ()
    uppercase_codes = False

    def __init__(self, token):
        self.token = token
        self.lock = threading.RLock()
        self._routes = []
        for entry in self.ROUTES:
            method, pattern, handler = entry[:3]
            locked = entry[3] if len(entry) > 3 else True
            self._routes.append((method, re.compile(pattern + r"\Z"), getattr(self, handler), locked))

    # -- overridable hooks -------------------------------------------------------------
    def authenticate(self, req):
        """Bearer token check; raise ApiError(401) when missing or wrong."""
        if not req.auth_present:
            raise ApiError(401, "Missing Authorization header")
        if req.auth_scheme != "bearer" or req.auth_token != self.token:
            raise ApiError(401, "Invalid API token")

    def before(self, req):
        """Called after auth and routing, before the handler (rate limits)."""

    def response_headers(self, req):
        """Headers added to every response of this service."""
        return {}

    def change_records(self, kind, position):
        """A "delete"/"insert" fault: change the service's records between two requests (services with records)."""
        raise ValueError(f"the {self.name} sandbox has no records to {kind}")

    def default_code(self, status):
        """Error code used when an ApiError carries none."""
        code = STATUS_CODES.get(status, "error")
        return code.upper() if self.uppercase_codes else code

    def error_body(self, req, status, code, message, details):
        """The service's error JSON."""
        body = {"code": code, "message": message}
        if details is not None:
            body["details"] = details
        return body

    # -- core --------------------------------------------------------------------------
    def error_response(self, req, err):
        """Render an ApiError as a Response in this service's shape."""
        code = err.code or self.default_code(err.status)
        resp = Response(err.status, self.error_body(req, err.status, code, err.message, err.details),
                        headers=err.headers)
        resp.headers.update(self.response_headers(req))
        return resp

    def resolve(self, req):
        """Find (handler, groups, locked) for the request; 404/405 otherwise."""
        allowed = []
        for method, regex, handler, locked in self._routes:
            match = regex.match(req.path)
            if match:
                if method == req.method:
                    return handler, match.groups(), locked
                allowed.append(method)
        if allowed:
            raise ApiError(405, f"Method {req.method} not allowed on {req.path}",
                           headers={"Allow": ", ".join(sorted(set(allowed)))})
        raise ApiError(404, f"No such endpoint: {req.method} {req.path}")

    def handle(self, req):
        """Authenticate, route, run the handler; always returns a Response."""
        try:
            self.authenticate(req)
            handler, groups, locked = self.resolve(req)
            self.before(req)
            if locked:
                with self.lock:
                    result = handler(req, *groups)
            else:
                result = handler(req, *groups)
            resp = result if isinstance(result, Response) else Response(200, result)
        except ApiError as err:
            return self.error_response(req, err)
        resp.headers.update(self.response_headers(req))
        return resp
