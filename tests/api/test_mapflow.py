"""The Mapflow client (api/mapflow.py): multipart uploads from disk, projects and processings, reads sent again,
an interrupted result download."""

from __future__ import annotations

import pytest

from mapbridge.api.config import ServiceConfig
from mapbridge.api.errors import CancelledError
from mapbridge.api.mapflow import MapflowClient, MultipartFile


def test_multipart_body_streams_from_disk_with_progress_and_cancel(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    seen = []
    body = MultipartFile(str(path), progress=lambda sent, total: seen.append((sent, total)))
    chunks = []
    while True:
        chunk = body.read(100_000)
        if not chunk:
            break
        chunks.append(chunk)
    data = b"".join(chunks)
    assert len(data) == len(body) and max(len(c) for c in chunks) <= 100_000
    assert data.startswith(b"--" + body.boundary.encode()) and path.read_bytes() in data
    assert seen[-1] == (len(body), len(body)) and len(seen) == len(chunks)
    body.seek(0)
    assert body.read(10) == data[:10]
    cancelled = MultipartFile(str(path), cancelled=lambda: True)
    with pytest.raises(CancelledError):
        cancelled.read(10)


def test_client_projects_processings_page_and_cost(sandbox):
    client = MapflowClient(ServiceConfig("mapflow", sandbox.base_urls["mapflow"], sandbox.tokens["mapflow"]))
    default = client.default_project()
    assert default["workflowDefs"] and default["id"] == sandbox.state.mapflow.default_project_id
    created = client.create_project("Mine", "test")
    assert client.project(created["id"])["name"] == "Mine"
    assert {p["id"] for p in client.projects()} >= {default["id"], created["id"]}
    page = client.processings_page(default["id"], limit=10)
    assert page["total"] >= 1 and page["results"][0]["status"]
    sandbox.clear_requests()
    body = {"name": "x", "wdName": "🏠 Buildings", "geometry": {"type": "Polygon", "coordinates": [[
        [37.6, 55.7], [37.61, 55.7], [37.61, 55.71], [37.6, 55.7]]]}}
    assert client.processing_cost(body) > 0
    assert sandbox.requests[-1].path == "/processing/cost/v2"
    mosaic = client.create_mosaic("m", ["t"])
    assert client.update_mosaic(mosaic["id"], name="m2")["name"] == "m2"
    client.delete_mosaic(mosaic["id"])
    assert mosaic["id"] not in sandbox.state.mapflow.mosaics


def test_read_only_posts_are_sent_again_after_a_dropped_connection(sandbox):
    client = MapflowClient(ServiceConfig("mapflow", sandbox.base_urls["mapflow"], sandbox.tokens["mapflow"]))
    project_id = sandbox.state.mapflow.default_project_id
    aoi = {"type": "Polygon", "coordinates": [[[37.34, 55.67], [37.36, 55.67], [37.36, 55.68], [37.34, 55.67]]]}
    for path, call in ((r"/catalog/meta$", lambda: client.catalog_search({"aoi": aoi, "limit": 1, "offset": 0})),
                       (r"/processings/v2/page$", lambda: client.processings_page(project_id, limit=5))):
        sandbox.clear_requests()
        sandbox.add_fault("mapflow", "drop_after", method="POST", path=path, count=1)
        assert isinstance(call(), dict)  # a search/page read is safe to send twice
        sent = [r for r in sandbox.requests if r.method == "POST"]
        assert [r.status for r in sent][:1] == [0] and len(sent) == 2, [(r.path, r.status) for r in sent]


class _CutResult:
    """A local HTTP server whose result download stops half-way (chunked or with a Content-Length)."""

    def __init__(self, chunked):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                data = b'{"type": "FeatureCollection", "features": ['
                self.send_response(200)
                self.send_header("Content-Type", "application/geo+json")
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    self.wfile.write(data)
                self.wfile.flush()
                self.close_connection = True  # the connection drops before the end of the body

            def log_message(self, *args):
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mapflow/rest"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("chunked", [True, False])
def test_an_interrupted_result_download_says_so_and_how_to_load_it_again(tmp_path, chunked):
    from mapbridge.api.errors import ServiceError

    server = _CutResult(chunked)
    try:
        client = MapflowClient(ServiceConfig("mapflow", server.url, "token"))
        with pytest.raises(ServiceError) as err:
            client.download_result("proc-42", str(tmp_path / "r.geojson"))
    finally:
        server.close()
    text = err.value.user_message()
    assert "interrupted" in text and "proc-42" in text and "Load results" in text, text
    assert "disk" not in text


def _client(sandbox):
    return MapflowClient(ServiceConfig("mapflow", sandbox.base_urls["mapflow"], sandbox.tokens["mapflow"]))


def test_managing_processings_one_request_each(sandbox):
    client = _client(sandbox)
    mapflow = sandbox.state.mapflow
    aoi = {"type": "Polygon", "coordinates": [[[37.6156, 55.7558], [37.6256, 55.7558], [37.6256, 55.7608],
                                               [37.6156, 55.7558]]]}
    created = client.create_processing({"name": "will fail", "wdName": "🏠 Buildings", "geometry": aoi})
    sandbox.clear_requests()
    assert client.rename_processing(created["id"], "Renamed")["name"] == "Renamed"
    mapflow.finish(created["id"], "FAILED")
    assert client.restart_processing(created["id"])["status"] == "IN_PROGRESS"
    mapflow.finish(created["id"], "OK")
    assert client.rate_processing(created["id"], 5, "great")["rating"] == {"rating": 5, "feedback": "great"}
    mapflow.review_enabled = True
    other = client.create_processing({"name": "review", "wdName": "🏠 Buildings", "geometry": aoi})
    mapflow.finish(other["id"], "OK")
    assert client.reject_processing(other["id"], "wrong roofs")["reviewStatus"]["reviewStatus"] == "REFUSED"
    client.delete_processing(created["id"])
    assert created["id"] not in mapflow.processings
    sent = [(r.method, r.path, r.json) for r in sandbox.requests]
    assert sent == [
        ("PUT", f"/processings/{created['id']}/v2", {"name": "Renamed"}),
        ("POST", f"/processings/{created['id']}/restart/v2", None),
        ("PUT", f"/processings/{created['id']}/rate", {"rating": 5, "feedback": "great"}),
        ("POST", "/processings/v2", sent[3][2]),
        ("PUT", f"/processings/{other['id']}/rejection",
         {"comment": "wrong roofs", "features": {"type": "FeatureCollection", "features": []}}),
        ("DELETE", f"/processings/{created['id']}", None)]


def test_page_terms_sorting_cost_as_text_and_tilejson(sandbox):
    client = _client(sandbox)
    project_id = sandbox.state.mapflow.default_project_id
    sandbox.clear_requests()
    page = client.processings_page(project_id, offset=0, terms="seed", sort_by="AREA", sort_order="ASC")
    assert page["total"] == 1 and sandbox.requests[-1].json == {"limit": 30, "offset": 0, "terms": "seed",
                                                                "sortBy": "AREA", "sortOrder": "ASC"}
    aoi = {"type": "Polygon", "coordinates": [[[37.6, 55.7], [37.61, 55.7], [37.61, 55.71], [37.6, 55.7]]]}
    cost = client.processing_cost({"name": "x", "wdName": "🏠 Buildings", "geometry": aoi})
    assert isinstance(cost, (int, float)) and cost > 0
    layer = page["results"][0]["vectorLayer"]
    assert client.tile_json(layer["tileJsonUrl"])["bounds"][0] == pytest.approx(37.6156)
    assert sandbox.requests[-1].headers["authorization"] == f"Bearer {sandbox.tokens['mapflow']}"


def test_my_imagery_calls_and_presigned_urls_without_the_token(sandbox, tmp_path):
    from mapbridge.tests.rasters import write_geotiff

    client = _client(sandbox)
    path = tmp_path / "a.tif"
    write_geotiff(path, 16, 16)
    created = client.create_mosaic_with_image("drone", str(path), ["t"])
    mosaic_id = created["id"]
    assert [m["id"] for m in client.mosaics()] == [mosaic_id]
    images = client.mosaic_images(mosaic_id)
    assert len(images) == 1 and images[0]["preview_url_s"]
    assert client.rename_image(images[0]["id"], "b.tif")["filename"] == "b.tif"
    assert sandbox.requests[-1].query == {"name": ["b.tif"]}
    assert client.picture(images[0]["preview_url_s"]).startswith(b"\x89PNG")
    link = client.image_download_link(images[0]["id"])
    out = tmp_path / "copy.tif"
    assert client.download_presigned(link["download_url"], str(out)) == path.stat().st_size
    assert out.read_bytes() == path.read_bytes()
    assert "authorization" not in sandbox.requests[-1].headers  # the sandbox refuses it there, like S3
    image = client.catalog_search({"aoi": {"type": "Polygon", "coordinates": [[
        [37.34, 55.67], [37.36, 55.67], [37.36, 55.68], [37.34, 55.67]]]}})["images"][0]
    assert client.presigned_picture(image["previewUrl"]).startswith(b"\x89PNG")
