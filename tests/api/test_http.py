"""HTTP core against the sandbox: auth, error shapes, retries, timeouts, secrecy."""

from __future__ import annotations

import time

import pytest

from mapbridge.api.clients import make_client
from mapbridge.api.config import ServiceConfig
from mapbridge.api.errors import ConfigurationError, OutcomeUnknownError, RateLimitedError, ServiceError
from mapbridge.api.http import make_retry, wait_for_rate_limit


def client(sandbox, service, token=None, **kwargs):
    config = ServiceConfig(service, sandbox.base_urls[service], sandbox.tokens[service] if token is None else token)
    return make_client(config, **kwargs)


@pytest.mark.parametrize("service", ["mapalyze", "mapflow", "mapiry", "mapsemble"])
def test_each_service_answers_with_its_token(sandbox, service):
    assert client(sandbox, service).ping()
    seen = [r for r in sandbox.requests if r.service == service]
    assert seen, "the sandbox saw no request"
    assert seen[-1].headers["authorization"].endswith(sandbox.tokens[service])
    assert seen[-1].headers["user-agent"].startswith("Mapbridge")


@pytest.mark.parametrize(
    "service,code",
    [("mapalyze", None), ("mapflow", None), ("mapiry", "INVALID_API_KEY"), ("mapsemble", None)],
)
def test_bad_token_gives_service_status_and_hint_but_never_the_token(sandbox, service, code):
    bad = "secret-WRONG-token-123"
    with pytest.raises(ServiceError) as info:
        client(sandbox, service, token=bad).ping()
    exc = info.value
    assert exc.status == 401
    assert exc.service == service
    if code:
        assert exc.code == code
    assert exc.server_message, "the server's own message is kept"
    text = exc.user_message()
    assert text.startswith(exc.service.capitalize()) or text.lower().startswith(service)
    assert "token" in text.lower() and "Settings" in text
    for rendered in (text, str(exc), repr(exc.args), exc.details or ""):
        assert bad not in rendered


def test_missing_token_names_service_and_where_to_set_it(sandbox):
    with pytest.raises(ConfigurationError) as info:
        client(sandbox, "mapiry", token="").ping()
    assert "Mapiry" in str(info.value)
    assert "MAPBRIDGE_MAPIRY_TOKEN" in str(info.value) and "Settings" in str(info.value)
    assert not sandbox.requests, "nothing is sent without a token"


def test_mapflow_uses_bearer_for_processing_and_basic_for_data_api(sandbox):
    c = client(sandbox, "mapflow")
    c.get_json("/user/status")
    c.get_json("/rasters/memory")
    headers = {r.path: r.headers["authorization"] for r in sandbox.requests}
    assert headers["/user/status"].startswith("Bearer ")
    assert headers["/rasters/memory"].startswith("Basic ")


def test_mapflow_error_shapes_processing_and_data_api(sandbox):
    c = client(sandbox, "mapflow")
    with pytest.raises(ServiceError) as info:
        c.get_json("/processings/does-not-exist/v2")
    assert info.value.status == 404 and info.value.server_message
    with pytest.raises(ServiceError) as info:
        c.get_json("/rasters/mosaic/does-not-exist")
    assert info.value.status == 404 and info.value.server_message


def test_429_with_retry_after_is_waited_and_retried(sandbox):
    sandbox.add_fault("mapalyze", "429", path="^/records", count=1, retry_after=1)
    start = time.monotonic()
    assert client(sandbox, "mapalyze").ping()
    assert time.monotonic() - start >= 0.9, "Retry-After was honoured"
    statuses = [r.status for r in sandbox.requests if r.path == "/records"]
    assert statuses == [429, 200]


def test_long_retry_after_surfaces_as_rate_limited_with_the_wait(sandbox):
    sandbox.add_fault("mapiry", "429", count=1, retry_after=120)
    with pytest.raises(RateLimitedError) as info:
        client(sandbox, "mapiry").ping()
    assert info.value.retry_after == pytest.approx(120)


def test_wait_for_rate_limit_waits_then_succeeds_and_can_be_cancelled(sandbox):
    c = client(sandbox, "mapiry", retry=make_retry(max_unattended_wait=0.1))
    sandbox.add_fault("mapiry", "429", count=1, retry_after=1)
    waits = []
    assert wait_for_rate_limit(c.ping, on_wait=waits.append)
    assert waits == [pytest.approx(1.0)]
    sandbox.add_fault("mapiry", "429", count=1, retry_after=30)
    from mapbridge.api.errors import CancelledError

    start = time.monotonic()
    with pytest.raises(CancelledError):
        wait_for_rate_limit(c.ping, cancelled=lambda: time.monotonic() - start > 0.3)
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("kind", ["500", "502", "503", "504"])
def test_5xx_on_get(sandbox, kind):
    sandbox.add_fault("mapsemble", kind, path="^/maps$", count=1)
    c = client(sandbox, "mapsemble", retry=make_retry(backoff_factor=0.01))
    if kind == "500":
        with pytest.raises(ServiceError) as info:
            c.ping()
        assert info.value.status == 500 and "try again later" in str(info.value)
    else:
        assert c.ping()
        assert [r.status for r in sandbox.requests] == [int(kind), 200]


def test_dropped_connection_on_get_is_retried(sandbox):
    sandbox.add_fault("mapalyze", "drop", path="^/records", count=1)
    assert client(sandbox, "mapalyze", retry=make_retry(backoff_factor=0.01)).ping()


def test_post_with_unknown_outcome_is_not_resent(sandbox):
    sandbox.add_fault("mapiry", "drop_after", method="POST", path="^/maps$", count=1)
    c = client(sandbox, "mapiry", retry=make_retry(backoff_factor=0.01))
    with pytest.raises(OutcomeUnknownError) as info:
        c.send_json("POST", "/maps", {"title": "Once only"})
    assert "may or may not" in str(info.value)
    posts = [r for r in sandbox.requests if r.method == "POST" and r.path == "/maps"]
    assert len(posts) == 1, "a POST whose outcome is unknown must not be sent twice"


def test_post_refused_with_429_is_sent_again(sandbox):
    sandbox.add_fault("mapiry", "429", method="POST", path="^/maps$", count=1, retry_after=0)
    c = client(sandbox, "mapiry")
    body = c.send_json("POST", "/maps", {"title": "After a 429"})
    assert body["data"]["title"] == "After a 429"
    assert [r.status for r in sandbox.requests if r.method == "POST"] == [429, 201]


def test_read_timeout_is_reported_clearly(sandbox):
    sandbox.add_fault("mapalyze", "latency", latency_ms=1500, count=10)
    c = client(sandbox, "mapalyze", timeout=(2, 0.3), retry=make_retry(total=1, backoff_factor=0.01))
    with pytest.raises(ServiceError) as info:
        c.ping()
    assert "timed out" in str(info.value)
    assert "Mapalyze" in str(info.value)


def test_unreachable_service(sandbox):
    config = ServiceConfig("mapsemble", "http://127.0.0.1:9/api/v1", "tok")
    with pytest.raises(ServiceError) as info:
        make_client(config, retry=make_retry(total=0)).ping()
    assert "could not be reached" in str(info.value)


def test_non_json_answer_is_explained(tmp_path):
    import http.server
    import threading

    class Html(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = b"<html>captive portal</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Html)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = ServiceConfig("mapsemble", f"http://127.0.0.1:{server.server_address[1]}/api/v1", "tok")
        with pytest.raises(ServiceError) as info:
            make_client(config).ping()
        assert "not valid JSON" in str(info.value) and "Mapsemble" in str(info.value)
        assert "captive portal" in info.value.details
    finally:
        server.shutdown()


def test_tls_verification_is_always_on(sandbox):
    assert client(sandbox, "mapiry").session.verify is True


CATALOG_AOI = {"type": "Polygon", "coordinates": [[[37.34, 55.67], [37.36, 55.67], [37.36, 55.68], [37.34, 55.68],
                                                  [37.34, 55.67]]]}


def test_read_only_post_is_retried_like_a_get(sandbox):
    sandbox.add_fault("mapflow", "502", method="POST", path="^/catalog/meta$", count=1)
    c = client(sandbox, "mapflow", retry=make_retry(backoff_factor=0.01))
    body = c.send_json("POST", "/catalog/meta", {"aoi": CATALOG_AOI}, idempotent=True)
    assert "images" in body
    assert [r.status for r in sandbox.requests if r.path == "/catalog/meta"] == [502, 200]


def test_creating_post_is_not_retried_after_a_gateway_error(sandbox):
    sandbox.add_fault("mapiry", "502", method="POST", path="^/maps$", count=1)
    with pytest.raises(ServiceError) as info:
        client(sandbox, "mapiry", retry=make_retry(backoff_factor=0.01)).send_json("POST", "/maps", {"title": "x"})
    assert info.value.status == 502
    assert len([r for r in sandbox.requests if r.method == "POST"]) == 1


def test_token_is_never_sent_to_another_host(sandbox):
    import http.server
    import threading

    seen = []

    class Storage(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Storage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        c = client(sandbox, "mapalyze")
        c.request("GET", f"http://127.0.0.2:{server.server_address[1]}/signed/file.csv")
        assert seen == [None]
        c.request("GET", sandbox.base_urls["mapalyze"] + "/records?limit=1")
        assert sandbox.requests[-1].headers["authorization"] == "Bearer " + sandbox.tokens["mapalyze"]
    finally:
        server.shutdown()


def test_proxy_password_is_scrubbed_from_error_details(sandbox):
    from mapbridge.api.proxy import ProxySettings

    proxy = ProxySettings(True, "HttpProxy", "127.0.0.1", 9, user="ann", password="pa ss/word")
    c = make_client(ServiceConfig("mapiry", "https://mapiry.example/api/v1", "tok-123"), proxy,
                    retry=make_retry(total=0))
    with pytest.raises(ServiceError) as info:
        c.ping()
    rendered = " ".join(str(x) for x in (info.value, info.value.details, info.value.args))
    for secret in ("pa ss/word", "pa%20ss%2Fword", "tok-123"):
        assert secret not in rendered


def test_mapiry_connection_check_without_key_listing(sandbox):
    sandbox.add_fault("mapiry", "error", path="^/keys$", status=404, count=None)
    assert client(sandbox, "mapiry").ping() == "token accepted"
    with pytest.raises(ServiceError) as info:
        client(sandbox, "mapiry", token="mk_live_wrong").ping()
    assert info.value.status == 401
