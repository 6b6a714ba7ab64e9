"""One requests session per service: auth, timeouts, urllib3 Retry, proxy and error parsing."""

from __future__ import annotations

import html
import json
import re
import ssl
import time
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.util import parse_url
from urllib3.util.retry import Retry

from . import cancel
from .config import ServiceConfig
from .errors import (
    CancelledError,
    OutcomeUnknownError,
    RateLimitedError,
    ServiceError,
    service_title,
)
from .proxy import ProxySettings
from .scrub import excerpt, scrub

USER_AGENT = "Mapbridge-QGIS-plugin"
DEFAULT_TIMEOUT = (10.0, 60.0)  # connect, read (seconds)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = (429, 502, 503, 504)
# Statuses that say the server did not act on the request, so even a POST may be sent again. Any 5xx on a
# request that creates something leaves its outcome unknown (a gateway may answer after the service acted).
REFUSED_STATUSES = (429,)
# 429 without Retry-After: capped exponential waits, and a cap on all such waiting in one job.
UNNAMED_WAIT_FIRST = 2.0
UNNAMED_WAIT_CAP = 60.0
UNNAMED_WAIT_TOTAL = 15 * 60.0


class RetryAfterTooLong(Exception):
    """Raised inside urllib3 when the server asks for a longer wait than we sleep unattended."""

    def __init__(self, seconds):
        super().__init__(seconds)
        self.seconds = seconds


class MapbridgeRetry(Retry):
    """urllib3 Retry that re-sends a POST only when the server refused it (429/503), and caps Retry-After."""

    max_unattended_wait = 10.0

    def new(self, **kw):
        retry = super().new(**kw)
        retry.max_unattended_wait = self.max_unattended_wait
        return retry

    def is_retry(self, method, status_code, has_retry_after=False):
        if status_code in REFUSED_STATUSES and self.total:
            return True
        return super().is_retry(method, status_code, has_retry_after)

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if cancel.cancelled_now():
            raise cancel.RequestCancelled()
        if error is not None and tls_handshake_failed(error):
            # An untrusted certificate does not get better by asking again.
            raise MaxRetryError(_pool, url, error)
        if error is not None and not self._is_method_retryable(method) and not never_sent(error):
            # The request may have reached the service: a create is never re-sent here (urllib3 1.26 would
            # re-send it after any error it wraps in ProxyError, e.g. a reset after the service acted).
            raise error.with_traceback(_stacktrace)
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def sleep_for_retry(self, response=None):
        retry_after = self.get_retry_after(response) if response is not None else None
        if retry_after is not None and retry_after > self.max_unattended_wait:
            raise RetryAfterTooLong(retry_after)
        if retry_after:
            cancel.sleep(retry_after)
            return True
        return False

    def _sleep_backoff(self):
        cancel.sleep(self.get_backoff_time())


def make_retry(total=4, backoff_factor=0.5, max_unattended_wait=10.0):
    """The retry policy shared by every service session."""
    retry = MapbridgeRetry(
        total=total,
        connect=total,
        read=total,
        status=total,
        backoff_factor=backoff_factor,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=IDEMPOTENT_METHODS,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )
    retry.max_unattended_wait = max_unattended_wait
    return retry


_WATCHED_POOLS = {}


def _watched_pool_class(cls):
    """A subclass of a urllib3 pool class whose connections join the requesting thread's cancel watch."""
    if issubclass(cls, cancel.WatchedPoolMixin):
        return cls
    if cls not in _WATCHED_POOLS:
        _WATCHED_POOLS[cls] = type("Watched" + cls.__name__, (cancel.WatchedPoolMixin, cls), {})
    return _WATCHED_POOLS[cls]


def _watch_pools(manager):
    classes = getattr(manager, "pool_classes_by_scheme", None)
    if isinstance(classes, dict):
        manager.pool_classes_by_scheme = {scheme: _watched_pool_class(cls) for scheme, cls in classes.items()}
    return manager


class WatchedAdapter(HTTPAdapter):
    """requests' adapter whose connections (direct or through a proxy) can be aborted by a cancel."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        _watch_pools(self.poolmanager)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        return _watch_pools(super().proxy_manager_for(proxy, **proxy_kwargs))


class ProxyAwareSession(requests.Session):
    """A requests session that takes its proxies from the QGIS proxy settings, per URL."""

    def __init__(self, proxy: ProxySettings | None):
        super().__init__()
        self.proxy_settings = proxy or ProxySettings()
        # With an explicit QGIS proxy the environment must not add or remove one behind its back.
        self.trust_env = not self.proxy_settings.is_explicit()
        self.verify = True

    def request(self, method, url, **kwargs):
        kwargs.setdefault("proxies", self.proxy_settings.proxies_for(url))
        return super().request(method, url, **kwargs)

    def rebuild_proxies(self, prepared_request, proxies):
        if self.proxy_settings.is_explicit():
            return self.proxy_settings.proxies_for(prepared_request.url)
        return super().rebuild_proxies(prepared_request, proxies)


def parse_error_body(response):
    """The server's (code, message) from any of the four documented error shapes; never raw HTML."""
    try:
        body = response.json()
    except ValueError:
        text = (response.text or "").strip()
        if is_html(response, text):
            return None, html_summary(text)
        return None, excerpt(text, 300) or None
    return error_fields(body)


def is_html(response, text):
    """True when an answer is a web page (a proxy's or gateway's error page, a login page) rather than an API's."""
    kind = (response.headers.get("Content-Type") or "").lower()
    head = text[:200].lstrip().lower()
    return "html" in kind or head.startswith(("<!doctype html", "<html", "<head", "<body", "<?xml"))


_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_HEADING = re.compile(r"<h1[^>]*>(.*?)</h1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def html_summary(text):
    """What an HTML page says in a few words (its title or first heading), for a message without markup."""
    for pattern in (_TITLE, _HEADING):
        match = pattern.search(text)
        if match:
            words = " ".join(html.unescape(_TAG.sub(" ", match.group(1))).split())
            if words:
                return f"an HTML page (\"{excerpt(words, 80)}\") instead of the service's answer"
    return "an HTML page instead of the service's answer"


def error_fields(body):
    """(code, message) from {code,message}, {error:{...}}, {detail:{...}|str} or {errors:[...]}."""
    if isinstance(body, list) and body:
        return error_fields(body[0])
    if not isinstance(body, dict):
        return None, (str(body)[:300] if body else None)
    for key in ("error", "detail", "errors"):
        inner = body.get(key)
        if isinstance(inner, (dict, list)) and inner:
            code, message = error_fields(inner)
            return code or _text(body.get("code")), message or _text(body.get("message"))
        if isinstance(inner, str) and inner:
            return _text(body.get("code")), inner
    code = _text(body.get("code") or body.get("error_code") or body.get("type"))
    message = _text(body.get("message") or body.get("msg") or body.get("title") or body.get("description"))
    if not message:
        details = body.get("details")
        if isinstance(details, list) and details:
            message = "; ".join(_text(d.get("message") if isinstance(d, dict) else d) or "" for d in details)
    return code, message


def _text(value):
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def hint_for_status(service_title, status):
    """What the user can do about an HTTP status."""
    if status == 407:
        return PROXY_AUTH_HINT
    if status == 401:
        return f"Check the {service_title} token in Mapbridge ▸ Settings"
    if status == 403:
        return f"Your {service_title} account or key is not allowed to do this; check its plan and scope"
    if status == 404:
        return "Check the id you entered and the base URL in Mapbridge ▸ Settings"
    if status == 429:
        return "The service's rate limit was reached; wait a little and try again"
    if status is not None and status >= 500:
        return f"{service_title} (or a gateway in between) has a problem; try again later"
    if status in (400, 409, 413, 422):
        return "Check the values you sent"
    return None


PROXY_AUTH_HINT = "Check the proxy user and password in QGIS ▸ Options ▸ Network"
TLS_HINT = ("Nothing was sent. Check the base URL in Mapbridge ▸ Settings; if your network inspects HTTPS traffic, "
            "its root certificate must be installed on this computer (or named by REQUESTS_CA_BUNDLE). Mapbridge "
            "never turns certificate checks off")


class ServiceClient:
    """HTTP access to one service: one session, its auth header, retries and error mapping.

    cancel_check: a callable (e.g. a QgsFeedback's isCanceled) that aborts a request in progress within a
    fraction of a second, even while the server stalls; the request then raises CancelledError.
    """

    service = ""
    auth_scheme = "Bearer"
    cancel_check = None

    def __init__(self, config: ServiceConfig, proxy: ProxySettings | None = None, *, timeout=DEFAULT_TIMEOUT,
                 retry=None, pool_size=8):
        if config.service != self.service and self.service:
            raise ValueError(f"{type(self).__name__} needs a {self.service} configuration")
        self.config = config
        self.timeout = timeout
        self.session = ProxyAwareSession(proxy)
        adapter = WatchedAdapter(max_retries=retry or make_retry(), pool_connections=pool_size,
                                 pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"

    @property
    def title(self):
        """Display name of the service."""
        from .errors import service_title

        return service_title(self.service)

    def url(self, path):
        """Absolute URL of an endpoint path (or an absolute URL given by the server)."""
        if path.startswith(("http://", "https://")):
            return path
        return self.config.base_url + "/" + path.lstrip("/")

    def auth_header(self, path):
        """Authorization header for a path; services with two schemes override this."""
        return f"{self.auth_scheme} {self.config.token}"

    def close(self):
        """Release pooled connections."""
        self.session.close()
        if getattr(self, "_ro_session", None) is not None:
            self._ro_session.close()

    def is_same_origin(self, url):
        """True when an absolute URL is on the service's own scheme, host and port (as requests will read it)."""
        mine, other = _origin(self.config.base_url), _origin(url)
        return mine is not None and mine == other

    def cancelled(self):
        """True when the job this client works for was cancelled."""
        return bool(self.cancel_check is not None and self.cancel_check())

    def watch(self):
        """Context in which requests (and streamed bodies read inside it) are aborted by a cancel."""
        return cancel.watching(self.cancel_check)

    def request(self, method, path, *, params=None, json_body=None, data=None, files=None, headers=None,
                stream=False, timeout=None, ok=(200, 201, 202, 204), idempotent=None):
        """Send a request; return the response or raise ServiceError with the server's own message.

        idempotent=True marks a POST that only reads (a search, a price): it may be retried like a GET.
        """
        self.config.require_token()
        method = method.upper()
        all_headers = {}
        if not path.startswith(("http://", "https://")) or self.is_same_origin(path):
            # The token only ever goes to the service's own host, never to a URL another host handed us.
            all_headers["Authorization"] = self.auth_header(path)
        if headers:
            all_headers.update(headers)
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        if self.cancelled():
            raise CancelledError(service=self.service)
        try:
            with self.watch() as watch:
                try:
                    response = self._send(method, path, idempotent, params=params, json=json_body, data=data,
                                          files=files, headers=all_headers, stream=stream,
                                          timeout=timeout or self.timeout)
                except (cancel.RequestCancelled, requests.exceptions.RequestException):
                    if watch is not None and watch.check():
                        raise CancelledError(service=self.service) from None
                    raise
        except cancel.RequestCancelled:
            raise CancelledError(service=self.service) from None
        except RetryAfterTooLong as exc:
            raise RateLimitedError(
                f"rate limit reached; the service asks to wait {exc.seconds:.0f} s",
                service=self.service, status=429, retry_after=exc.seconds,
                hint="Mapbridge waits and goes on by itself when it can; you may cancel",
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise self._connection_error(method, path, exc, idempotent) from None
        except requests.exceptions.RequestException as exc:
            raise self._request_error(method, path, exc, idempotent) from None
        if response.status_code not in ok:
            error = self._status_error(response, path)
            if response.status_code >= 500 and not idempotent:
                raise self._outcome_unknown(error, method, path) from None
            raise error
        return response

    def _request_error(self, method, path, exc, idempotent):
        """The error for a failure that is not a connection error: a bad URL (nothing sent) or a broken answer."""
        if isinstance(exc, NOT_SENT_ERRORS):
            return ServiceError(f"the request to {path} could not be sent ({type(exc).__name__})",
                                service=self.service, hint="Check the base URL in Mapbridge ▸ Settings",
                                details=self._scrub(str(exc)))
        if not idempotent:
            return OutcomeUnknownError(
                f"the answer to {method} {path} broke off ({type(exc).__name__}); it may or may not have been "
                "carried out", service=self.service, details=self._scrub(str(exc)),
                hint="Check on the service before sending it again")
        return ServiceError(f"the answer from {path} was cut off ({type(exc).__name__})", service=self.service,
                            details=self._scrub(str(exc)), hint="Check your network and try again")

    def _outcome_unknown(self, error, method, path):
        """A 5xx to a request that creates something: the service may have acted before the gateway gave up."""
        return OutcomeUnknownError(
            f"{method} {path} was answered with HTTP {error.status}"
            + (f" ({error.server_message})" if error.server_message else "")
            + "; it may or may not have been carried out",
            service=self.service, status=error.status, code=error.code, server_message=error.server_message,
            details=error.details, hint="Check on the service before sending it again")

    def _send(self, method, path, idempotent, **kwargs):
        """One request through the session; a read-only POST gets the GET retry policy."""
        if idempotent and method not in IDEMPOTENT_METHODS:
            return self._read_only_session().request(method, self.url(path), **kwargs)
        return self.session.request(method, self.url(path), **kwargs)

    def _read_only_session(self):
        """A second session on the same settings whose retry policy treats POST as safe to re-send."""
        if getattr(self, "_ro_session", None) is None:
            self._ro_session = ProxyAwareSession(self.session.proxy_settings)
            retry = self.session.get_adapter("https://").max_retries.new(
                allowed_methods=IDEMPOTENT_METHODS | {"POST"})
            adapter = WatchedAdapter(max_retries=retry)
            self._ro_session.mount("http://", adapter)
            self._ro_session.mount("https://", adapter)
            self._ro_session.headers.update(self.session.headers)
        return self._ro_session

    def read_all(self, method, path, on_response=None, **kwargs):
        """The whole body of a streamed request, read in one go; cancel aborts the reading too.

        `on_response` sees the response (its headers) before the body is read."""
        with self.watch() as watch:
            response = self.request(method, path, stream=True, **kwargs)
            try:
                if on_response is not None:
                    on_response(response)
                return response.raw.read(decode_content=True)
            except Exception as exc:  # noqa: BLE001 - urllib3's and the socket's errors alike
                if self.cancelled() or (watch is not None and watch.check()):
                    raise CancelledError(service=self.service) from None
                raise ServiceError(f"the answer from {path} was cut off ({type(exc).__name__})",
                                   service=self.service, details=self._scrub(str(exc)),
                                   hint="Check your network and try again") from None
            finally:
                response.close()

    def get_json(self, path, **kwargs):
        """GET an endpoint and return its parsed JSON body."""
        return self.json_of(self.request("GET", path, **kwargs), path)

    def send_json(self, method, path, body, **kwargs):
        """Send a JSON body and return the parsed JSON answer (None when empty)."""
        return self.json_of(self.request(method, path, json_body=body, **kwargs), path,
                            idempotent=kwargs.get("idempotent"))

    def json_of(self, response, path, idempotent=None):
        """Parse a JSON body, with a clear error when the service sent something else.

        An unreadable success to a request that creates something (idempotent=False; by default any method
        outside IDEMPOTENT_METHODS) is an OutcomeUnknownError: the service acted, its answer is lost."""
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            page = is_html(response, response.text or "")
            what = "a web page, not the service's JSON" if page else "not valid JSON"
            method = (response.request.method or "").upper() if response.request is not None else ""
            if idempotent is None:
                idempotent = method in IDEMPOTENT_METHODS
            if not idempotent and 200 <= response.status_code < 300:
                raise OutcomeUnknownError(
                    f"{method} {path} was answered with HTTP {response.status_code} but the answer is {what}; it "
                    "may or may not have been carried out", service=self.service, status=response.status_code,
                    details=excerpt(response.text, 500),
                    hint="Check on the service before sending it again, and the base URL in Mapbridge ▸ Settings",
                ) from None
            raise ServiceError(
                f"the answer from {path} is {what}",
                service=self.service, status=response.status_code,
                hint="Check the base URL in Mapbridge ▸ Settings",
                details=excerpt(response.text, 500),
            ) from None

    def _status_error(self, response, path):
        code, message = parse_error_body(response)
        status = response.status_code
        retry_after = _retry_after_seconds(response)
        if status == 407:
            return ServiceError(
                f"the proxy between Mapbridge and {self.title} asks for a user name and password "
                "(HTTP 407 Proxy Authentication Required)", service=self.service, status=status,
                hint=PROXY_AUTH_HINT, details=excerpt(response.text, 2000))
        text = f"{response.request.method} {path} failed with HTTP {status}"
        if code:
            text += f" {code}"
        if message:
            text += f": {message}"
        cls = RateLimitedError if status == 429 else ServiceError
        return cls(
            text, service=self.service, status=status, code=code,
            server_message=message or None,
            hint=hint_for_status(self.title, status), retry_after=retry_after,
            details=excerpt(response.text, 2000) if response.text else None,
        )

    def _connection_error(self, method, path, exc, idempotent=None):
        special = self._tls_or_proxy_error(exc)
        if special is not None:
            return special
        sent = not never_sent(exc)
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        if sent and not idempotent:
            return OutcomeUnknownError(
                f"no answer to {method} {path}; it may or may not have been carried out",
                service=self.service, details=self._scrub(str(exc)),
                hint="Check on the service before sending it again",
            )
        timed_out = isinstance(exc, requests.exceptions.Timeout) or "timed out" in repr(exc).lower()
        kind = "timed out" if timed_out else "could not be reached"
        return ServiceError(
            f"the service {kind} at {self.config.base_url}",
            service=self.service, details=self._scrub(str(exc)),
            hint="Check your network, the proxy in QGIS ▸ Options ▸ Network and the base URL in Mapbridge ▸ Settings",
        )

    def _tls_or_proxy_error(self, exc):
        """The clear error for an untrusted certificate or a proxy asking for credentials, else None."""
        text = repr(exc)
        host = _origin(self.config.base_url)
        host = host[1] if host else self.config.base_url
        if certificate_refused(exc):
            reason = _TLS_REASON.search(text)
            why = f" ({reason.group(1).strip()})" if reason else ""
            return ServiceError(
                f"the TLS certificate of {host} is not trusted{why}; the connection was refused",
                service=self.service, details=self._scrub(str(exc)), hint=TLS_HINT)
        if tls_handshake_failed(exc):
            return ServiceError(
                f"the secure (TLS) connection to {host} could not be set up; nothing was sent",
                service=self.service, details=self._scrub(str(exc)),
                hint="Check the base URL in Mapbridge ▸ Settings (https:// for an HTTPS service) and the proxy in "
                     "QGIS ▸ Options ▸ Network")
        if isinstance(exc, requests.exceptions.ProxyError) and _PROXY_AUTH.search(text):
            return ServiceError(
                f"the proxy between Mapbridge and {self.title} asks for a user name and password "
                "(HTTP 407 Proxy Authentication Required)", service=self.service, status=407,
                details=self._scrub(str(exc)), hint=PROXY_AUTH_HINT)
        return None

    def _scrub(self, text):
        """Remove every known secret (token, proxy credentials, in any escaped form) from a text."""
        return scrub(text)


_TLS_REASON = re.compile(r"certificate verify failed: ([^(')\]\\]+)", re.IGNORECASE)
_PROXY_AUTH = re.compile(r"\b407\b")
# Raised by requests before anything is sent: a bad URL or header, a body that cannot be encoded.
NOT_SENT_ERRORS = tuple(getattr(requests.exceptions, name) for name in (
    "InvalidURL", "MissingSchema", "InvalidSchema", "InvalidHeader", "URLRequired", "InvalidJSONError")
    if hasattr(requests.exceptions, name))
# TLS failures of the handshake (before the request is sent), as OpenSSL names them.
_HANDSHAKE_WORDS = ("certificate verify failed", "wrong_version_number", "handshake", "unsupported_protocol",
                    "no_protocols_available", "unknown_protocol", "alert_protocol_version", "alert_unknown_ca")


def _origin(url):
    """(scheme, host, port) of a URL as requests reads it, or None when two parsers disagree on the host."""
    try:
        parsed = parse_url(url)
    except ValueError:
        return None
    host = (parsed.host or "").strip("[]").lower()
    if not host or host != (urlsplit(url).hostname or "").lower():
        return None
    scheme = (parsed.scheme or "").lower()
    return scheme, host, parsed.port or {"http": 80, "https": 443}.get(scheme)


def causes(exc, limit=32):
    """The error and the errors it wraps (requests' → urllib3's MaxRetryError.reason → ProxyError.original_error
    → the socket's or ssl's), outermost first."""
    found, todo = [], [exc]
    while todo and len(found) < limit:
        current = todo.pop(0)
        if not isinstance(current, BaseException) or any(current is seen for seen in found):
            continue
        found.append(current)
        todo.extend(getattr(current, name, None) for name in ("reason", "original_error", "__cause__"))
        todo.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
    return found


def certificate_refused(exc):
    """True when the TLS handshake failed because the server's certificate is not trusted."""
    return any(isinstance(e, ssl.SSLCertVerificationError) or "certificate verify failed" in str(e).lower()
               for e in causes(exc))


def tls_handshake_failed(exc):
    """True when a TLS error happened while setting up the connection (nothing was sent), not mid-answer."""
    return certificate_refused(exc) or any(
        isinstance(e, ssl.SSLError) and any(word in str(e).lower() for word in _HANDSHAKE_WORDS)
        for e in causes(exc))


def never_sent(exc):
    """True when a request failed before it left (no connection, connect timeout, TLS handshake, proxy tunnel
    refused): safe to send again. Looks at the wrapped original errors, never at class names in a text."""
    for error in causes(exc):
        if isinstance(error, (ConnectTimeoutError, NewConnectionError, requests.exceptions.ConnectTimeout)):
            return True
        # http.client's CONNECT to a proxy refused (the request itself never left).
        if isinstance(error, OSError) and str(error).startswith("Tunnel connection failed"):
            return True
    return tls_handshake_failed(exc)


class WireCount:
    """How much of a streamed body came over the wire, against its Content-Length.

    Content-Length counts the bytes on the wire: compressed ones when Content-Encoding is set (requests asks for
    gzip, and any proxy or CDN may use it), while iter_content yields the decoded bytes. add() the decoded chunks;
    received() and cut_short() speak in wire bytes."""

    def __init__(self, response):
        self.response = response
        self.total = int(response.headers.get("Content-Length") or 0) or None
        self.encoded = (response.headers.get("Content-Encoding") or "").strip().lower() not in ("", "identity")
        self.decoded = 0

    def add(self, size):
        """Count a decoded chunk."""
        self.decoded += size

    def received(self):
        """Bytes read from the connection so far (call before the response is closed)."""
        if not self.encoded:
            return self.decoded
        try:
            return int(self.response.raw.tell())
        except (AttributeError, TypeError, ValueError, OSError):
            return 0

    def cut_short(self, received=None):
        """True when the body ended before its Content-Length."""
        received = self.received() if received is None else received
        return self.total is not None and received != self.total


def paging_ignored(service, what):
    """The error for a listing whose next page repeats a full one: the server ignores paging, so the listing is
    incomplete (never taken as the whole: lost-answer checks and syncs rely on it)."""
    return ServiceError(f"the service answered the same page of {what} again for the next page: it ignores paging; "
                        "the listing is incomplete", service=service,
                        hint="Check the base URL in Mapbridge ▸ Settings; nothing was decided on the part read")


class PageRepeats:
    """A listing's guard against a server that ignores paging: the first id of every page read so far."""

    def __init__(self, service, what):
        self.service = service
        self.what = what
        self.firsts = set()

    def repeated(self, first, full):
        """True when this page starts like one read already (the listing ends there); a repeated full page raises
        paging_ignored instead, since what follows it was never seen. A page without a first id is never a repeat."""
        if first is not None and first in self.firsts:
            if full:
                raise paging_ignored(self.service, self.what)
            return True
        self.firsts.add(first)
        return False


def _retry_after_seconds(response):
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        retry = Retry()
        try:
            return retry.parse_retry_after(value)
        except Exception:  # noqa: BLE001 - an unparsable header is simply ignored
            return None


class RateLimitWaits:
    """How long to wait after each 429 of one job: the wait the service names (Retry-After), else a capped
    exponential back-off; all waiting is capped (named waits by max_total, unnamed ones by unnamed_total)."""

    def __init__(self, max_total=24 * 3600.0, unnamed_total=UNNAMED_WAIT_TOTAL, first=UNNAMED_WAIT_FIRST,
                 cap=UNNAMED_WAIT_CAP):
        self.max_total = max_total
        self.unnamed_total = unnamed_total
        self.first = first
        self.cap = cap
        self.waited = 0.0
        self.unnamed_waited = 0.0
        self.unnamed = 0

    def next(self, exc):
        """(seconds, named) to wait before trying again; re-raises exc (saying so) when the cap is reached."""
        named = exc.retry_after is not None
        if named:
            seconds = float(exc.retry_after)
        else:
            seconds = min(self.cap, self.first * 2 ** self.unnamed)
            self.unnamed += 1
        if self.waited + seconds > self.max_total or (not named and self.unnamed_waited + seconds
                                                      > self.unnamed_total):
            exc.message = (f"{exc.message} (still refused after waiting {self.waited:.0f} s in all; "
                           "Mapbridge stopped waiting)")
            exc.hint = "The service's rate limit is used up; try again later"
            raise exc
        self.waited += seconds
        if not named:
            self.unnamed_waited += seconds
        return seconds, named


def describe_rate_wait(service, seconds, named):
    """The log line for a wait after a 429; never claims the service named a wait it did not name."""
    title = service_title(service)
    if named:
        return f"{title} asks to wait {seconds:.0f} s (rate limit); waiting…"
    return f"{title} answered HTTP 429 (rate limit) without saying how long to wait; waiting {seconds:.0f} s…"


def wait_for_rate_limit(call, *, cancelled=lambda: False, on_wait=lambda seconds, named: None, max_total_wait=24 * 3600,
                        clock=time.monotonic, sleep=time.sleep, waits=None):
    """Run call(); when it raises RateLimitedError, wait (cancellably) as RateLimitWaits says and run it again.

    on_wait(seconds, named) is told each wait before it starts (named: the service said how long).
    """
    waits = waits or RateLimitWaits(max_total=max_total_wait)
    while True:
        try:
            return call()
        except RateLimitedError as exc:
            seconds, named = waits.next(exc)
            on_wait(seconds, named)
            deadline = clock() + seconds
            while clock() < deadline:
                if cancelled():
                    raise CancelledError() from None
                sleep(min(0.2, max(0.0, deadline - clock())))
