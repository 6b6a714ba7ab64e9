"""The Mapflow emulator (sandbox/mapflow/): account and projects, processings to their result, catalog, mosaics."""

from __future__ import annotations

import struct
import time

from mapbridge.tests.rasters import geotiff_bytes

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


def geotiff(width, height, bands=3, epsg=4326):
    """The bytes of a small georeferenced GeoTIFF."""
    return geotiff_bytes(width, height, bands, epsg)


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
    assert final["messages"][0]["code"] == "source-validator.SourceNotAvailable" and final["messages"][0]["parameters"]
    assert api("mapflow", "GET", f"/processings/{proc['id']}/result").status_code == 409


def test_mapflow_validation(api, srv):
    big = {"type": "Polygon", "coordinates": [[[37, 55], [37.2, 55], [37.2, 55.2], [37, 55.2], [37, 55]]]}
    r = api("mapflow", "POST", "/processings/v2", json={"name": "big", "wdName": "🏠 Buildings", "geometry": big})
    assert r.status_code == 400 and r.json()["code"] == "TOO_LARGE_PROCESSING"
    assert r.json()["params"]["aoiAreaLimit"] == 25_000_000 and r.json()["params"]["area"] > 25_000_000
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
    assert api("mapflow", "POST", "/catalog/meta", json={"aoi": far}).json() == {
        "images": [], "total": 0, "limit": 100, "offset": 0}
    img = api("mapflow", "GET", "/catalog/meta/a518230a236664891bfb2d8041028a59").json()
    assert img["sensor"] == "WV03_VNIR" and img["providerName"] == "Maxar"


def test_mapflow_mosaic_upload(api, srv):
    mosaic = api("mapflow", "POST", "/rasters/mosaic", scheme="Basic", json={"name": "m", "tags": ["a", "b"]}).json()
    assert mosaic["name"] == "m" and mosaic["tags"] == ["a", "b"] and mosaic["id"]
    tif = geotiff(7, 5)
    r = api("mapflow", "POST", f"/rasters/mosaic/{mosaic['id']}/image", scheme="Basic",
            files={"file": ("ortho.tif", tif, "image/tiff")})
    assert r.status_code == 200, r.text
    image = r.json()
    assert image["mosaic_id"] == mosaic["id"] and image["filename"] == "ortho.tif" and image["file_size"] == len(tif)
    assert image["meta_data"]["width"] == 7 and image["meta_data"]["height"] == 5
    assert image["meta_data"]["crs"] == "EPSG:4326" and image["meta_data"]["count"] == 3
    assert image["footprint"].startswith("POLYGON((37.6") and image["preview_url_s"].endswith("/preview/s")
    assert api("mapflow", "GET", f"/rasters/image/{image['id']}", scheme="Basic").json() == image
    assert [i["id"] for i in api("mapflow", "GET", f"/rasters/mosaic/{mosaic['id']}/image").json()] == [image["id"]]
    memory = api("mapflow", "GET", "/rasters/memory").json()
    assert memory["memoryUsed"] == len(tif) and memory["memoryFree"] == memory["memoryLimit"] - len(tif)
    assert memory["maxPixelCount"] and memory["maxUploadFileSize"]

    r = api("mapflow", "POST", f"/rasters/mosaic/{mosaic['id']}/image", files={"file": ("x.png", b"\x89PNG....")})
    assert r.status_code == 400 and r.json()["detail"]["code"] == "FileValidationFailed"
    r = api("mapflow", "POST", f"/rasters/mosaic/{mosaic['id']}/image", files={"file": ("t.tif", tiny_tiff())})
    assert r.status_code == 400 and r.json()["detail"]["code"] == "FileValidationFailed"  # no georeference
    r = api("mapflow", "POST", f"/rasters/mosaic/{mosaic['id']}/image", files={"file": ("b.tif", geotiff(7, 5, 1))})
    assert r.status_code == 400 and r.json()["detail"]["code"] == "FileValidationFailed"  # 1 band, mosaic has 3
    assert r.json()["detail"]["parameters"]["count"] == 3
    r = api("mapflow", "POST", f"/rasters/mosaic/{mosaic['id']}/image", json={"file": "x"})
    assert r.status_code == 400
    srv.state.mapflow.max_pixel_count = 6
    r = api("mapflow", "POST", f"/rasters/mosaic/{mosaic['id']}/image", files={"file": ("b.tif", geotiff(7, 5))})
    assert r.status_code == 400 and r.json()["detail"]["code"] == "ImageExtentTooBig"
    srv.state.mapflow.max_upload_file_size = 100
    r = api("mapflow", "POST", f"/rasters/mosaic/{mosaic['id']}/image", files={"file": ("b.tif", geotiff(4, 4))})
    assert r.status_code == 400 and r.json()["detail"]["code"] == "FileTooBig"
    srv.state.mapflow.max_upload_file_size = None
    srv.state.mapflow.memory_limit = len(tif) + 10
    r = api("mapflow", "POST", f"/rasters/mosaic/{mosaic['id']}/image", files={"file": ("b.tif", geotiff(4, 4))})
    assert r.status_code == 413 and r.json()["detail"]["code"] == "MemoryLimitExceeded"

    assert api("mapflow", "PUT", f"/rasters/mosaic/{mosaic['id']}", json={"name": "n"}).json()["name"] == "n"
    listed = api("mapflow", "GET", "/rasters/mosaic").json()
    assert listed[0]["sizeInBytes"] == len(tif) and listed[0]["footprint"].startswith("POLYGON")
    assert listed[0]["rasterLayer"]["tileUrl"].endswith("/{z}/{x}/{y}.png")
    assert api("mapflow", "PUT", f"/rasters/image/{image['id']}", params={"name": "renamed.tif"}).json()[
        "filename"] == "renamed.tif"
    assert api("mapflow", "DELETE", f"/rasters/image/{image['id']}").status_code == 200
    assert api("mapflow", "DELETE", f"/rasters/mosaic/{mosaic['id']}").status_code == 200
    assert api("mapflow", "GET", f"/rasters/mosaic/{mosaic['id']}").status_code == 404


def test_image_download_and_previews(api, srv):
    mosaic = api("mapflow", "POST", "/rasters/mosaic", json={"name": "m"}).json()
    tif = geotiff(8, 8, epsg=3857)
    image = api("mapflow", "POST", f"/rasters/mosaic/{mosaic['id']}/image",
                files={"file": ("merc.tif", tif)}).json()
    assert image["meta_data"]["crs"] == "EPSG:3857" and image["footprint"].startswith("POLYGON((")
    link = api("mapflow", "GET", f"/rasters/image/{image['id']}/download").json()
    assert link["filename"] == "merc.tif" and link["expires_in"] > 0
    assert api.session.get(link["download_url"], timeout=10).content == tif  # pre-signed: no token
    with_token = api.session.get(link["download_url"], headers={"Authorization": "Basic x"}, timeout=10)
    assert with_token.status_code == 400  # like S3: a pre-signed URL refuses a second auth mechanism
    assert api.session.get(link["download_url"].replace("signature=", "signature=0"), timeout=10).status_code == 403
    preview = api("mapflow", "GET", f"/rasters/image/{image['id']}/preview/s")
    assert preview.status_code == 200 and preview.content.startswith(b"\x89PNG")
    assert api("mapflow", "GET", f"/rasters/image/{image['id']}/preview/s", auth=False).status_code == 401


def test_big_result_streams_from_disk(api, srv):
    srv.processing_seconds = 0
    srv.result_features = 20_000
    proc = api("mapflow", "POST", "/processings/v2",
               json={"name": "many", "wdName": "🏠 Buildings", "geometry": AOI}).json()
    r = api("mapflow", "GET", f"/processings/{proc['id']}/result", stream=True)
    assert r.status_code == 200 and int(r.headers["Content-Length"]) > 1_000_000
    assert len(r.json()["features"]) == 20_000


def _create(api, name="p", **extra):
    body = {"name": name, "wdName": "🏠 Buildings", "geometry": AOI}
    body.update(extra)
    r = api("mapflow", "POST", "/processings/v2", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_rename_restart_rate_and_delete(api, srv):
    proc = _create(api, "please fail")
    renamed = api("mapflow", "PUT", f"/processings/{proc['id']}/v2", json={"name": "Renamed"}).json()
    assert renamed["name"] == "Renamed"
    assert api("mapflow", "PUT", f"/processings/{proc['id']}/v2", json={"name": " "}).status_code == 400
    r = api("mapflow", "POST", f"/processings/{proc['id']}/restart/v2")
    assert r.status_code == 400 and r.json()["code"] == "PROCESSING_CANNOT_BE_RESTARTED"  # still running
    srv.state.mapflow.finish(proc["id"], "FAILED")
    r = api("mapflow", "PUT", f"/processings/{proc['id']}/rate", json={"rating": 4, "feedback": "ok"})
    assert r.status_code == 400  # only OK processings are rated
    restarted = api("mapflow", "POST", f"/processings/{proc['id']}/restart/v2").json()
    assert restarted["status"] == "IN_PROGRESS" and restarted["messages"] == []
    final, _ = _wait_final(api, proc["id"])
    assert final["status"] == "OK"
    assert api("mapflow", "PUT", f"/processings/{proc['id']}/rate", json={"rating": 6}).status_code == 400
    rated = api("mapflow", "PUT", f"/processings/{proc['id']}/rate", json={"rating": 4, "feedback": "good"}).json()
    assert rated["rating"] == {"rating": 4, "feedback": "good"}
    assert api("mapflow", "PUT", f"/processings/{proc['id']}/acceptation").status_code == 400  # no review
    assert api("mapflow", "DELETE", f"/processings/{proc['id']}").status_code == 200
    assert api("mapflow", "DELETE", f"/processings/{proc['id']}").status_code == 404


def test_review_accept_and_reject(api, srv):
    srv.state.mapflow.review_enabled = True
    assert api("mapflow", "GET", "/user/status").json()["reviewWorkflowEnabled"] is True
    first, second = _create(api, "a"), _create(api, "b")
    for proc in (first, second):
        srv.state.mapflow.finish(proc["id"])
    assert api("mapflow", "GET", f"/processings/{first['id']}/v2").json()["reviewStatus"] == {
        "reviewStatus": "IN_REVIEW"}
    accepted = api("mapflow", "PUT", f"/processings/{first['id']}/acceptation").json()
    assert accepted["reviewStatus"]["reviewStatus"] == "ACCEPTED"
    r = api("mapflow", "PUT", f"/processings/{second['id']}/rejection", json={"comment": "bad"})
    assert r.status_code == 400
    rejected = api("mapflow", "PUT", f"/processings/{second['id']}/rejection",
                   json={"comment": "bad", "features": {"type": "FeatureCollection", "features": []}}).json()
    assert rejected["reviewStatus"] == {"reviewStatus": "REFUSED", "comment": "bad"}


def test_processings_page_terms_sorting_and_count(api, srv):
    project = api("mapflow", "GET", "/projects/default").json()["id"]
    for index in range(35):
        aoi = {"type": "Polygon", "coordinates": [[[37.6, 55.75], [37.6 + 0.001 * (index % 7 + 1), 55.75],
                                                   [37.6 + 0.001 * (index % 7 + 1), 55.752], [37.6, 55.75]]]}
        api("mapflow", "POST", "/processings/v2",
            json={"name": f"Area {index}", "wdName": "🏠 Buildings", "geometry": aoi})
    page = api("mapflow", "POST", f"/projects/{project}/processings/v2/page", json={"limit": 30, "offset": 0}).json()
    assert page["total"] == 36 and page["count"] == 30 and page["results"][0]["name"] == "Area 34"
    rest = api("mapflow", "POST", f"/projects/{project}/processings/v2/page", json={"limit": 30, "offset": 30}).json()
    assert rest["count"] == 6 and not {p["id"] for p in rest["results"]} & {p["id"] for p in page["results"]}
    found = api("mapflow", "POST", f"/projects/{project}/processings/v2/page",
                json={"limit": 30, "offset": 0, "terms": "area 1"}).json()
    assert found["total"] == 11 and all(p["name"].startswith("Area 1") for p in found["results"])
    by_area = api("mapflow", "POST", f"/projects/{project}/processings/v2/page",
                  json={"limit": 36, "offset": 0, "sortBy": "AREA", "sortOrder": "ASC"}).json()["results"]
    areas = [p["aoiArea"] for p in by_area]
    assert areas == sorted(areas) and areas[0] < areas[-1]
    assert api("mapflow", "POST", f"/projects/{project}/processings/v2/page",
               json={"limit": 5, "sortBy": "SIZE"}).status_code == 400
    assert page["results"][0]["vectorLayer"]["tileJsonUrl"].endswith("/tile.json")


def test_model_blocks_and_sources_set_the_cost(api, srv):
    big = {"type": "Polygon", "coordinates": [[[37.6, 55.75], [37.64, 55.75], [37.64, 55.77], [37.6, 55.77],
                                               [37.6, 55.75]]]}  # about 5.6 km²

    def cost(**extra):
        body = {"name": "c", "wdName": "🏠 Buildings", "geometry": big}
        body.update(extra)
        r = api("mapflow", "POST", "/processing/cost/v2", json=body)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/plain")
        return int(r.text)

    mapbox = {"params": {"sourceParams": {"dataProvider": {"providerName": "Mapbox", "zoom": 18}}}}
    full = cost(**mapbox)
    bare = cost(blocks=[{"name": "Classification", "enabled": False}, {"name": "Heights", "enabled": False}], **mapbox)
    assert full > bare and full == cost(blocks=[{"name": "Classification", "enabled": True},
                                                {"name": "Heights", "enabled": True}], **mapbox)
    r = api("mapflow", "POST", "/processing/cost/v2", json={"name": "c", "wdName": "🏠 Buildings", "geometry": AOI,
                                                             "blocks": [{"name": "Buildings", "enabled": False}]})
    assert r.status_code == 400  # not an optional block
    maxar17 = cost(params={"sourceParams": {"dataProvider": {"providerName": "Maxar SecureWatch", "zoom": 17}}})
    maxar18 = cost(params={"sourceParams": {"dataProvider": {"providerName": "Maxar SecureWatch", "zoom": 18}}})
    assert maxar18 > maxar17 > full
    r = api("mapflow", "POST", "/processing/cost/v2", json={
        "name": "c", "wdName": "🏠 Buildings", "geometry": AOI,
        "params": {"sourceParams": {"dataProvider": {"providerName": "Mapbox", "zoom": 15}}}})
    assert r.status_code == 400 and "Zoom 15" in r.json()["message"]
    r = api("mapflow", "POST", "/processings/v2", json={
        "name": "s2", "wdName": "🏠 Buildings", "geometry": AOI,
        "params": {"sourceParams": {"dataProvider": {"providerName": "Sentinel-2"}}}})
    assert r.status_code == 400 and r.json()["code"] == "ProviderMinAreaError"
    assert r.json()["params"] == {"aoiArea": r.json()["params"]["aoiArea"], "providerName": "Sentinel-2",
                                  "providerMinArea": 1.0}
    user = cost(params={"sourceParams": {"userDefined": {"sourceType": "XYZ", "crs": "epsg:3857",
                                                         "url": "https://tiles.example.com/{z}/{x}/{y}.png"}}})
    assert user < full
    r = api("mapflow", "POST", "/processing/cost/v2", json={
        "name": "c", "wdName": "🏠 Buildings", "geometry": AOI,
        "params": {"sourceParams": {"userDefined": {"sourceType": "QUADKEY", "url": "https://x/{z}/{x}/{y}"}}}})
    assert r.status_code == 400
    mosaic = api("mapflow", "POST", "/rasters/mosaic", json={"name": "m"}).json()
    assert cost(params={"sourceParams": {"myImagery": {"mosaicId": mosaic["id"]}}}) == user
    r = api("mapflow", "POST", "/processing/cost/v2", json={
        "name": "c", "wdName": "🏠 Buildings", "geometry": AOI,
        "params": {"sourceParams": {"myImagery": {"mosaicId": "nope"}}}})
    assert r.status_code == 400
    created = _create(api, "with options", blocks=[{"name": "Classification", "enabled": False},
                                                   {"name": "Heights", "enabled": True}])
    assert [(b["name"], b["enabled"]) for b in created["blocks"]] == [
        ("Buildings", True), ("Classification", False), ("Heights", True)]


def test_catalog_extras_filters_sort_and_preview(api, srv):
    area = {"type": "Polygon", "coordinates": [[[37.60, 55.73], [37.66, 55.73], [37.66, 55.77], [37.60, 55.77],
                                                [37.60, 55.73]]]}
    everything = api("mapflow", "POST", "/catalog/meta", json={"aoi": area}).json()
    images = everything["images"]
    assert len(images) > 5 and everything["limit"] == 100 and everything["offset"] == 0
    assert {"providerName", "satId", "zoom", "previewType", "previewUrl", "aoiIntersectionPercent"} <= set(images[0])
    assert {i["providerName"] for i in images} <= {"Maxar", "Airbus"}
    maxar = api("mapflow", "POST", "/catalog/meta", json={"aoi": area, "dataProviders": ["Maxar"]}).json()
    assert maxar["images"] and all(i["providerName"] == "Maxar" for i in maxar["images"])
    mosaics = api("mapflow", "POST", "/catalog/meta", json={"aoi": area, "productTypes": ["MOSAIC"]}).json()
    assert mosaics["images"] and all(i["productType"].upper() == "MOSAIC" for i in mosaics["images"])
    assert api("mapflow", "POST", "/catalog/meta", json={"aoi": area, "dataProviders": []}).status_code == 400
    clouds = api("mapflow", "POST", "/catalog/meta", json={"aoi": area, "sortBy": "CLOUD_COVER",
                                                            "sortOrder": "ASC"}).json()["images"]
    assert [i["cloudCover"] for i in clouds] == sorted(i["cloudCover"] for i in clouds)
    png_image = next(i for i in images if i["previewType"] == "png")
    assert api.session.get(png_image["previewUrl"], timeout=10).content.startswith(b"\x89PNG")
    assert api.session.get(png_image["previewUrl"], headers={"Authorization": "Basic t"}, timeout=10).status_code \
        == 400


def test_tiles_are_public_and_tilejson_needs_the_token(api, srv):
    proc = _create(api, "tiles")
    layers = api("mapflow", "GET", f"/processings/{proc['id']}/v2").json()
    tile_json_url = layers["vectorLayer"]["tileJsonUrl"]
    assert api.session.get(tile_json_url, timeout=10).status_code == 401
    tile_json = api.session.get(tile_json_url, headers={"Authorization": f"Bearer {srv.tokens['mapflow']}"},
                                timeout=10).json()
    assert tile_json["bounds"] == [37.6156, 55.7558, 37.6256, 55.7608]
    raster = layers["rasterLayer"]["tileUrl"].format(z=15, x=19805, y=10244)
    assert api.session.get(raster, timeout=10).content.startswith(b"\x89PNG")
    vector = api.session.get(layers["vectorLayer"]["tileUrl"].format(z=15, x=19805, y=10244), timeout=10)
    assert vector.status_code == 200


def test_mixed_results_have_polygons_lines_points_and_object_properties(api, srv):
    srv.result_features = 30
    proc = _create(api, "mixed things")
    srv.state.mapflow.finish(proc["id"])
    features = api("mapflow", "GET", f"/processings/{proc['id']}/result").json()["features"]
    assert {f["geometry"]["type"] for f in features} == {"Polygon", "LineString", "Point"}
    assert all(isinstance(f["properties"]["bbox"], dict) for f in features)


def test_mapflow_area_billing_spends_processing_area_not_credits(api, srv):
    mapflow = srv.state.mapflow
    mapflow.billing_type = "AREA"
    status = api("mapflow", "GET", "/user/status").json()
    assert status["billingType"] == "AREA" and status["remainingArea"] == 100_000_000
    r = api("mapflow", "POST", "/processings/v2", json={"name": "by area", "wdName": "🏠 Buildings", "geometry": AOI})
    assert r.status_code == 200
    area = r.json()["aoiArea"]
    assert 0 < area and mapflow.remaining_area == 100_000_000 - area and mapflow.remaining_credits == 5000
    mapflow.remaining_area = area - 1
    r = api("mapflow", "POST", "/processings/v2", json={"name": "too big", "wdName": "🏠 Buildings", "geometry": AOI})
    assert r.status_code == 400 and r.json()["code"] == "NOT_ENOUGH_AREA"
