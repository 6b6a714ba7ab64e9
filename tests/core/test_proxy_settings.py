"""QGIS proxy settings mapped onto requests, and actually used for traffic."""

from __future__ import annotations

import http.server
import threading

import pytest
from qgis.core import QgsSettings

from mapbridge.api.clients import make_client
from mapbridge.api.config import ServiceConfig
from mapbridge.api.proxy import ProxySettings
from mapbridge.core.proxy_settings import read_qgis_proxy


def set_proxy(**values):
    s = QgsSettings()
    for key, value in values.items():
        s.setValue(f"proxy/{key}", value)


def test_proxy_off_by_default():
    proxy = read_qgis_proxy()
    assert not proxy.enabled and proxy.proxies_for("https://mapiry.com/api/v1/maps") == {}


def test_http_proxy_with_credentials_and_exclusions():
    set_proxy(proxyEnabled=True, proxyType="HttpProxy", proxyHost="proxy.corp", proxyPort="3128",
              proxyUser="ann@corp", proxyPassword="p:ss/w", proxyExcludedUrls="https://api.mapalyze.io|intranet.local")
    proxy = read_qgis_proxy()
    expected = "http://ann%40corp:p%3Ass%2Fw@proxy.corp:3128"
    assert proxy.proxies_for("https://mapiry.com/api/v1/maps") == {"http": expected, "https": expected}
    assert proxy.proxies_for("https://api.mapalyze.io/v1/records") == {"http": "", "https": ""}
    assert proxy.proxies_for("https://gis.intranet.local/x") == {"http": "", "https": ""}
    assert "p:ss/w" not in repr(proxy)


def test_proxy_credentials_from_auth_database():
    from qgis.core import QgsApplication, QgsAuthMethodConfig

    config = QgsAuthMethodConfig("Basic")
    config.setName("corp proxy")
    config.setConfig("username", "kim")
    config.setConfig("password", "s3cret")
    result = QgsApplication.authManager().storeAuthenticationConfig(config)
    config = result[1] if isinstance(result, tuple) else config
    set_proxy(proxyEnabled=True, proxyType="HttpProxy", proxyHost="proxy.corp", proxyPort=8080, authcfg=config.id())
    try:
        assert read_qgis_proxy().proxies_for("https://mapiry.com")["https"] == "http://kim:s3cret@proxy.corp:8080"
    finally:
        QgsApplication.authManager().removeAuthenticationConfig(config.id())


def test_socks5_and_no_proxy_list():
    set_proxy(proxyEnabled=True, proxyType="Socks5Proxy", proxyHost="socks.corp", proxyPort=1080,
              noProxyUrls=["https://mapiry.com"])
    proxy = read_qgis_proxy()
    assert proxy.proxies_for("https://app.mapsemble.com/api/v1")["https"] == "socks5h://socks.corp:1080"
    assert proxy.proxies_for("https://mapiry.com/api/v1/maps") == {"http": "", "https": ""}


@pytest.mark.parametrize("ptype", ["DefaultProxy", "FtpCachingProxy"])
def test_system_proxy_types_leave_requests_default(ptype):
    set_proxy(proxyEnabled=True, proxyType=ptype, proxyHost="proxy.corp", proxyPort=3128)
    proxy = read_qgis_proxy()
    assert not proxy.is_explicit() and proxy.proxies_for("https://x.example") == {}


class _RecordingProxy(http.server.BaseHTTPRequestHandler):
    """A forward proxy that answers every request itself and records what it saw."""

    seen = []

    def do_GET(self):  # noqa: N802
        type(self).seen.append((self.path, self.headers.get("Proxy-Authorization")))
        body = b'{"data": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_requests_really_go_through_the_qgis_proxy(sandbox):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RecordingProxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _RecordingProxy.seen.clear()
        set_proxy(proxyEnabled=True, proxyType="HttpProxy", proxyHost="127.0.0.1",
                  proxyPort=server.server_address[1], proxyUser="u", proxyPassword="pw")
        config = ServiceConfig("mapsemble", sandbox.base_urls["mapsemble"], sandbox.tokens["mapsemble"])
        make_client(config, read_qgis_proxy()).ping()
        assert _RecordingProxy.seen and _RecordingProxy.seen[0][0].startswith(sandbox.base_urls["mapsemble"])
        assert _RecordingProxy.seen[0][1].startswith("Basic ")
        assert not sandbox.requests, "the request went to the proxy, not straight to the service"
        # Excluded URL: straight to the service.
        excluded = ProxySettings(True, "HttpProxy", "127.0.0.1", server.server_address[1],
                                 excluded=(f"http://127.0.0.1:{sandbox.port}",))
        make_client(config, excluded).ping()
        assert len(sandbox.requests) == 1 and len(_RecordingProxy.seen) == 1
    finally:
        server.shutdown()
