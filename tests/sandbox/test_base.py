"""What every emulated service shares (sandbox/base.py): auth errors and unknown paths in each service's shape."""

from __future__ import annotations

import requests


def test_auth_errors_in_each_service_shape(api):
    r = api("mapalyze", "GET", "/records", auth=False)
    assert r.status_code == 401 and set(r.json()) == {"code", "message"}
    r = api("mapalyze", "GET", "/records", token="nope")
    assert r.status_code == 401 and r.json()["code"]

    r = api("mapiry", "GET", "/maps/map_demo", auth=False)
    assert r.status_code == 401 and r.json()["error"]["code"] == "MISSING_API_KEY"
    r = api("mapiry", "GET", "/maps/map_demo", token="mk_live_wrong")
    assert r.status_code == 401 and r.json()["error"]["code"] == "INVALID_API_KEY"
    assert "X-RateLimit-Limit" in r.headers

    r = api("mapsemble", "GET", "/maps", token="nope")
    assert r.status_code == 401 and set(r.json()["error"]) >= {"code", "message"}

    r = api("mapflow", "GET", "/user/status", token="nope")
    assert r.status_code == 401 and set(r.json()) == {"code", "message", "params"}
    r = api("mapflow", "GET", "/rasters/memory", scheme="Basic", token="nope")
    assert r.status_code == 401 and set(r.json()["detail"]) >= {"code", "message"}


def test_unknown_paths_404_in_service_shape(api, srv):
    assert api("mapalyze", "GET", "/nope").json()["code"] == "not_found"
    assert api("mapiry", "GET", "/nope").json()["error"]["code"] == "NOT_FOUND"
    assert api("mapsemble", "GET", "/maps/nope").json()["error"]["code"] == "NOT_FOUND"
    assert api("mapflow", "GET", "/processings/nope/v2").json()["code"] == "PROCESSING_NOT_FOUND"
    r = api("mapflow", "GET", "/rasters/image/nope")
    assert r.status_code == 404 and "detail" in r.json()
    assert requests.get(f"http://127.0.0.1:{srv.port}/elsewhere").status_code == 404
