"""HTTP core against the sandbox: auth, error shapes, retries, timeouts, secrecy."""

from __future__ import annotations

import time

import pytest

from mapbridge.api.clients import make_client
from mapbridge.api.config import ServiceConfig
from mapbridge.api.errors import ConfigurationError, OutcomeUnknownError, RateLimitedError, ServiceError
from mapbridge.api.http import PageRepeats, make_retry, wait_for_rate_limit


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
    assert wait_for_rate_limit(c.ping, on_wait=lambda seconds, named: waits.append(seconds))
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
        assert "a web page, not the service's JSON" in str(info.value) and "Mapsemble" in str(info.value)
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
    assert client(sandbox, "mapiry").probe().access == "read and write"
    with pytest.raises(ServiceError) as info:
        client(sandbox, "mapiry", token="mk_live_wrong").probe()
    assert info.value.status == 401


def test_untrusted_tls_certificate_is_named_as_such(tmp_path):
    """An HTTPS service with a certificate no one trusts: not "could not be reached", and nothing is sent."""
    from mapbridge.sandbox import SandboxServer

    with SandboxServer(records=10, tls=True) as tls:
        config = ServiceConfig("mapalyze", tls.base_urls["mapalyze"], tls.tokens["mapalyze"])
        start = time.monotonic()
        with pytest.raises(ServiceError) as info:
            make_client(config).ping()
        assert time.monotonic() - start < 5, "a refused certificate is not retried"
        assert not tls.requests, "no request went over the untrusted connection"
    text = str(info.value)
    assert "Mapalyze" in text and "certificate" in text and "not trusted" in text
    assert "could not be reached" not in text and "REQUESTS_CA_BUNDLE" in text


@pytest.mark.parametrize("base", ["sandbox", "https://api.mapiry.example/api/v1"])
def test_proxy_asking_for_credentials_says_so(sandbox, base):
    """HTTP 407 from the proxy, for a plain-HTTP request and for an HTTPS tunnel (CONNECT)."""
    from mapbridge.api.proxy import ProxySettings
    from mapbridge.sandbox.proxy import AuthProxy

    with AuthProxy() as proxy:
        settings = ProxySettings(True, "HttpProxy", "127.0.0.1", proxy.port, user="ann", password="wrong-pass")
        url = sandbox.base_urls["mapiry"] if base == "sandbox" else base
        c = make_client(ServiceConfig("mapiry", url, "mk_live_sandbox_mapiry"), settings, retry=make_retry(total=0))
        with pytest.raises(ServiceError) as info:
            c.ping()
        assert proxy.requests and not proxy.requests[0][2]
    text = str(info.value)
    assert "proxy" in text and "407" in text and "QGIS ▸ Options ▸ Network" in text and "Mapiry" in text
    assert "wrong-pass" not in text + str(info.value.details)


def test_proxy_with_the_right_credentials_passes(sandbox):
    from mapbridge.api.proxy import ProxySettings
    from mapbridge.sandbox.proxy import AuthProxy

    with AuthProxy(user="ann", password="right") as proxy:
        settings = ProxySettings(True, "HttpProxy", "127.0.0.1", proxy.port, user="ann", password="right")
        assert client(sandbox, "mapiry", proxy=settings).ping()
        assert proxy.requests[-1][2]


def test_an_html_error_page_is_not_pasted_into_the_message(sandbox):
    sandbox.add_fault("mapsemble", "html", path="^/maps$", status=502, count=None)
    with pytest.raises(ServiceError) as info:
        client(sandbox, "mapsemble", retry=make_retry(total=1, backoff_factor=0.01)).ping()
    text = str(info.value)
    assert "502" in text and "Bad Gateway" in text and "HTML page" in text
    assert "<" not in text and "nginx" not in text and "center" not in text
    assert sandbox.tokens["mapsemble"] not in text + (info.value.details or "")


@pytest.mark.parametrize("kind", ["500", "503", "504"])
def test_a_5xx_to_a_create_is_an_unknown_outcome_never_sent_twice(sandbox, kind):
    sandbox.add_fault("mapsemble", kind, method="POST", path="/features$", count=None)
    c = client(sandbox, "mapsemble", retry=make_retry(backoff_factor=0.01))
    body = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"label": "x"},
                                                       "geometry": {"type": "Point", "coordinates": [1, 2]}}]}
    with pytest.raises(OutcomeUnknownError) as info:
        c.send_json("POST", "/maps/ms_plain/features", body)
    assert info.value.status == int(kind) and "may or may not" in str(info.value)
    assert len([r for r in sandbox.requests if r.method == "POST"]) == 1


def test_429_without_retry_after_backs_off_boundedly_and_says_no_wait_was_named(sandbox):
    from mapbridge.api.http import RateLimitWaits, describe_rate_wait

    sandbox.add_fault("mapiry", "no_retry_after", count=None)
    c = client(sandbox, "mapiry", retry=make_retry(total=0))
    waits, slept = [], []
    rate = RateLimitWaits(unnamed_total=20, first=1, cap=8)
    with pytest.raises(RateLimitedError) as info:
        wait_for_rate_limit(c.ping, on_wait=lambda s, named: waits.append((s, named)), sleep=slept.append,
                            clock=lambda: sum(slept), waits=rate)
    assert waits == [(1, False), (2, False), (4, False), (8, False)], "capped exponential, then the total cap"
    assert "stopped waiting" in str(info.value)
    assert "asks to wait" not in describe_rate_wait("mapiry", 4, False)
    assert "without saying how long" in describe_rate_wait("mapiry", 4, False)


@pytest.mark.parametrize("service,path,call", [
    ("mapalyze", "^/records$", lambda c: c.records(limit=10)),
    ("mapiry", "/locations$", lambda c: list(c.iter_locations("map_demo"))),
    ("mapflow", "/v2$", lambda c: c.processing("any-id")),
])
def test_cancel_aborts_a_request_the_server_stalls_within_two_seconds(sandbox, service, path, call):
    from mapbridge.api.errors import CancelledError

    sandbox.add_fault(service, "stall", path=path, latency_ms=60_000, count=None)
    c = client(sandbox, service)
    start = time.monotonic()
    c.cancel_check = lambda: time.monotonic() - start > 0.5
    with pytest.raises(CancelledError):
        call(c)
    assert time.monotonic() - start < 2.0
    c.close()


@pytest.mark.parametrize("service,pages", [
    ("mapiry", lambda c: list(c.iter_locations("map_demo", page_size=2))),
    ("mapsemble", lambda c: list(c.iter_features("ms_demo", per_page=2))),
])
@pytest.mark.parametrize("totals", [0, 1])
def test_a_listing_that_ignores_paging_is_refused_as_incomplete(sandbox, service, pages, totals):
    """Every loop over a server's answers is bounded, and the same full page again is never taken for the end:
    the listing would be incomplete (and lost-answer checks would trust it)."""
    sandbox.add_fault(service, "no_paging", count=None, position=totals)
    with pytest.raises(ServiceError) as info:
        pages(client(sandbox, service))
    assert "ignores paging; the listing is incomplete" in str(info.value)
    assert len(sandbox.requests) <= 3


def test_a_repeated_page_ends_a_listing_when_short_and_refuses_it_when_full():
    """The one guard every listing uses: a short page seen before is the end, a full one means paging is ignored."""
    repeats = PageRepeats("mapiry", "the locations of map m1")
    assert not repeats.repeated("a", full=True)
    assert not repeats.repeated("b", full=True)
    assert not repeats.repeated(None, full=True) and not repeats.repeated(None, full=True)   # no id: never a repeat
    assert repeats.repeated("b", full=False)
    with pytest.raises(ServiceError) as info:
        repeats.repeated("a", full=True)
    assert info.value.service == "mapiry"
    assert "same page of the locations of map m1 again" in str(info.value)


def test_retry_never_resends_a_create_after_an_error_that_may_follow_its_sending():
    """urllib3 1.26 wraps a reset on a proxied connection in ProxyError, which its Retry re-sends for any method."""
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError, ProxyError

    retry = make_retry()
    for error in (ProxyError("x", ConnectionResetError()), ProtocolError("Connection aborted.", ConnectionResetError()),
                  ProxyError("x", OSError("Connection aborted."))):
        with pytest.raises(type(error)):
            retry.increment("POST", "/maps", error=error)
    # Before sending (no connection made), a create may be sent again; a read may always be retried.
    assert retry.increment("POST", "/maps", error=ProxyError("x", NewConnectionError(None, "refused"))).total == 3
    assert retry.increment("POST", "/maps", error=ConnectTimeoutError("slow")).total == 3
    assert retry.increment("GET", "/maps", error=ProxyError("x", ConnectionResetError())).total == 3


def test_a_create_reset_after_the_service_acted_through_a_proxy_is_sent_once_and_unknown(sandbox):
    from mapbridge.api.proxy import ProxySettings
    from mapbridge.core.push.failures import outcome_unknown, retryable
    from mapbridge.sandbox.proxy import AuthProxy

    sandbox.add_fault("mapiry", "drop_after", method="POST", path="^/maps$", count=1)
    with AuthProxy(user="ann", password="right") as proxy:
        settings = ProxySettings(True, "HttpProxy", "127.0.0.1", proxy.port, user="ann", password="right")
        c = client(sandbox, "mapiry", proxy=settings, retry=make_retry(backoff_factor=0.01))
        with pytest.raises(OutcomeUnknownError) as info:
            c.create_map("Through the proxy")
    assert outcome_unknown(info.value) and not retryable(info.value)
    assert len([r for r in sandbox.requests if r.method == "POST"]) == 1, "urllib3 must not re-send a create"
    assert [m["title"] for m in sandbox.state.mapiry.maps.values()].count("Through the proxy") == 1


def test_a_connection_refused_before_sending_is_not_an_unknown_outcome(sandbox):
    config = ServiceConfig("mapiry", "http://127.0.0.1:9/api/v1", "tok")
    with pytest.raises(ServiceError) as info:
        make_client(config, retry=make_retry(total=0)).create_map("Never sent")
    assert not isinstance(info.value, OutcomeUnknownError) and "could not be reached" in str(info.value)


@pytest.mark.parametrize("position", [0, 12])
def test_a_create_whose_answer_breaks_off_mid_body_is_an_unknown_outcome_sent_once(sandbox, position):
    sandbox.add_fault("mapiry", "reset_after", method="POST", path="^/maps$", count=1, position=position)
    c = client(sandbox, "mapiry", retry=make_retry(backoff_factor=0.01))
    with pytest.raises(OutcomeUnknownError) as info:
        c.create_map("Cut answer")
    assert "may or may not" in str(info.value) and "base URL" not in str(info.value)
    assert len([r for r in sandbox.requests if r.method == "POST"]) == 1


def test_a_read_whose_answer_breaks_off_says_it_was_cut_off(sandbox):
    sandbox.add_fault("mapiry", "reset_after", method="GET", path="^/maps/map_demo$", count=None)
    with pytest.raises(ServiceError) as info:
        client(sandbox, "mapiry", retry=make_retry(total=1, backoff_factor=0.01)).get_json("/maps/map_demo")
    assert not isinstance(info.value, OutcomeUnknownError)
    assert "cut off" in str(info.value) or "could not be reached" in str(info.value)


@pytest.mark.parametrize("position", [0, 20])
def test_an_unreadable_success_to_a_create_is_an_unknown_outcome(sandbox, position):
    sandbox.add_fault("mapiry", "garbage_after", method="POST", path="^/maps$", count=1, position=position)
    c = client(sandbox, "mapiry", retry=make_retry(backoff_factor=0.01))
    with pytest.raises(OutcomeUnknownError) as info:
        c.create_map("Garbled answer")
    assert info.value.status == 201 and "may or may not" in str(info.value)
    assert [m["title"] for m in sandbox.state.mapiry.maps.values()].count("Garbled answer") == 1


def test_an_unreadable_success_to_a_read_only_post_is_a_plain_error(sandbox):
    sandbox.add_fault("mapflow", "garbage_after", method="POST", path="^/catalog/meta$", count=1)
    c = client(sandbox, "mapflow", retry=make_retry(backoff_factor=0.01))
    with pytest.raises(ServiceError) as info:
        c.send_json("POST", "/catalog/meta", {"aoi": CATALOG_AOI}, idempotent=True)
    assert not isinstance(info.value, OutcomeUnknownError) and "web page" in str(info.value)


def test_a_mid_answer_tls_error_is_not_called_an_untrusted_certificate():
    import ssl

    import requests
    from urllib3.exceptions import SSLError as Urllib3SSLError

    from mapbridge.api.http import never_sent, tls_handshake_failed

    mid = requests.exceptions.SSLError(Urllib3SSLError(ssl.SSLError(1, "[SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC]")))
    refused = requests.exceptions.SSLError(Urllib3SSLError(ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self signed certificate")))
    assert not tls_handshake_failed(mid) and not never_sent(mid)
    assert tls_handshake_failed(refused) and never_sent(refused)
    c = make_client(ServiceConfig("mapiry", "https://api.mapiry.example/api/v1", "tok"))
    unknown = c._connection_error("POST", "/maps", mid, False)
    assert isinstance(unknown, OutcomeUnknownError) and "not trusted" not in str(unknown)
    assert "not trusted" in str(c._connection_error("POST", "/maps", refused, False))
