"""Read QGIS ▸ Options ▸ Network ▸ Proxy into a ProxySettings snapshot."""

from __future__ import annotations

from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsSettings

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
    user = s.value("proxy/proxyUser", "", type=str) or ""
    password = s.value("proxy/proxyPassword", "", type=str) or ""
    authcfg = s.value("proxy/authcfg", "", type=str) or ""
    if authcfg:
        user, password = _credentials_from_auth_db(authcfg, user, password)
    excluded = _as_list(s.value("proxy/proxyExcludedUrls", "")) + _as_list(s.value("proxy/noProxyUrls", ""))
    return ProxySettings(
        enabled=enabled,
        proxy_type=s.value("proxy/proxyType", "DefaultProxy", type=str) or "DefaultProxy",
        host=s.value("proxy/proxyHost", "", type=str) or "",
        port=port,
        user=user,
        password=password,
        excluded=excluded,
    )


def _credentials_from_auth_db(authcfg, user, password):
    """Proxy user and password kept in an auth-DB Basic config (QGIS ▸ Options ▸ Network ▸ Proxy ▸ Authentication)."""
    config = QgsAuthMethodConfig()
    result = QgsApplication.authManager().loadAuthenticationConfig(authcfg, config, True)
    if isinstance(result, tuple):
        ok, config = result[0], result[1] if len(result) > 1 else config
    else:
        ok = result
    if not ok:
        return user, password
    return config.config("username", user) or user, config.config("password", password) or password
