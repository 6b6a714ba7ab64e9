"""mapbridge:mapflow_catalog and mapflow_upload, and the Mapflow client's Data API calls, against the sandbox."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy
import pytest
from osgeo import gdal, osr
from qgis.core import QgsGeometry, QgsProcessingException, QgsRasterLayer, QgsRectangle, QgsVectorLayer

from mapbridge.api.config import ServiceConfig
from mapbridge.api.errors import CancelledError
from mapbridge.api.mapflow import MapflowClient, MultipartFile

sys.path.insert(0, str(Path(__file__).parent))
from mapflow_helpers import fresh_runs, polygon_layer, run  # noqa: E402, F401

pytestmark = pytest.mark.usefixtures("mapbridge_processing")
# The Data API page's example search area (inside its example image's footprint).
DOC_AOI = QgsRectangle(37.34396696090698, 55.6731196654679, 37.35926628112793, 55.67997991819218)


def catalog_posts(sandbox):
    return [r for r in sandbox.requests if r.method == "POST" and r.path == "/catalog/meta"]


def make_geotiff(path, size=64, driver="GTiff"):
    """A small georeferenced RGB raster made with GDAL."""
    dataset = gdal.GetDriverByName("MEM").Create("", size, size, 3, gdal.GDT_Byte)
    dataset.SetGeoTransform((37.6, 0.0001, 0, 55.76, 0, -0.0001))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    dataset.SetProjection(srs.ExportToWkt())
    for band in range(1, 4):
        dataset.GetRasterBand(band).WriteArray(numpy.full((size, size), band * 40, dtype=numpy.uint8))
    out = gdal.GetDriverByName(driver).CreateCopy(str(path), dataset)
    out = None  # noqa: F841 - flush
    return str(path)


def test_catalog_sends_filters_as_the_api_wants_and_writes_footprints(sandbox_env, tmp_gpkg):
    sandbox = sandbox_env
    result, feedback = run("mapbridge:mapflow_catalog", {
        "AOI": polygon_layer([QgsGeometry.fromRect(DOC_AOI)]), "DATE_FROM": "2021-01-01", "DATE_TO": "2021-12-31",
        "MAX_CLOUD": 10, "MIN_RESOLUTION": 0.3, "MAX_RESOLUTION": 0.31, "OUTPUT": tmp_gpkg})
    request = catalog_posts(sandbox)[0]
    body = request.json
    assert body["maxCloudCover"] == pytest.approx(0.1)  # percent in, fraction out
    assert body["minResolution"] == 0.3 and body["maxResolution"] == 0.31
    assert body["acquisitionDateFrom"] == "2021-01-01T00:00:00Z"
    assert body["acquisitionDateTo"] == "2021-12-31T23:59:59Z"
    assert body["aoi"]["type"] == "Polygon"
    assert request.headers["authorization"].startswith("Basic ")
    layer = QgsVectorLayer(result["OUTPUT"], "footprints", "ogr")
    assert layer.isValid() and layer.featureCount() == result["IMAGE_COUNT"] >= 1
    ids = [f["id"] for f in layer.getFeatures()]
    assert "a518230a236664891bfb2d8041028a59" in ids  # the documented example image
    doc = next(f for f in layer.getFeatures() if f["id"] == "a518230a236664891bfb2d8041028a59")
    assert doc["sensor"] == "WV03_VNIR" and doc["pixelResolution"] == pytest.approx(0.31)
    assert doc.geometry().boundingBox().contains(DOC_AOI)
    for feature in layer.getFeatures():
        assert feature["cloudCover"] <= 0.1 and 0.3 <= feature["pixelResolution"] <= 0.31
        assert "2021-01-01" <= feature["acquisitionDate"][:10] <= "2021-12-31"


def test_catalog_without_filters_sends_none_and_bad_cloud_is_refused(sandbox_env):
    sandbox = sandbox_env
    result, _ = run("mapbridge:mapflow_catalog", {"AOI": polygon_layer([QgsGeometry.fromRect(DOC_AOI)]),
                                                  "OUTPUT": "TEMPORARY_OUTPUT"})
    body = catalog_posts(sandbox)[0].json
    assert not {"maxCloudCover", "acquisitionDateFrom", "acquisitionDateTo", "minResolution", "maxResolution"} \
        & set(body)
    assert result["IMAGE_COUNT"] >= 1
    with pytest.raises(QgsProcessingException):
        run("mapbridge:mapflow_catalog", {"AOI": polygon_layer([QgsGeometry.fromRect(DOC_AOI)]),
                                          "MAX_CLOUD": 150, "OUTPUT": "TEMPORARY_OUTPUT"})


def test_catalog_over_a_multipolygon_searches_each_polygon(sandbox_env):
    sandbox = sandbox_env
    london = QgsRectangle(-0.13, 51.49, -0.11, 51.51)
    result, feedback = run("mapbridge:mapflow_catalog", {
        "AOI": polygon_layer([QgsGeometry.fromRect(DOC_AOI), QgsGeometry.fromRect(london)]),
        "OUTPUT": "TEMPORARY_OUTPUT"})
    bodies = [r.json for r in catalog_posts(sandbox)]
    assert len(bodies) == 2 and all(b["aoi"]["type"] == "Polygon" for b in bodies)
    assert any("each is searched" in line for line in feedback.lines)
    assert result["IMAGE_COUNT"] >= 2


def test_upload_geotiff_to_a_new_mosaic_with_tags(sandbox_env, tmp_path):
    sandbox = sandbox_env
    path = make_geotiff(tmp_path / "small.tif")
    layer = QgsRasterLayer(path, "small")
    assert layer.isValid()
    result, feedback = run("mapbridge:mapflow_upload", {"INPUT": layer, "MOSAIC_NAME": "Test mosaic",
                                                        "TAGS": "drone, 2024 ,drone"})
    mapflow = sandbox.state.mapflow
    mosaic = mapflow.mosaics[result["MOSAIC_ID"]]
    assert mosaic["name"] == "Test mosaic" and mosaic["tags"] == ["drone", "2024"]
    image = mapflow.raster_images[result["IMAGE_ID"]]
    assert image["size"] == Path(path).stat().st_size and image["filename"] == "small.tif"
    assert image["meta_data"]["width"] == 64 and image["meta_data"]["count"] == 3
    paths = [(r.method, r.path) for r in sandbox.requests]
    assert paths.index(("GET", "/rasters/memory")) < paths.index(("POST", "/rasters/mosaic"))
    upload = next(r for r in sandbox.requests if r.path.endswith("/image") and r.method == "POST")
    assert upload.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert int(upload.headers["content-length"]) > image["size"]
    assert upload.headers["authorization"].startswith("Basic ")
    assert any("storage left" in line for line in feedback.lines)
    assert feedback.progress_values and feedback.progress_values[-1] == 100  # upload progress


def test_upload_to_an_existing_mosaic(sandbox_env, tmp_path):
    sandbox = sandbox_env
    mosaic = sandbox.state.mapflow._make_mosaic("existing", ["a"])
    path = make_geotiff(tmp_path / "two.tif", size=16)
    result, _ = run("mapbridge:mapflow_upload", {"INPUT": path, "MOSAIC_ID": mosaic["id"]})
    assert result["MOSAIC_ID"] == mosaic["id"]
    assert sandbox.state.mapflow.raster_images[result["IMAGE_ID"]]["mosaic_id"] == mosaic["id"]
    assert not [r for r in sandbox.requests if r.method == "POST" and r.path == "/rasters/mosaic"]


def test_upload_refused_when_storage_is_short_or_file_is_not_geotiff(sandbox_env, tmp_path):
    sandbox = sandbox_env
    path = make_geotiff(tmp_path / "big.tif")
    sandbox.state.mapflow.memory_limit = 1000
    with pytest.raises(QgsProcessingException, match="storage is left; nothing was uploaded"):
        run("mapbridge:mapflow_upload", {"INPUT": path, "MOSAIC_NAME": "nope"})
    assert not [r for r in sandbox.requests if r.method == "POST"]
    png = make_geotiff(tmp_path / "image.png", driver="PNG")
    with pytest.raises(QgsProcessingException, match="accepts GeoTIFF only"):
        run("mapbridge:mapflow_upload", {"INPUT": png, "MOSAIC_NAME": "nope"})
    with pytest.raises(QgsProcessingException, match="MOSAIC_ID .* or MOSAIC_NAME"):
        run("mapbridge:mapflow_upload", {"INPUT": path})


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
