"""Base URLs and tokens of the four services, with environment overrides."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ConfigurationError, service_title

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
    return ServiceConfig(service, check_base_url(service, url), token.strip())


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


def check_base_url(service, url):
    """Normalise a base URL; plain http is refused except to loopback."""
    url = (url or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"the base URL {url!r} is not a valid http(s) URL",
            service=service,
            hint="Fix it in Mapbridge ▸ Settings",
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigurationError(
            f"the base URL {url} uses plain http; only https is allowed except to this computer",
            service=service,
            hint="Use an https:// URL in Mapbridge ▸ Settings",
        )
    return url


def describe(service):
    """Display name of the service."""
    return service_title(service)
