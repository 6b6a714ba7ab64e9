"""Base URLs and tokens of the four services, with environment overrides."""

from __future__ import annotations

import ipaddress
import os
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ConfigurationError, service_title
from .scrub import register

SERVICES = ("mapalyze", "mapflow", "mapiry", "mapsemble")

# The base URL of each service as its documentation writes it; endpoint paths are appended to it.
DEFAULT_URLS = {
    "mapalyze": "https://api.mapalyze.io/v1",
    "mapflow": "https://api.mapflow.ai/rest",
    "mapiry": "https://mapiry.com/api/v1",
    "mapsemble": "https://app.mapsemble.com/api/v1",
}

SETTINGS_HINT = "Set it in Mapbridge ▸ Settings, or with the environment variable MAPBRIDGE_{}_TOKEN"


def url_env_var(service):
    """Name of the environment variable overriding a service's base URL."""
    return f"MAPBRIDGE_{service.upper()}_URL"


def token_env_var(service):
    """Name of the environment variable overriding a service's token."""
    return f"MAPBRIDGE_{service.upper()}_TOKEN"


@dataclass(frozen=True)
class ServiceConfig:
    """Where a service lives and the token to reach it."""

    service: str
    base_url: str
    token: str = ""

    def __post_init__(self):
        register(self.token)        # scrubbed from every message and log from now on

    def __repr__(self):
        # Never show the token, even in a debugger or a log line.
        hidden = "***" if self.token else ""
        return f"ServiceConfig(service={self.service!r}, base_url={self.base_url!r}, token={hidden!r})"

    def require_token(self):
        """Raise a clear error when no token is configured."""
        if not self.token:
            raise ConfigurationError(
                "no API token is configured",
                service=self.service,
                hint=SETTINGS_HINT.format(self.service.upper()),
            )
        return self


def resolve(service, stored_url="", stored_token="", environ=None):  # nosec B107 - "" means no token
    """Combine stored settings with MAPBRIDGE_<SERVICE>_URL/_TOKEN, which win when set."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    env = os.environ if environ is None else environ
    url = env.get(url_env_var(service)) or stored_url or DEFAULT_URLS[service]
    token = env.get(token_env_var(service)) or stored_token or ""
    return ServiceConfig(service, check_base_url(service, url), check_token(service, token.strip()))


# Characters a token pasted from a web page or a chat often carries along, named in the message.
PASTE_HINTS = {
    "\u2026": "an ellipsis (…): the token was probably shown shortened; copy the whole token",
    "\u200b": "a zero-width space: it was copied along with the token",
    "\ufeff": "a byte-order mark: it was copied along with the token",
    "\u00a0": "a non-breaking space",
}


def check_token(service, token):
    """The token when it is printable ASCII without spaces or line breaks; ConfigurationError saying what is wrong.

    A token goes into an HTTP header: anything else could not be sent (or would be sent mangled).
    """
    for position, char in enumerate(token or "", 1):
        if "!" <= char <= "~":
            continue
        if char in PASTE_HINTS:
            what = PASTE_HINTS[char]
        elif char in " \t":
            what = "a space"
        elif char in "\r\n":
            what = "a line break"
        else:
            what = f"the character U+{ord(char):04X} ({unicodedata.name(char, 'a control character').lower()})"
        raise ConfigurationError(
            f"the token contains {what} at position {position}; a token is printable ASCII without spaces",
            service=service, hint="Copy the token again from your account page and paste it in Mapbridge ▸ Settings")
    return token


def is_loopback_host(host):
    """True for localhost and 127.0.0.0/8 / ::1 addresses."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_as_requests_sees_it(url):
    """(scheme, host, has credentials) of a URL as requests will send it, or None when it cannot be parsed.

    requests parses with urllib3's parse_url (and prepares the URL before sending); Python's urlsplit disagrees on
    odd URLs (a backslash before "@"), so the check must use the same parser as the request.
    """
    from urllib3.util import parse_url
    from urllib3.exceptions import LocationParseError

    try:
        parsed = parse_url(url)
    except (LocationParseError, ValueError):
        return None
    host = (parsed.host or "").strip("[]").lower()
    return (parsed.scheme or "").lower(), host, bool(parsed.auth)


def check_base_url(service, url):
    """Normalise a base URL; plain http is refused except to loopback, odd URLs are refused outright."""
    url = (url or "").strip().rstrip("/")
    invalid = ConfigurationError(
        f"the base URL {url!r} is not a valid http(s) URL",
        service=service,
        hint="Fix it in Mapbridge ▸ Settings",
    )
    if any(char.isspace() or not char.isprintable() or char == "\\" for char in url):
        raise invalid
    seen = _host_as_requests_sees_it(url)
    parts = urlsplit(url)
    if seen is None or seen[0] not in ("http", "https") or not seen[1]:
        raise invalid
    scheme, host, has_credentials = seen
    if has_credentials or "%" in host or host != (parts.hostname or "").lower():
        # user:password@ in a base URL, an encoded host, or two parsers reading two different hosts.
        raise ConfigurationError(
            f"the base URL {url!r} names its host ambiguously (credentials, encoded characters or a host that "
            "parsers read differently)", service=service,
            hint="Give a plain https://host/path URL in Mapbridge ▸ Settings (tokens go in the Token field)")
    if scheme == "http" and not is_loopback_host(host):
        raise ConfigurationError(
            f"the base URL {url} uses plain http; only https is allowed except to this computer",
            service=service,
            hint="Use an https:// URL in Mapbridge ▸ Settings",
        )
    return url


def describe(service):
    """Display name of the service."""
    return service_title(service)
