"""The QGIS proxy settings as requests' proxies mapping."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from .scrub import register_basic_auth

# QGIS proxy types (QNetworkProxy names as QGIS stores them) and the URL scheme requests needs.
SCHEME_FOR_TYPE = {
    "HttpProxy": "http",
    "HttpCachingProxy": "http",
    "Socks5Proxy": "socks5h",
}
# DefaultProxy means "the system's proxy": requests reads it from the environment.
SYSTEM_TYPES = ("DefaultProxy", "")


@dataclass(frozen=True)
class ProxySettings:
    """A snapshot of QGIS ▸ Options ▸ Network ▸ Proxy."""

    enabled: bool = False
    proxy_type: str = "DefaultProxy"
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = field(default="", repr=False)
    excluded: tuple = ()

    def __post_init__(self):
        register_basic_auth(self.user, self.password)     # scrubbed from every message and log from now on

    def is_explicit(self):
        """True when QGIS names a proxy host that requests must use instead of the environment's."""
        return self.enabled and self.proxy_type in SCHEME_FOR_TYPE and bool(self.host)

    def proxy_url(self):
        """The proxy as a URL, with credentials percent-encoded."""
        scheme = SCHEME_FOR_TYPE[self.proxy_type]
        auth = ""
        if self.user:
            auth = quote(self.user, safe="")
            if self.password:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        port = f":{self.port}" if self.port else ""
        return f"{scheme}://{auth}{self.host}{port}"

    def is_excluded(self, url):
        """True when the URL starts with one of the excluded URLs (as QGIS matches them)."""
        for prefix in self.excluded:
            prefix = prefix.strip()
            if prefix and (url.startswith(prefix) or _host_matches(url, prefix)):
                return True
        return False

    def proxies_for(self, url):
        """requests' proxies mapping for one URL; empty means requests' own default."""
        if not self.is_explicit():
            return {}
        if self.is_excluded(url):
            # requests drops None values, so an explicit empty mapping for both schemes means "direct".
            return {"http": "", "https": ""}
        proxy = self.proxy_url()
        return {"http": proxy, "https": proxy}


def _host_matches(url, pattern):
    """Let a bare host name in the exclusion list match that host on any scheme or port."""
    if "://" in pattern:
        return False
    host = urlsplit(url).hostname or ""
    pattern = pattern.strip().lower().rstrip("/")
    return host == pattern or host.endswith("." + pattern.lstrip("."))
