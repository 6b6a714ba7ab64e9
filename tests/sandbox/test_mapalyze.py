"""The Mapalyze emulator (sandbox/mapalyze.py): paging, filters, validation, records and forms, exports."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import pytest
import requests


def test_mapalyze_geojson_paging_covers_everything_in_order(api, srv):
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
    svc = srv.state.mapalyze
    keys = [(svc.created_at(f["id"]), f["id"]) for f in seen]
    assert keys == sorted(keys), "records come in the order they reached the server"
    lags = [svc.created_at(f["id"]) - _epoch(f["properties"]["captured_at"]) for f in seen]
    assert min(lags) > 0, "a record reaches the server after its capture"
    assert 0.02 < sum(lag > 86400 for lag in lags) / len(lags) < 0.3, "some were captured offline, days before"
    assert any(b["properties"]["captured_at"] < a["properties"]["captured_at"] for a, b in zip(seen, seen[1:]))
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


def _epoch(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_mapalyze_filters_and_validation(api, srv):
    totals = {}
    for form in ("form_GridInspection", "form_TreeSurvey", "form_WaterPoint", "form_Incident"):
        r = api("mapalyze", "GET", "/records", params={"form_id": form, "format": "geojson", "limit": 500})
        totals[form] = r.json()["total"]
        assert all(f["properties"]["form_id"] == form for f in r.json()["features"])
    assert sum(totals.values()) == 5000

    svc = srv.state.mapalyze
    since = "2025-12-01T00:00:00Z"
    r = api("mapalyze", "GET", "/records", params={"since": since, "format": "geojson", "limit": 500})
    body = r.json()
    expected = svc.created_after(_epoch(since))
    assert 0 < body["total"] == len(expected) < 5000, "since filters on the server's creation time"
    assert [f["id"] for f in body["features"]] == expected[:500]
    assert any(f["properties"]["captured_at"] < since for f in body["features"]), \
        "records captured before `since` but created after it are returned"
    edge = datetime.fromtimestamp(svc.created_at(body["features"][0]["id"]), timezone.utc).isoformat()
    r2 = api("mapalyze", "GET", "/records", params={"since": edge, "format": "geojson"})
    assert r2.json()["total"] == body["total"] - 1          # strictly after

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
    svc = srv.state.mapalyze
    assert svc.created_at(feat["id"]) == pytest.approx(time.time(), abs=5), "created now, captured in January"
    r = api("mapalyze", "GET", "/records", params={"since": _iso(time.time() - 60), "format": "geojson"})
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


def _iso(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_server_clock_updates_and_deletes(api, srv):
    """The server's own clock (Date header, creation times) may be off ours; records change and go away."""
    svc = srv.state.mapalyze
    srv.clock_offset = -3600.0
    try:
        r = api("mapalyze", "GET", "/records", params={"limit": 1, "format": "geojson"})
        server_now = parsedate_to_datetime(r.headers["Date"]).timestamp()
        assert server_now == pytest.approx(time.time() - 3600, abs=5)
        new = svc.add_record("form_Incident", [1.0, 2.0], {"severity": 1}, captured_at="2025-01-01T00:00:00Z")
        assert svc.created_at(new["id"]) == pytest.approx(server_now, abs=5)
        r = api("mapalyze", "GET", "/records", params={"since": _iso(server_now - 60), "format": "geojson"})
        assert [f["id"] for f in r.json()["features"]] == [new["id"]]
        srv.reset()
        assert srv.state.mapalyze.clock_offset == -3600.0, "the clock survives a reset"
        svc = srv.state.mapalyze
    finally:
        srv.clock_offset = 0.0
    first, second = (f["id"] for f in svc.records("form_Incident")[:2])
    created = svc.created_at(first)
    svc.update_record(first, {"severity": 5}, coordinates=[3.0, 4.0])
    assert svc.created_at(first) == created, "an update keeps the creation time"
    r = api("mapalyze", "GET", f"/records/{first}")
    assert r.json()["properties"]["severity"] == 5 and r.json()["geometry"]["coordinates"] == [3.0, 4.0]
    svc.delete_record(second)
    assert api("mapalyze", "GET", f"/records/{second}").status_code == 404
    total = api("mapalyze", "GET", "/records", params={"form_id": "form_Incident"}).json()["total"]
    assert total == len(svc.records("form_Incident")) and second not in {f["id"] for f in svc.records()}


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
