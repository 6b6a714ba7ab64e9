"""Sandbox emulator: every service over real HTTP, faults, control endpoints and the standalone runner."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]

try:
    from mapbridge.sandbox import DEFAULT_TOKENS, SandboxServer
except ImportError:  # no conftest yet: expose the repo root as `mapbridge` through a symlink
    _link_dir = Path(tempfile.gettempdir()) / "mapbridge-sandbox-tests"
    _link_dir.mkdir(exist_ok=True)
    if not (_link_dir / "mapbridge").exists():
        (_link_dir / "mapbridge").symlink_to(ROOT)
    sys.path.insert(0, str(_link_dir))
    from mapbridge.sandbox import DEFAULT_TOKENS, SandboxServer

AOI = {"type": "Polygon", "coordinates": [[[37.6156, 55.7558], [37.6256, 55.7558], [37.6256, 55.7608],
                                           [37.6156, 55.7608], [37.6156, 55.7558]]]}
DOC_SEARCH_AOI = {"type": "Polygon", "coordinates": [[
    [37.34396696090698, 55.6731196654679], [37.35926628112793, 55.6731196654679],
    [37.35926628112793, 55.67997991819218], [37.34396696090698, 55.67997991819218],
    [37.34396696090698, 55.6731196654679]]]}


@pytest.fixture(scope="module")
def srv():
    with SandboxServer(records=5000, seed=1, processing_seconds=0.6) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(srv):
    srv.latency_ms = 0
    srv.processing_seconds = 0.6
    srv.result_features = None
    srv.mapiry_rate_limits = True
    yield
    srv.reset()


class Client:
    """Tiny helper: service-relative URLs and the right auth header."""

    def __init__(self, srv):
        self.srv = srv
        self.session = requests.Session()

    def __call__(self, service, method, path, *, token=None, scheme="Bearer", auth=True, **kwargs):
        headers = kwargs.pop("headers", {})
        if auth:
            headers["Authorization"] = f"{scheme} {token or self.srv.tokens[service]}"
        return self.session.request(method, self.srv.base_urls[service] + path, headers=headers, timeout=30,
                                    **kwargs)


@pytest.fixture()
def api(srv):
    client = Client(srv)
    yield client
    client.session.close()


def tiny_tiff(width=4, height=3, big_endian=False):
    """A minimal valid one-strip TIFF header + IFD."""
    e = ">" if big_endian else "<"
    entries = [(256, width), (257, height), (258, 8), (277, 1)]
    ifd = struct.pack(e + "H", len(entries))
    for tag, value in entries:
        ifd += struct.pack(e + "HHI", tag, 3, 1) + struct.pack(e + "H", value) + b"\0\0"
    ifd += struct.pack(e + "I", 0)
    return (b"MM\x00*" if big_endian else b"II*\x00") + struct.pack(e + "I", 8) + ifd + bytes(width * height)


# -- public interface ---------------------------------------------------------------------------

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


# -- auth and error shapes -----------------------------------------------------------------------

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


def test_mapflow_accepts_basic_and_bearer_everywhere(api):
    for scheme in ("Basic", "Bearer"):
        assert api("mapflow", "GET", "/rasters/memory", scheme=scheme).status_code == 200
        assert api("mapflow", "GET", "/user/status", scheme=scheme).status_code == 200


def test_unknown_paths_404_in_service_shape(api, srv):
    assert api("mapalyze", "GET", "/nope").json()["code"] == "not_found"
    assert api("mapiry", "GET", "/nope").json()["error"]["code"] == "NOT_FOUND"
    assert api("mapsemble", "GET", "/maps/nope").json()["error"]["code"] == "NOT_FOUND"
    assert api("mapflow", "GET", "/processings/nope/v2").json()["code"] == "PROCESSING_NOT_FOUND"
    r = api("mapflow", "GET", "/rasters/image/nope")
    assert r.status_code == 404 and "detail" in r.json()
    assert requests.get(f"http://127.0.0.1:{srv.port}/elsewhere").status_code == 404


# -- Mapalyze --------------------------------------------------------------------------------------

def test_mapalyze_geojson_paging_covers_everything_in_order(api):
    seen = []
    offset = 0
    while True:
        r = api("mapalyze", "GET", "/records", params={"limit": 500, "offset": offset, "format": "geojson"})
        assert r.status_code == 200
        page = r.json()
        assert page["type"] == "FeatureCollection" and page["total"] == 5000
        if not page["features"]:
            break
        seen.extend(page["features"])
        offset += 500
    assert len(seen) == 5000 and len({f["id"] for f in seen}) == 5000
    keys = [(f["properties"]["captured_at"], f["id"]) for f in seen]
    assert keys == sorted(keys)
    feat = seen[0]
    assert feat["type"] == "Feature" and feat["id"].startswith("rec_") and len(feat["id"]) == 12
    assert feat["geometry"]["type"] == "Point"
    assert list(feat["properties"])[:6] == ["form_id", "operator", "captured_at", "gps_accuracy_m", "synced", "photos"]
    with_alt = sum(1 for f in seen if len(f["geometry"]["coordinates"]) == 3)
    assert 0.2 < with_alt / 5000 < 0.4
    operators = {f["properties"]["operator"] for f in seen}
    assert "Zoë Ødegård" in operators and any("\n" in o for o in operators) and any('"' in o for o in operators)
    grid = next(f for f in seen if f["properties"]["form_id"] == "form_GridInspection")
    assert isinstance(grid["properties"]["inspection"], dict)
    assert any(f["properties"].get("tags") == [1, "a"] for f in seen)


def test_mapalyze_filters_and_validation(api):
    totals = {}
    for form in ("form_GridInspection", "form_TreeSurvey", "form_WaterPoint", "form_Incident"):
        r = api("mapalyze", "GET", "/records", params={"form_id": form, "format": "geojson", "limit": 500})
        totals[form] = r.json()["total"]
        assert all(f["properties"]["form_id"] == form for f in r.json()["features"])
    assert sum(totals.values()) == 5000

    since = "2025-12-01T00:00:00Z"
    r = api("mapalyze", "GET", "/records", params={"since": since, "format": "geojson", "limit": 500})
    body = r.json()
    assert 0 < body["total"] < 5000
    assert all(f["properties"]["captured_at"] > since for f in body["features"])
    edge = body["features"][0]["properties"]["captured_at"]
    r2 = api("mapalyze", "GET", "/records", params={"since": edge, "format": "geojson"})
    assert r2.json()["total"] < body["total"]          # strictly after

    r = api("mapalyze", "GET", "/records", params={"limit": 3})
    plain = r.json()
    assert set(plain) == {"total", "limit", "offset", "records"} and plain["limit"] == 3
    assert set(plain["records"][0]) == {"id", "form_id", "coordinates", "captured_at", "data"}
    assert "operator" in plain["records"][0]["data"]
    assert api("mapalyze", "GET", "/records").json()["limit"] == 50

    for bad in ({"limit": 501}, {"limit": 0}, {"limit": "x"}, {"offset": -1}, {"since": "yesterday"},
                {"format": "xml"}):
        r = api("mapalyze", "GET", "/records", params=bad)
        assert r.status_code == 400, bad
        assert r.json()["code"] == "validation_error" and r.json()["message"]
    r = api("mapalyze", "GET", "/records", params={"form_id": "form_Nope"})
    assert r.status_code == 404 and r.json()["code"] == "form_not_found"


def test_mapalyze_create_record_and_forms(api, srv):
    forms = api("mapalyze", "GET", "/forms").json()["forms"]
    assert {f["id"] for f in forms} == {"form_GridInspection", "form_TreeSurvey", "form_WaterPoint", "form_Incident"}
    body = {"form_id": "form_Incident", "coordinates": [-0.1278, 51.5074, 12.5],
            "data": {"category": "other", "severity": 2}, "captured_at": "2026-01-02T03:04:05Z"}
    r = api("mapalyze", "POST", "/records", json=body)
    assert r.status_code == 201
    feat = r.json()
    assert feat["geometry"]["coordinates"] == [-0.1278, 51.5074, 12.5]
    assert feat["properties"]["captured_at"] == "2026-01-02T03:04:05Z" and feat["properties"]["severity"] == 2
    r = api("mapalyze", "GET", "/records", params={"since": "2026-01-01T00:00:00Z", "format": "geojson"})
    assert [f["id"] for f in r.json()["features"]] == [feat["id"]]

    for bad in ({"coordinates": [0, 0], "data": {}}, {"form_id": "form_Incident", "coordinates": [200, 0], "data": {}},
                {"form_id": "form_Incident", "coordinates": [0, 0]},
                {"form_id": "form_Incident", "coordinates": [0, 0], "data": {}, "captured_at": "soon"}):
        r = api("mapalyze", "POST", "/records", json=bad)
        assert r.status_code == 400 and r.json()["code"] == "validation_error", bad
    r = api("mapalyze", "POST", "/records", json={"form_id": "form_X", "coordinates": [0, 0], "data": {}})
    assert r.status_code == 404 and r.json()["code"] == "form_not_found"

    added = srv.state.mapalyze.add_record("form_TreeSurvey", [10.0, 59.9], {"species": "Picea abies"})
    assert added["properties"]["species"] == "Picea abies"
    assert srv.state.mapalyze.count == 5002


def test_mapalyze_sync_exports(api):
    r = api("mapalyze", "GET", "/export/csv", params={"form_id": "form_Incident"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert r.text.splitlines()[0].startswith("id,longitude,latitude,altitude,form_id")
    r = api("mapalyze", "GET", "/export/geojson", params={"form_id": "form_Incident"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/geo+json"
    assert r.json()["type"] == "FeatureCollection"
    r = api("mapalyze", "GET", "/export/pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF-") and r.content.rstrip().endswith(b"%%EOF")


def test_mapalyze_async_export_job(api, srv):
    srv.reseed_mapalyze(10_500)
    srv.state.mapalyze.job_seconds = 0.4
    r = api("mapalyze", "GET", "/export/geojson")
    assert r.status_code == 202
    job = r.json()
    assert job["status"] == "pending" and job["job_id"].startswith("job_")
    deadline = time.time() + 5
    while True:
        status = api("mapalyze", "GET", f"/jobs/{job['job_id']}").json()
        assert 0 <= status["progress"] <= 100
        if status["status"] == "completed":
            break
        assert status["status"] in ("pending", "processing") and time.time() < deadline
        time.sleep(0.1)
    url = status["download_url"]
    assert url.startswith(srv.base_urls["mapalyze"])
    assert requests.get(url).status_code == 401
    r = requests.get(url, headers={"Authorization": f"Bearer {srv.tokens['mapalyze']}"})
    assert r.status_code == 200 and len(r.json()["features"]) == 10_500
    assert api("mapalyze", "GET", "/jobs/job_nope").json()["code"] == "job_not_found"
    srv.reseed_mapalyze(5000)


# -- Mapiry ----------------------------------------------------------------------------------------

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


# -- Mapsemble -------------------------------------------------------------------------------------

def _fc(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def _pt(lon, lat, **props):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}


def test_mapsemble_maps_and_paging(api):
    maps = {m["id"]: m for m in api("mapsemble", "GET", "/maps").json()["data"]}
    assert maps["ms_demo"]["remoteField"] == "external_id" and maps["ms_free"]["remoteField"] is None
    assert maps["ms_free"]["plan"] == "free" and maps["ms_demo"]["featureCount"] == 25
    r = api("mapsemble", "GET", "/maps/ms_demo/features", params={"page": 2, "per_page": 10}).json()
    assert r["type"] == "FeatureCollection" and r["meta"]["total"] == 25 and r["meta"]["page"] == 2
    assert len(r["features"]) == 10 and all("label" in f["properties"] and f["id"] for f in r["features"])


def test_mapsemble_upsert_by_remote_field(api, srv):
    first = api("mapsemble", "POST", "/maps/ms_demo/features",
                json=_fc(_pt(4.9, 52.37, label="New", external_id="X-1"),
                         _pt(4.91, 52.36, label="Old", external_id="EXT-0001")))
    assert first.status_code == 201
    body = first.json()
    assert body["created"] == 1 and body["updated"] == 1 and len(body["ids"]) == 2
    again = api("mapsemble", "POST", "/maps/ms_demo/features",
                json=_fc(_pt(5.0, 52.0, label="New v2", external_id="X-1")))
    assert again.json() == {"created": 0, "updated": 1, "ids": [body["ids"][0]]}
    feats = {f["id"]: f for f in srv.state.mapsemble.features("ms_demo")}
    assert len(feats) == 26 and feats[body["ids"][0]]["properties"]["label"] == "New v2"

    plain = api("mapsemble", "POST", "/maps/ms_plain/features", json=_fc(_pt(1, 1, label="a", external_id="X-1")))
    plain2 = api("mapsemble", "POST", "/maps/ms_plain/features", json=_fc(_pt(1, 1, label="a", external_id="X-1")))
    assert plain.json()["created"] == plain2.json()["created"] == 1   # no remoteField: duplicates

    r = api("mapsemble", "PATCH", "/maps/ms_demo/features",
            json=_fc({"type": "Feature", "geometry": None, "properties": {"external_id": "X-1", "rating": 5}}))
    assert r.status_code == 200 and r.json()["updated"] == 1
    feat = next(f for f in srv.state.mapsemble.features("ms_demo") if f["id"] == body["ids"][0])
    assert feat["properties"]["rating"] == 5 and feat["properties"]["label"] == "New v2"

    r = api("mapsemble", "PUT", "/maps/ms_demo/features",
            json=_fc(dict(_pt(6, 50, label="Replaced"), id=body["ids"][1]), _pt(6, 51, label="Brand new")))
    assert r.json()["created"] == 1 and r.json()["updated"] == 1

    r = api("mapsemble", "DELETE", "/maps/ms_demo/features", json={"remote_ids": ["X-1", "nope"]})
    assert r.json() == {"deleted": 1}
    r = api("mapsemble", "DELETE", "/maps/ms_demo/features", json={"ids": [body["ids"][1]]})
    assert r.json() == {"deleted": 1}
    assert len(srv.state.mapsemble.features("ms_demo")) == 25


def test_mapsemble_validation_and_limits(api, srv):
    bad = _fc(_pt(1, 1, label="ok"), _pt(200, 1, label="bad"))
    r = api("mapsemble", "POST", "/maps/ms_plain/features", json=bad)
    assert r.status_code == 422 and "features[1]" in r.json()["error"]["message"]
    assert r.json()["error"]["details"][0]["index"] == 1
    assert len(srv.state.mapsemble.features("ms_plain")) == 5
    poly = {"type": "Feature", "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}}
    assert api("mapsemble", "POST", "/maps/ms_plain/features", json=_fc(poly)).status_code == 422
    assert api("mapsemble", "POST", "/maps/ms_plain/features", json={"type": "Feature"}).status_code == 400
    too_many = _fc(*[_pt(1, 1, label=str(i)) for i in range(1001)])
    assert api("mapsemble", "POST", "/maps/ms_plain/features", json=too_many).status_code == 413

    ninety = _fc(*[_pt(2.3, 48.8, label=str(i)) for i in range(90)])
    assert api("mapsemble", "POST", "/maps/ms_free/features", json=ninety).status_code == 201
    r = api("mapsemble", "POST", "/maps/ms_free/features", json=_fc(_pt(2.3, 48.8, label="101st")))
    assert r.status_code == 403 and r.json()["error"]["code"] == "PLAN_LIMIT_EXCEEDED"
    assert len(srv.state.mapsemble.features("ms_free")) == 100


# -- Mapflow ---------------------------------------------------------------------------------------

def test_mapflow_account_and_projects(api):
    status = api("mapflow", "GET", "/user/status").json()
    assert status["billingType"] == "CREDITS" and status["remainingCredits"] == 5000
    assert status["aoiAreaLimit"] == 25_000_000 and status["maxAoisPerProcessing"] == 10
    assert {"Mapbox", "Maxar SecureWatch"} <= {p["name"] for p in status["dataProviders"]}
    default = api("mapflow", "GET", "/projects/default").json()
    names = [wd["name"] for wd in default["workflowDefs"]]
    assert names == ["🏠 Buildings", "🌲 Forest", "🚗 Roads"]
    assert all({"id", "name", "description", "blocks"} <= set(wd) for wd in default["workflowDefs"])
    project = api("mapflow", "POST", "/projects", json={"name": "P", "description": "d"}).json()
    assert api("mapflow", "PUT", f"/projects/{project['id']}", json={"name": "Q"}).json()["name"] == "Q"
    assert api("mapflow", "GET", f"/projects/{project['id']}").status_code == 200
    assert api("mapflow", "DELETE", f"/projects/{project['id']}").status_code == 200
    assert api("mapflow", "GET", f"/projects/{project['id']}").status_code == 404


def _wait_final(api, pid, timeout=5.0):
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        proc = api("mapflow", "GET", f"/processings/{pid}/v2").json()
        seen.append((proc["status"], proc["percentCompleted"]))
        if proc["status"] in ("OK", "FAILED"):
            return proc, seen
        time.sleep(0.1)
    raise AssertionError(f"processing {pid} never finished: {seen}")


def test_mapflow_processing_progresses_to_ok_with_result(api, srv):
    srv.result_features = 300
    body = {"name": "Downtown Buildings", "wdName": "🏠 Buildings", "geometry": AOI,
            "params": {"sourceParams": {"dataProvider": {"providerName": "Mapbox", "zoom": 18}}}}
    cost = api("mapflow", "POST", "/processing/cost/v2", json=body).json()
    assert isinstance(cost, (int, float)) and cost > 0
    proc = api("mapflow", "POST", "/processings/v2", json=body).json()
    assert proc["status"] == "IN_PROGRESS" and proc["cost"] == cost
    assert 300_000 < proc["aoiArea"] < 400_000
    r = api("mapflow", "GET", f"/processings/{proc['id']}/result")
    assert r.status_code == 409 and r.json()["code"] == "PROCESSING_NOT_COMPLETED"
    final, seen = _wait_final(api, proc["id"])
    assert final["status"] == "OK" and final["percentCompleted"] == 100
    progress = [p for s, p in seen if s == "IN_PROGRESS"]
    assert progress == sorted(progress) and len(progress) >= 2
    assert final["workflowDef"]["name"] == "🏠 Buildings" and final["messages"] == []

    r = api("mapflow", "GET", f"/processings/{proc['id']}/result")
    assert r.status_code == 200 and int(r.headers["Content-Length"]) == len(r.content)
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 300
    for feat in fc["features"]:
        assert feat["geometry"]["type"] == "Polygon"
        assert {"class_id", "building_height", "area"} <= set(feat["properties"])
        for lon, lat in feat["geometry"]["coordinates"][0]:
            assert 37.6156 <= lon <= 37.6256 and 55.7558 <= lat <= 55.7608
    assert any(f["properties"]["building_height"] is None for f in fc["features"])

    aois = api("mapflow", "GET", f"/processings/{proc['id']}/aois").json()
    assert len(aois) == 1 and aois[0]["geometry"]["type"] == "Polygon"
    page = api("mapflow", "POST", f"/projects/{final['projectId']}/processings/v2/page",
               json={"limit": 1, "offset": 0}).json()
    assert page["total"] == 2 and page["results"][0]["id"] == proc["id"]
    assert api("mapflow", "GET", "/user/status").json()["remainingCredits"] == 5000 - cost
    assert api("mapflow", "DELETE", f"/processings/{proc['id']}").status_code == 200
    assert api("mapflow", "GET", f"/processings/{proc['id']}/v2").status_code == 404


def test_mapflow_failed_processing(api):
    proc = api("mapflow", "POST", "/processings/v2",
               json={"name": "please fail", "wdName": "🌲 Forest", "geometry": AOI}).json()
    final, _ = _wait_final(api, proc["id"])
    assert final["status"] == "FAILED"
    assert final["messages"][0]["code"] == "source.not_available" and final["messages"][0]["parameters"]
    assert api("mapflow", "GET", f"/processings/{proc['id']}/result").status_code == 409


def test_mapflow_validation(api, srv):
    big = {"type": "Polygon", "coordinates": [[[37, 55], [37.2, 55], [37.2, 55.2], [37, 55.2], [37, 55]]]}
    r = api("mapflow", "POST", "/processings/v2", json={"name": "big", "wdName": "🏠 Buildings", "geometry": big})
    assert r.status_code == 400 and r.json()["code"] == "AOI_TOO_LARGE" and "params" in r.json()
    r = api("mapflow", "POST", "/processings/v2", json={"name": "x", "wdName": "Buildings", "geometry": AOI})
    assert r.status_code == 400 and r.json()["code"] == "WORKFLOW_NOT_FOUND"
    wd_id = api("mapflow", "GET", "/projects/default").json()["workflowDefs"][2]["id"]
    r = api("mapflow", "POST", "/processings/v2", json={"name": "roads", "wdId": wd_id, "geometry": AOI})
    assert r.status_code == 200 and r.json()["workflowDef"]["name"] == "🚗 Roads"
    r = api("mapflow", "POST", "/processings/v2",
            json={"name": "pt", "wdName": "🏠 Buildings", "geometry": {"type": "Point", "coordinates": [37, 55]}})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_GEOMETRY"
    srv.state.mapflow.remaining_credits = 0
    r = api("mapflow", "POST", "/processings/v2", json={"name": "x", "wdName": "🏠 Buildings", "geometry": AOI})
    assert r.status_code == 400 and r.json()["code"] == "NOT_ENOUGH_CREDITS"


def test_mapflow_catalog(api):
    doc_query = {"aoi": DOC_SEARCH_AOI, "acquisitionDateFrom": "2021-01-01T00:00:00Z",
                 "acquisitionDateTo": "2022-01-01T00:00:00Z", "maxCloudCover": 0.1,
                 "maxResolution": 0.31, "minResolution": 0.3}
    r = api("mapflow", "POST", "/catalog/meta", json=doc_query, scheme="Basic")
    assert r.status_code == 200
    body = r.json()
    ids = [img["id"] for img in body["images"]]
    assert "a518230a236664891bfb2d8041028a59" in ids and body["total"] == len(ids)
    for img in body["images"]:
        assert img["cloudCover"] <= 0.1 and 0.3 <= img["pixelResolution"] <= 0.31
        assert "2021" <= img["acquisitionDate"] < "2022"
    unfiltered = api("mapflow", "POST", "/catalog/meta", json={"aoi": DOC_SEARCH_AOI}).json()
    assert unfiltered["total"] > body["total"]
    paged = api("mapflow", "POST", "/catalog/meta", json={"aoi": DOC_SEARCH_AOI, "limit": 2, "offset": 1}).json()
    assert paged["images"] == unfiltered["images"][1:3]
    r = api("mapflow", "POST", "/catalog/meta", json=dict(doc_query, maxCloudCover=10))
    assert r.status_code == 400 and "maxCloudCover" in r.json()["detail"]["message"]
    far = {"type": "Polygon",
           "coordinates": [[[-150, -60], [-149.99, -60], [-149.99, -59.99], [-150, -59.99], [-150, -60]]]}
    assert api("mapflow", "POST", "/catalog/meta", json={"aoi": far}).json() == {"images": [], "total": 0}
    img = api("mapflow", "GET", "/catalog/meta/a518230a236664891bfb2d8041028a59").json()
    assert img["sensor"] == "WV03_VNIR"


def test_mapflow_mosaic_upload(api, srv):
    mosaic = api("mapflow", "POST", "/rasters/mosaic", scheme="Basic", json={"name": "m", "tags": ["a", "b"]}).json()
    assert mosaic["name"] == "m" and mosaic["tags"] == ["a", "b"] and mosaic["id"]
    tif = tiny_tiff(7, 5, big_endian=True)
    r = api("mapflow", "POST", f"/rasters/mosaic/{mosaic['id']}/image", scheme="Basic",
            files={"file": ("ortho.tif", tif, "image/tiff")})
    assert r.status_code == 200, r.text
    image = r.json()
    assert image["mosaic_id"] == mosaic["id"] and image["filename"] == "ortho.tif" and image["size"] == len(tif)
    assert image["meta_data"]["width"] == 7 and image["meta_data"]["height"] == 5
    assert api("mapflow", "GET", f"/rasters/image/{image['id']}", scheme="Basic").json() == image
    assert [i["id"] for i in api("mapflow", "GET", f"/rasters/mosaic/{mosaic['id']}/image").json()] == [image["id"]]
    assert api("mapflow", "GET", "/rasters/memory").json()["used"] == len(tif)

    r = api("mapflow", "POST", f"/rasters/mosaic/{mosaic['id']}/image", files={"file": ("x.png", b"\x89PNG....")})
    assert r.status_code == 400 and r.json()["detail"]["code"] == "INVALID_FILE"
    r = api("mapflow", "POST", f"/rasters/mosaic/{mosaic['id']}/image", json={"file": "x"})
    assert r.status_code == 400
    srv.state.mapflow.memory_limit = len(tif) + 10
    r = api("mapflow", "POST", f"/rasters/mosaic/{mosaic['id']}/image", files={"file": ("b.tif", tiny_tiff())})
    assert r.status_code == 413 and r.json()["detail"]["code"] == "STORAGE_LIMIT_EXCEEDED"

    assert api("mapflow", "PUT", f"/rasters/mosaic/{mosaic['id']}", json={"name": "n"}).json()["name"] == "n"
    assert api("mapflow", "DELETE", f"/rasters/image/{image['id']}").status_code == 200
    assert api("mapflow", "DELETE", f"/rasters/mosaic/{mosaic['id']}").status_code == 200
    assert api("mapflow", "GET", f"/rasters/mosaic/{mosaic['id']}").status_code == 404


# -- faults ----------------------------------------------------------------------------------------

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


# -- request log and control endpoints ---------------------------------------------------------------

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


# -- performance -----------------------------------------------------------------------------------

def test_big_result_streams_from_disk(api, srv):
    srv.processing_seconds = 0
    srv.result_features = 20_000
    proc = api("mapflow", "POST", "/processings/v2",
               json={"name": "many", "wdName": "🏠 Buildings", "geometry": AOI}).json()
    r = api("mapflow", "GET", f"/processings/{proc['id']}/result", stream=True)
    assert r.status_code == 200 and int(r.headers["Content-Length"]) > 1_000_000
    assert len(r.json()["features"]) == 20_000


def test_paging_is_fast(api, srv):
    srv.reseed_mapalyze(20_000)
    api("mapalyze", "GET", "/records", params={"limit": 500, "format": "geojson"})
    t0 = time.perf_counter()
    for offset in range(0, 20_000, 500):
        api("mapalyze", "GET", "/records", params={"limit": 500, "offset": offset, "format": "geojson"})
    assert (time.perf_counter() - t0) / 40 < 0.05
    srv.reseed_mapalyze(5000)


# -- standalone ---------------------------------------------------------------------------------------

def _read_startup(proc):
    lines = []
    deadline = time.time() + 20
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("export MAPBRIDGE_MAPSEMBLE_TOKEN="):
            return lines
    err = proc.stderr.read() if proc.poll() is not None else ""
    raise AssertionError(f"standalone sandbox did not start: {lines} {err}")


@pytest.mark.parametrize("module", ["sandbox", "mapbridge.sandbox"])
def test_standalone_runner(module, tmp_path):
    env = dict(os.environ)
    cwd = ROOT
    if module == "mapbridge.sandbox":
        (tmp_path / "mapbridge").symlink_to(ROOT)
        env["PYTHONPATH"] = str(tmp_path)
        cwd = tmp_path
    proc = subprocess.Popen([sys.executable, "-m", module, "--port", "0", "--records", "100"], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = _read_startup(proc)
        urls = dict(line.split(" ", 1) for line in lines[:4])
        assert list(urls) == ["mapalyze", "mapflow", "mapiry", "mapsemble"]
        assert urls["mapalyze"].startswith("http://127.0.0.1:") and urls["mapalyze"].endswith("/mapalyze/v1")
        assert "export MAPBRIDGE_MAPALYZE_URL=" + urls["mapalyze"] in lines
        r = requests.get(urls["mapalyze"] + "/records", headers={"Authorization": "Bearer sandbox-mapalyze-token"})
        assert r.json()["total"] == 100
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
