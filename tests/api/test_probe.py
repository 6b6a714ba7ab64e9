"""Connection probes (api/probe.py and each client's probe()): a pass needs proof of the API and of the token."""

from __future__ import annotations

import pytest

from mapbridge.api.clients import make_client
from mapbridge.api.config import SERVICES, resolve
from mapbridge.api.errors import MapbridgeError


def client(service, url, token):
    return make_client(resolve(service, url, token))


def probe_error(service, url, token):
    with pytest.raises(MapbridgeError) as info:
        client(service, url, token).probe()
    return info.value.user_message()


@pytest.mark.parametrize("service", SERVICES)
def test_the_right_url_and_token_pass_and_the_token_is_proven_to_matter(service, sandbox):
    result = client(service, sandbox.base_urls[service], sandbox.tokens[service]).probe()
    assert result.summary().startswith(f"Connected to {service.capitalize()}: token accepted")
    unauthenticated = [r for r in sandbox.requests if "authorization" not in r.headers]
    assert unauthenticated and all(r.status == 401 for r in unauthenticated), "the same request without a token"
    assert all(r.method in ("GET", "DELETE") for r in sandbox.requests), "a probe never creates anything"


@pytest.mark.parametrize("service", SERVICES)
def test_a_bogus_token_is_refused_by_name(service, sandbox):
    text = probe_error(service, sandbox.base_urls[service], "bogus-token")
    assert "refused the token" in text and "Paste a valid" in text
    assert "bogus-token" not in text


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("impostor", ["/impostor/html", "/impostor/open", "/nowhere"])
def test_a_server_that_is_not_the_service_never_passes(service, impostor, sandbox):
    """A site answering 404 to everything (HTML or JSON), or 200 to everything without checking tokens."""
    for token in (sandbox.tokens[service], "bogus-token"):
        text = probe_error(service, sandbox.url + impostor, token)
        assert f"does not answer like the {service.capitalize()} API" in text, text
        assert "Check the base URL" in text


def test_mapiry_reports_a_read_only_key_and_a_missing_pro_subscription(sandbox):
    url = sandbox.base_urls["mapiry"]
    maps_before = {m["id"] for m in sandbox.state.mapiry.get_maps()}
    result = client("mapiry", url, sandbox.tokens["mapiry"]).probe()
    assert result.access == "read and write" and not result.warnings
    result = client("mapiry", url, "mk_live_readonly").probe()
    assert result.access == "read only" and "READ_ONLY" in result.summary() and "refuses every push" in \
        result.summary()
    text = probe_error("mapiry", url, "mk_live_nopro")
    assert "no active Pro subscription" in text and "PRO_SUBSCRIPTION_REQUIRED" in text
    assert "API_KEY_EXPIRED" in probe_error("mapiry", url, "mk_live_expired")
    assert {m["id"] for m in sandbox.state.mapiry.get_maps()} == maps_before, "the scope check deleted nothing"
    deletes = [r for r in sandbox.requests if r.method == "DELETE"]
    assert deletes and {r.status for r in deletes} == {403, 404}


def test_mapiry_without_the_keys_endpoint_still_needs_proof(sandbox):
    """Where /keys is not offered, Mapiry's own NOT_FOUND for a map that cannot exist, and a refusal without key."""
    sandbox.add_fault("mapiry", "error", path="^/keys$", status=404, count=None)
    result = client("mapiry", sandbox.base_urls["mapiry"], sandbox.tokens["mapiry"]).probe()
    assert result.access == "read and write"
    assert "refused the token" in probe_error("mapiry", sandbox.base_urls["mapiry"], "bogus-token")


def test_mapsemble_names_maps_on_the_free_plan(sandbox):
    result = client("mapsemble", sandbox.base_urls["mapsemble"], sandbox.tokens["mapsemble"]).probe()
    assert result.account == "3 maps" and result.warnings == [
        "1 map is on the Free plan, which takes 100 features via the API."]


def test_an_unreachable_url_says_so(sandbox):
    text = probe_error("mapalyze", "http://127.0.0.1:9/v1", sandbox.tokens["mapalyze"])
    assert "could not be reached" in text


def test_trouble_on_the_service_side_is_not_called_a_wrong_url(sandbox):
    sandbox.add_fault("mapsemble", "503", path="^/maps$", count=None)
    text = probe_error("mapsemble", sandbox.base_urls["mapsemble"], sandbox.tokens["mapsemble"])
    assert "answered HTTP 503" in text and "problem on its side" in text and "does not answer like" not in text
