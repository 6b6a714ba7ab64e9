"""mapbridge:mapflow_upload against the sandbox: a GeoTIFF to a new or existing mosaic, storage and format checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from qgis.core import QgsProcessingException, QgsRasterLayer

from mapbridge.tests.processing.mapflow_helpers import run
from mapbridge.tests.rasters import write_geotiff

pytestmark = pytest.mark.usefixtures("fresh_runs", "mapbridge_processing")  # tests/conftest.py


def make_geotiff(path, size=64, driver="GTiff"):
    """A small georeferenced RGB raster made with GDAL."""
    return write_geotiff(path, size, size, driver=driver)


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
