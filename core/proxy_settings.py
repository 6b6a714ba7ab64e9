"""Read QGIS ▸ Options ▸ Network ▸ Proxy into a ProxySettings snapshot."""

from __future__ import annotations

from qgis.core import QgsSettings

from ..api.proxy import ProxySettings


def _as_list(value):
    if not value:
        return ()
    if isinstance(value, str):
        return tuple(v for v in value.split("|") if v.strip())
    return tuple(str(v) for v in value if str(v).strip())


def read_qgis_proxy(settings=None):
    """The proxy QGIS itself uses, as requests needs it (call on the main thread)."""
    s = settings or QgsSettings()
    enabled = s.value("proxy/proxyEnabled", False, type=bool)
    try:
        port = int(s.value("proxy/proxyPort", 0) or 0)
    except (TypeError, ValueError):
        port = 0
    excluded = _as_list(s.value("proxy/proxyExcludedUrls", "")) + _as_list(s.value("proxy/noProxyUrls", ""))
    return ProxySettings(
        enabled=enabled,
        proxy_type=s.value("proxy/proxyType", "DefaultProxy", type=str) or "DefaultProxy",
        host=s.value("proxy/proxyHost", "", type=str) or "",
        port=port,
        user=s.value("proxy/proxyUser", "", type=str) or "",
        password=s.value("proxy/proxyPassword", "", type=str) or "",
        excluded=excluded,
    )
