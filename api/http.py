"""One requests session per service: auth, timeouts, urllib3 Retry, proxy and error parsing."""

from __future__ import annotations

import json
import time
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .config import ServiceConfig
from .errors import (
    CancelledError,
    OutcomeUnknownError,
    RateLimitedError,
    ServiceError,
)
from .proxy import ProxySettings

USER_AGENT = "Mapbridge-QGIS-plugin"
DEFAULT_TIMEOUT = (10.0, 60.0)  # connect, read (seconds)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = (429, 502, 503, 504)
# Statuses that say the server did not act on the request, so even a POST may be sent again.
REFUSED_STATUSES = (429, 503)


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

    def sleep_for_retry(self, response=None):
        retry_after = self.get_retry_after(response) if response is not None else None
        if retry_after is not None and retry_after > self.max_unattended_wait:
            raise RetryAfterTooLong(retry_after)
        return super().sleep_for_retry(response)


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
    """The server's (code, message) from any of the four documented error shapes."""
    try:
        body = response.json()
    except ValueError:
        text = (response.text or "").strip()
        return None, text[:300] or None
    return error_fields(body)


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
    if status == 401:
        return f"Check the {service_title} token in Mapbridge ▸ Settings"
    if status == 403:
        return f"Your {service_title} account or key is not allowed to do this; check its plan and scope"
    if status == 404:
        return "Check the id you entered and the base URL in Mapbridge ▸ Settings"
    if status == 429:
        return "The service's rate limit was reached; wait a little and try again"
    if status is not None and status >= 500:
        return f"{service_title} has a problem on its side; try again later"
    if status in (400, 409, 413, 422):
        return "Check the values you sent"
    return None


class ServiceClient:
    """HTTP access to one service: one session, its auth header, retries and error mapping."""

    service = ""
    auth_scheme = "Bearer"

    def __init__(self, config: ServiceConfig, proxy: ProxySettings | None = None, *, timeout=DEFAULT_TIMEOUT,
                 retry=None, pool_size=8):
        if config.service != self.service and self.service:
            raise ValueError(f"{type(self).__name__} needs a {self.service} configuration")
        self.config = config
        self.timeout = timeout
        self.session = ProxyAwareSession(proxy)
        adapter = HTTPAdapter(max_retries=retry or make_retry(), pool_connections=pool_size, pool_maxsize=pool_size)
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
        """True when an absolute URL is on the service's own scheme, host and port."""
        mine, other = urlsplit(self.config.base_url), urlsplit(url)
        return (mine.scheme, mine.netloc.lower()) == (other.scheme, other.netloc.lower())

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
        try:
            response = self._send(method, path, idempotent, params=params, json=json_body, data=data, files=files,
                                  headers=all_headers, stream=stream, timeout=timeout or self.timeout)
        except RetryAfterTooLong as exc:
            raise RateLimitedError(
                f"rate limit reached; the service asks to wait {exc.seconds:.0f} s",
                service=self.service, status=429, retry_after=exc.seconds,
                hint="Mapbridge waits and goes on by itself when it can; you may cancel",
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise self._connection_error(method, path, exc, idempotent) from None
        except requests.exceptions.RequestException as exc:
            raise ServiceError(
                f"the request to {path} failed ({type(exc).__name__})",
                service=self.service, hint="Check the base URL in Mapbridge ▸ Settings",
                details=self._scrub(str(exc)),
            ) from None
        if response.status_code not in ok:
            raise self._status_error(response, path)
        return response

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
            adapter = HTTPAdapter(max_retries=retry)
            self._ro_session.mount("http://", adapter)
            self._ro_session.mount("https://", adapter)
            self._ro_session.headers.update(self.session.headers)
        return self._ro_session

    def get_json(self, path, **kwargs):
        """GET an endpoint and return its parsed JSON body."""
        return self.json_of(self.request("GET", path, **kwargs), path)

    def send_json(self, method, path, body, **kwargs):
        """Send a JSON body and return the parsed JSON answer (None when empty)."""
        return self.json_of(self.request(method, path, json_body=body, **kwargs), path)

    def json_of(self, response, path):
        """Parse a JSON body, with a clear error when the service sent something else."""
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ServiceError(
                f"the answer from {path} is not valid JSON",
                service=self.service, status=response.status_code,
                hint="Check the base URL in Mapbridge ▸ Settings",
                details=self._scrub(response.text[:500]),
            ) from None

    def _status_error(self, response, path):
        code, message = parse_error_body(response)
        status = response.status_code
        retry_after = _retry_after_seconds(response)
        text = f"{response.request.method} {path} failed with HTTP {status}"
        if code:
            text += f" {code}"
        if message:
            text += f": {self._scrub(message)}"
        cls = RateLimitedError if status == 429 else ServiceError
        return cls(
            text, service=self.service, status=status, code=code,
            server_message=self._scrub(message) if message else None,
            hint=hint_for_status(self.title, status), retry_after=retry_after,
            details=self._scrub(response.text[:2000]) if response.text else None,
        )

    def _connection_error(self, method, path, exc, idempotent=None):
        sent = not _never_sent(exc)
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

    def _scrub(self, text):
        """Remove the token and proxy credentials from any text that may reach a message or a log."""
        if not text:
            return text
        proxy = self.session.proxy_settings
        for secret in (self.config.token, proxy.password, quote(proxy.password, safe="") if proxy.password else ""):
            if secret:
                text = text.replace(secret, "***")
        return text


def _never_sent(exc):
    """True when a connection error happened before the request left (safe to send again)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    text = repr(exc)
    return any(s in text for s in ("NewConnectionError", "ConnectTimeoutError", "Failed to establish", "ProxyError"))


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


def wait_for_rate_limit(call, *, cancelled=lambda: False, on_wait=lambda seconds: None, max_total_wait=24 * 3600,
                        clock=time.monotonic, sleep=time.sleep):
    """Run call(); when it raises RateLimitedError, wait as the server asks (cancellably) and run it again."""
    waited = 0.0
    while True:
        try:
            return call()
        except RateLimitedError as exc:
            seconds = exc.retry_after if exc.retry_after is not None else 60.0
            if waited + seconds > max_total_wait:
                raise
            on_wait(seconds)
            deadline = clock() + seconds
            while clock() < deadline:
                if cancelled():
                    raise CancelledError() from None
                sleep(min(0.2, max(0.0, deadline - clock())))
            waited += seconds
