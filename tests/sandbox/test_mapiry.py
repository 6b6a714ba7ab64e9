"""The Mapiry emulator (sandbox/mapiry.py): maps and locations, atomic bulk, scopes and keys, rate limits."""

from __future__ import annotations

import time

import requests


def test_mapiry_maps_and_locations(api, srv):
    r = api("mapiry", "GET", "/maps/map_demo")
    assert r.status_code == 200 and r.json()["data"]["title"] == "Demo map"
    r = api("mapiry", "POST", "/maps", json={"title": "Best Coffee in Tokyo", "description": "spots"})
    assert r.status_code == 201
    m = r.json()["data"]
    assert m["slug"] == "best-coffee-in-tokyo" and m["public"] is False and m["createdAt"].endswith("Z")
    assert api("mapiry", "POST", "/maps", json={"title": " "}).json()["error"]["code"] == "VALIDATION_ERROR"

    for i in range(45):
        r = api("mapiry", "POST", f"/maps/{m['id']}/locations",
                json={"name": f"L{i}", "lat": 35 + i / 100, "lng": 139.7})
        assert r.status_code == 201
    r = api("mapiry", "GET", f"/maps/{m['id']}/locations", params={"page": 3, "pageSize": 20})
    data = r.json()["data"]
    assert data["pagination"] == {"total": 45, "page": 3, "pageSize": 20, "totalPages": 3}
    assert [loc["name"] for loc in data["locations"]] == ["L40", "L41", "L42", "L43", "L44"]
    assert data["locations"][0]["layers"] == []
    assert api("mapiry", "GET", f"/maps/{m['id']}/locations", params={"pageSize": 101}).status_code == 400

    loc = data["locations"][0]
    r = api("mapiry", "PUT", f"/maps/{m['id']}/locations/{loc['id']}", json={"name": "Renamed"})
    assert r.json()["data"]["name"] == "Renamed" and r.json()["data"]["lat"] == loc["lat"]
    r = api("mapiry", "POST", f"/maps/{m['id']}/locations", json={"name": "x", "lat": 91, "lng": 0})
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "lat"
    assert api("mapiry", "DELETE", f"/maps/{m['id']}/locations/{loc['id']}").status_code == 200
    assert api("mapiry", "GET", f"/maps/{m['id']}/locations/{loc['id']}").status_code == 404
    assert len(srv.state.mapiry.locations(m["id"])) == 44

    demo = srv.state.mapiry.locations("map_demo")
    assert demo and any(loc["layers"] for loc in demo)


def test_mapiry_bulk_is_atomic_and_names_the_index(api, srv):
    before = len(srv.state.mapiry.locations("map_demo"))
    good = [{"name": f"P{i}", "lat": 35.6, "lng": 139.7} for i in range(5)]
    bad = list(good)
    bad[3] = {"name": "Broken", "lat": 123.0, "lng": 139.7}
    r = api("mapiry", "POST", "/maps/map_demo/locations/bulk", json={"locations": bad})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "VALIDATION_ERROR" and "3" in err["message"]
    assert err["details"] == [{"index": 3, "field": "lat", "message": err["details"][0]["message"]}]
    assert len(srv.state.mapiry.locations("map_demo")) == before

    r = api("mapiry", "POST", "/maps/map_demo/locations/bulk", json={"locations": [good[0]] * 101})
    assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION_ERROR"

    r = api("mapiry", "POST", "/maps/map_demo/locations/bulk", json={"locations": good})
    assert r.status_code == 201
    assert r.json()["data"]["count"] == 5
    assert [c["name"] for c in r.json()["data"]["created"]] == [g["name"] for g in good]
    assert len(srv.state.mapiry.locations("map_demo")) == before + 5


def test_mapiry_scopes_and_key_states(api):
    assert api("mapiry", "GET", "/maps/map_demo", token="mk_live_readonly").status_code == 200
    r = api("mapiry", "POST", "/maps", token="mk_live_readonly", json={"title": "x"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "INSUFFICIENT_SCOPE"
    r = api("mapiry", "GET", "/maps/map_demo", token="mk_live_expired")
    assert r.status_code == 401 and r.json()["error"]["code"] == "API_KEY_EXPIRED"
    r = api("mapiry", "GET", "/maps/map_demo", token="mk_live_nopro")
    assert r.status_code == 403 and r.json()["error"]["code"] == "PRO_SUBSCRIPTION_REQUIRED"


def test_mapiry_tags_conflict_and_keys(api):
    assert api("mapiry", "POST", "/maps/map_demo/tags", json={"name": "Quiet"}).status_code == 201
    r = api("mapiry", "POST", "/maps/map_demo/tags", json={"name": "quiet"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "CONFLICT"
    layers = api("mapiry", "GET", "/maps/map_demo/layers").json()["data"]
    loc = api("mapiry", "GET", "/maps/map_demo/locations").json()["data"]["locations"][0]
    r = api("mapiry", "PUT", f"/maps/map_demo/locations/{loc['id']}/layers", json={"layerIds": [layers[1]["id"]]})
    assert [layer["name"] for layer in r.json()["data"]["layers"]] == ["Day 2"]

    r = api("mapiry", "POST", "/keys", json={"name": "CI", "scope": "READ_ONLY"})
    assert r.status_code == 201
    key = r.json()["data"]
    assert key["key"].startswith("mk_live_")
    assert api("mapiry", "GET", "/maps/map_demo", token=key["key"]).status_code == 200
    assert all("key" not in k for k in api("mapiry", "GET", "/keys").json()["data"])
    assert api("mapiry", "DELETE", f"/keys/{key['id']}").status_code == 200
    assert api("mapiry", "GET", "/maps/map_demo", token=key["key"]).json()["error"]["code"] == "INVALID_API_KEY"


def test_mapiry_rate_limits(api, srv):
    r = api("mapiry", "GET", "/maps/map_demo")
    assert r.headers["X-RateLimit-Limit"] == "1000"
    remaining = int(r.headers["X-RateLimit-Remaining"])
    r = api("mapiry", "GET", "/maps/map_demo")
    assert int(r.headers["X-RateLimit-Remaining"]) == remaining - 1
    assert int(r.headers["X-RateLimit-Reset"]) > time.time()

    loc = {"locations": [{"name": "a", "lat": 1, "lng": 2}]}
    for i in range(20):
        r = api("mapiry", "POST", "/maps/map_demo/locations/bulk", json=loc)
        assert r.status_code == 201, i
        assert r.headers["X-RateLimit-Limit"] == "20" and r.headers["X-RateLimit-Remaining"] == str(19 - i)
    r = api("mapiry", "POST", "/maps/map_demo/locations/bulk", json=loc)
    assert r.status_code == 429 and r.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert 3500 <= int(r.headers["Retry-After"]) <= 3600 and r.headers["X-RateLimit-Remaining"] == "0"
    assert api("mapiry", "GET", "/maps/map_demo").status_code == 200   # other buckets unaffected

    srv.state.mapiry.limits["maps"] = 2
    assert [api("mapiry", "POST", "/maps", json={"title": "t"}).status_code for _ in range(3)] == [201, 201, 429]

    srv.mapiry_rate_limits = False
    r = api("mapiry", "POST", "/maps/map_demo/locations/bulk", json=loc)
    assert r.status_code == 201 and int(r.headers["X-RateLimit-Remaining"]) >= 100_000


def test_mapiry_rate_window_can_be_compressed_for_benchmarks(api, srv):
    base = srv.url + "/_sandbox"
    assert requests.post(base + "/config", json={"mapiry_rate_window": 2}).json()["config"]["mapiry_rate_window"] == 2
    try:
        srv.state.mapiry.limits["bulk"] = 1
        loc = {"locations": [{"name": "a", "lat": 1, "lng": 2}]}
        assert api("mapiry", "POST", "/maps/map_demo/locations/bulk", json=loc).status_code == 201
        refused = api("mapiry", "POST", "/maps/map_demo/locations/bulk", json=loc)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) <= 2
        time.sleep(2.1)
        assert api("mapiry", "POST", "/maps/map_demo/locations/bulk", json=loc).status_code == 201
        assert requests.post(base + "/config", json={"mapiry_rate_window": 0}).status_code == 400
    finally:
        srv.mapiry_rate_window = 3600
