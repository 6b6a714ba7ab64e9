"""Injected failures (sandbox/faults.py): 429 with Retry-After, 5xx in service shape, filters, drops, latency."""

from __future__ import annotations

import time

import pytest
import requests

from mapbridge.tests.sandbox.geojson import feature_collection as _fc
from mapbridge.tests.sandbox.geojson import point_feature as _pt


def test_fault_429_with_retry_after_then_recovers(api, srv):
    srv.add_fault("mapalyze", "429", path=r"^/records$", retry_after=7)
    r = api("mapalyze", "GET", "/records")
    assert r.status_code == 429 and r.headers["Retry-After"] == "7" and r.json()["code"]
    assert api("mapalyze", "GET", "/records").status_code == 200
    srv.add_fault("mapiry", "429")
    r = api("mapiry", "GET", "/maps/map_demo")
    assert r.status_code == 429 and r.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert "X-RateLimit-Limit" in r.headers and r.headers["Retry-After"] == "1"


@pytest.mark.parametrize("kind", ["500", "502", "503", "504"])
def test_fault_server_errors_in_service_shape(api, srv, kind):
    srv.add_fault("mapflow", kind, count=2)
    r = api("mapflow", "GET", "/user/status")
    assert r.status_code == int(kind) and set(r.json()) == {"code", "message", "params"}
    assert api("mapflow", "GET", "/rasters/memory").json()["detail"]["code"]
    assert api("mapflow", "GET", "/user/status").status_code == 200


def test_fault_after_method_and_path_filters(api, srv):
    srv.add_fault("mapsemble", "503", method="POST", path=r"/features$", after=2, count=1)
    assert api("mapsemble", "GET", "/maps/ms_plain/features").status_code == 200     # method does not match
    fc = _fc(_pt(1, 1, label="a"))
    codes = [api("mapsemble", "POST", "/maps/ms_plain/features", json=fc).status_code for _ in range(4)]
    assert codes == [201, 201, 503, 201]
    srv.add_fault("mapsemble", "500", count=None)
    assert [api("mapsemble", "GET", "/maps").status_code for _ in range(3)] == [500, 500, 500]
    srv.clear_faults()
    assert api("mapsemble", "GET", "/maps").status_code == 200


def test_fault_drop_closes_without_response(api, srv):
    srv.add_fault("mapiry", "drop", method="POST")
    with pytest.raises(requests.ConnectionError):
        api("mapiry", "POST", "/maps/map_demo/locations", json={"name": "Lost", "lat": 1, "lng": 2})
    assert not any(loc["name"] == "Lost" for loc in srv.state.mapiry.locations("map_demo"))
    assert srv.requests[-1].status == 0
    assert api("mapiry", "GET", "/maps/map_demo").status_code == 200


def test_fault_drop_after_changes_state(api, srv):
    srv.add_fault("mapiry", "drop_after", method="POST", path=r"/locations$")
    with pytest.raises(requests.ConnectionError):
        api("mapiry", "POST", "/maps/map_demo/locations", json={"name": "Ghost", "lat": 1, "lng": 2})
    assert [loc["name"] for loc in srv.state.mapiry.locations("map_demo")].count("Ghost") == 1


def test_fault_latency_and_global_latency(api, srv):
    srv.add_fault("mapalyze", "latency", latency_ms=300)
    t0 = time.perf_counter()
    assert api("mapalyze", "GET", "/forms").status_code == 200
    assert time.perf_counter() - t0 >= 0.3
    t0 = time.perf_counter()
    api("mapalyze", "GET", "/forms")
    assert time.perf_counter() - t0 < 0.25
    srv.latency_ms = 150
    t0 = time.perf_counter()
    api("mapsemble", "GET", "/maps")
    assert time.perf_counter() - t0 >= 0.15
    with pytest.raises(requests.Timeout):
        srv.add_fault("mapflow", "latency", latency_ms=1500)
        requests.get(srv.base_urls["mapflow"] + "/user/status", timeout=0.5,
                     headers={"Authorization": "Bearer sandbox-mapflow-token"})


def test_bad_fault_arguments_raise(srv):
    with pytest.raises(ValueError):
        srv.add_fault("mapalyze", "teapot")
    with pytest.raises(ValueError):
        srv.add_fault("nowhere", "500")


def test_fault_error_after_acts_then_answers_with_the_error(api, srv):
    srv.add_fault("mapsemble", "error_after", method="POST", path=r"/features$", status=504)
    r = api("mapsemble", "POST", "/maps/ms_plain/features", json=_fc(_pt(3, 4, label="made anyway")))
    assert r.status_code == 504 and r.json()["error"]["code"]
    assert any(f["properties"].get("label") == "made anyway" for f in srv.state.mapsemble.features("ms_plain"))
    with pytest.raises(ValueError, match="needs a status"):
        srv.add_fault("mapiry", "error_after")


def test_fault_reset_after_acts_then_breaks_the_answer_off(api, srv):
    srv.add_fault("mapiry", "reset_after", method="POST", path=r"/locations$")
    with pytest.raises(requests.exceptions.RequestException):
        api("mapiry", "POST", "/maps/map_demo/locations", json={"name": "Half", "lat": 1, "lng": 2})
    assert [loc["name"] for loc in srv.state.mapiry.locations("map_demo")].count("Half") == 1


@pytest.mark.parametrize("position", [0, 10])
def test_fault_garbage_after_acts_then_answers_unreadably(api, srv, position):
    srv.add_fault("mapiry", "garbage_after", method="POST", path=r"/locations$", position=position)
    r = api("mapiry", "POST", "/maps/map_demo/locations", json={"name": f"Garbled{position}", "lat": 1, "lng": 2})
    assert r.status_code == 201
    with pytest.raises(ValueError):
        r.json()
    assert (("<html>" in r.text) if position == 0 else len(r.content) == 10)
    assert [loc["name"] for loc in srv.state.mapiry.locations("map_demo")].count(f"Garbled{position}") == 1
