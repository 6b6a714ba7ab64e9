"""The Mapalyze emulator (sandbox/mapalyze.py): paging, filters, validation, records and forms, exports."""

from __future__ import annotations

import time

import requests


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


def test_paging_is_fast(api, srv):
    srv.reseed_mapalyze(20_000)
    api("mapalyze", "GET", "/records", params={"limit": 500, "format": "geojson"})
    t0 = time.perf_counter()
    for offset in range(0, 20_000, 500):
        api("mapalyze", "GET", "/records", params={"limit": 500, "offset": offset, "format": "geojson"})
    assert (time.perf_counter() - t0) / 40 < 0.05
    srv.reseed_mapalyze(5000)
