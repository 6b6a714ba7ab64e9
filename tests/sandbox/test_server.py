"""The sandbox server (sandbox/server.py): its public interface, the request log, the /_sandbox control endpoints,
reset."""

from __future__ import annotations

import time

import pytest
import requests

from mapbridge.sandbox import DEFAULT_TOKENS, SandboxServer


def test_public_interface(srv):
    assert srv.tokens == DEFAULT_TOKENS
    assert DEFAULT_TOKENS["mapiry"] == "mk_live_sandbox_mapiry"
    p = srv.port
    assert isinstance(p, int) and p > 0
    assert srv.base_urls == {
        "mapalyze": f"http://127.0.0.1:{p}/mapalyze/v1", "mapflow": f"http://127.0.0.1:{p}/mapflow/rest",
        "mapiry": f"http://127.0.0.1:{p}/mapiry/api/v1", "mapsemble": f"http://127.0.0.1:{p}/mapsemble/api/v1"}
    env = srv.env()
    assert env["MAPBRIDGE_MAPFLOW_URL"] == srv.base_urls["mapflow"]
    assert env["MAPBRIDGE_MAPSEMBLE_TOKEN"] == "sandbox-mapsemble-token"
    assert len(env) == 8


def test_context_manager_stops():
    with SandboxServer(records=10) as other:
        url = other.base_urls["mapalyze"] + "/forms"
        assert requests.get(url, headers={"Authorization": "Bearer sandbox-mapalyze-token"}).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)


def test_request_log(api, srv):
    srv.clear_requests()
    api("mapiry", "POST", "/maps", json={"title": "Logged"}, params={"x": ["1", "2"]})
    rec = srv.requests[-1]
    assert (rec.service, rec.method, rec.path, rec.status) == ("mapiry", "POST", "/maps", 201)
    assert rec.query == {"x": ["1", "2"]} and rec.json == {"title": "Logged"}
    assert rec.headers["authorization"] == "Bearer mk_live_sandbox_mapiry" and isinstance(rec.body, bytes)
    srv.clear_requests()
    assert srv.requests == []


def test_control_endpoints(srv):
    base = f"http://127.0.0.1:{srv.port}/_sandbox"
    health = requests.get(base + "/health").json()
    assert health["ok"] is True and health["base_urls"] == srv.base_urls
    auth = {"Authorization": "Bearer sandbox-mapalyze-token"}
    records = srv.base_urls["mapalyze"] + "/records"

    r = requests.post(base + "/faults", json={"service": "mapalyze", "kind": "503", "count": 1})
    assert r.status_code == 201
    assert requests.get(records, headers=auth).status_code == 503
    assert requests.get(records, headers=auth).status_code == 200
    assert requests.post(base + "/faults", json={"service": "mapalyze", "kind": "nope"}).status_code == 400
    requests.post(base + "/faults", json={"service": "mapalyze", "kind": "500", "count": None})
    assert requests.delete(base + "/faults").json()["ok"] is True
    assert requests.get(records, headers=auth).status_code == 200

    requests.post(records, headers=auth, json={"form_id": "form_Incident", "coordinates": [0, 0],
                                               "data": {"description": "x" * 20_000}})
    log = requests.get(base + "/requests").json()
    assert [e["status"] for e in log[-3:]] == [200, 200, 201]
    assert log[-1]["body"] is None and log[-1]["body_size"] > 20_000 and log[-2]["method"] == "GET"
    assert requests.delete(base + "/requests").json()["ok"] is True
    assert requests.get(base + "/requests").json() == []

    cfg = requests.post(base + "/config", json={"latency_ms": 50, "processing_seconds": 0.1, "records": 1200,
                                                "mapiry_rate_limits": False, "result_features": 7}).json()
    assert cfg["ok"] and cfg["config"]["records"] == 1200
    t0 = time.perf_counter()
    assert requests.get(records, headers=auth, params={"format": "geojson"}).json()["total"] == 1200
    assert time.perf_counter() - t0 >= 0.05
    assert srv.state.mapflow.processing_seconds == 0.1 and srv.state.mapflow.result_features == 7
    assert requests.post(base + "/config", json={"bogus": 1}).status_code == 400
    requests.post(base + "/config", json={"latency_ms": 0, "records": 5000})

    srv.state.mapalyze.add_record("form_Incident", [0, 0], {})
    assert requests.post(base + "/reset").json()["ok"] is True
    assert srv.state.mapalyze.count == 5000 and srv.requests == []


def test_reset_restores_seed_deterministically(api, srv):
    first = api("mapalyze", "GET", "/records", params={"limit": 5}).json()
    api("mapsemble", "DELETE", "/maps/ms_demo/features", json={"remote_ids": ["EXT-0001"]})
    srv.reset()
    assert api("mapalyze", "GET", "/records", params={"limit": 5}).json() == first
    assert len(srv.state.mapsemble.features("ms_demo")) == 25
