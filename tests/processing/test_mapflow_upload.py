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


@pytest.mark.parametrize("kind", ["drop_after", "reset_after", "garbage_after"])
def test_a_new_mosaic_and_an_upload_whose_answers_are_lost_are_found_not_sent_again(sandbox_env, tmp_path, kind):
    sandbox = sandbox_env
    path = make_geotiff(tmp_path / "lost.tif", size=16)
    sandbox.add_fault("mapflow", kind, method="POST", path="^/rasters/mosaic$", count=1)
    sandbox.add_fault("mapflow", kind, method="POST", path="/image$", count=1)
    result, feedback = run("mapbridge:mapflow_upload", {"INPUT": path, "MOSAIC_NAME": "Lost answers"})
    mapflow = sandbox.state.mapflow
    assert [m["name"] for m in mapflow.mosaics.values()] == ["Lost answers"], "no second mosaic"
    assert list(mapflow.raster_images) == [result["IMAGE_ID"]], "no second copy"
    assert result["MOSAIC_ID"] == next(iter(mapflow.mosaics))
    posts = [r.path for r in sandbox.requests if r.method == "POST"]
    assert posts == ["/rasters/mosaic", f"/rasters/mosaic/{result['MOSAIC_ID']}/image"], "each sent once"
    text = "\n".join(feedback.lines)
    assert "found on Mapflow" in text and "found in the mosaic" in text


def test_an_upload_lost_before_it_arrived_says_so_and_is_not_sent_again(sandbox_env, tmp_path):
    sandbox = sandbox_env
    mosaic = sandbox.state.mapflow._make_mosaic("existing", [])
    path = make_geotiff(tmp_path / "gone.tif", size=16)
    sandbox.add_fault("mapflow", "drop", method="POST", path="/image$", count=1)
    with pytest.raises(QgsProcessingException) as info:
        run("mapbridge:mapflow_upload", {"INPUT": path, "MOSAIC_ID": mosaic["id"]})
    assert "gone.tif" in str(info.value) and "not in mosaic" in str(info.value)
    assert len([r for r in sandbox.requests if r.method == "POST"]) == 1
    assert not sandbox.state.mapflow.raster_images
