"""The Mapflow emulator (sandbox/mapflow/): account and projects, processings to their result, catalog, mosaics."""

from __future__ import annotations

import struct
import time

AOI = {"type": "Polygon", "coordinates": [[[37.6156, 55.7558], [37.6256, 55.7558], [37.6256, 55.7608],
                                           [37.6156, 55.7608], [37.6156, 55.7558]]]}
DOC_SEARCH_AOI = {"type": "Polygon", "coordinates": [[
    [37.34396696090698, 55.6731196654679], [37.35926628112793, 55.6731196654679],
    [37.35926628112793, 55.67997991819218], [37.34396696090698, 55.67997991819218],
    [37.34396696090698, 55.6731196654679]]]}


def tiny_tiff(width=4, height=3, big_endian=False):
    """A minimal valid one-strip TIFF header + IFD."""
    e = ">" if big_endian else "<"
    entries = [(256, width), (257, height), (258, 8), (277, 1)]
    ifd = struct.pack(e + "H", len(entries))
    for tag, value in entries:
        ifd += struct.pack(e + "HHI", tag, 3, 1) + struct.pack(e + "H", value) + b"\0\0"
    ifd += struct.pack(e + "I", 0)
    return (b"MM\x00*" if big_endian else b"II*\x00") + struct.pack(e + "I", 8) + ifd + bytes(width * height)


def test_mapflow_accepts_basic_and_bearer_everywhere(api):
    for scheme in ("Basic", "Bearer"):
        assert api("mapflow", "GET", "/rasters/memory", scheme=scheme).status_code == 200
        assert api("mapflow", "GET", "/user/status", scheme=scheme).status_code == 200


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


def test_big_result_streams_from_disk(api, srv):
    srv.processing_seconds = 0
    srv.result_features = 20_000
    proc = api("mapflow", "POST", "/processings/v2",
               json={"name": "many", "wdName": "🏠 Buildings", "geometry": AOI}).json()
    r = api("mapflow", "GET", f"/processings/{proc['id']}/result", stream=True)
    assert r.status_code == 200 and int(r.headers["Content-Length"]) > 1_000_000
    assert len(r.json()["features"]) == 20_000
