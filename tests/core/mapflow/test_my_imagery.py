"""My imagery (core/mapflow/my_imagery.py and upload.py): browsing, storage, checks before sending, several files."""

from __future__ import annotations

import pytest
from qgis.core import QgsProcessingFeedback as QgsFeedback

from mapbridge.api.config import ServiceConfig
from mapbridge.api.errors import MapbridgeError
from mapbridge.api.mapflow import MapflowClient
from mapbridge.core.mapflow.my_imagery import Storage, browse
from mapbridge.core.mapflow.upload import raster_facts, upload_many, upload_problems
from mapbridge.tests.rasters import write_geotiff


@pytest.fixture
def client(sandbox):
    client = MapflowClient(ServiceConfig("mapflow", sandbox.base_urls["mapflow"], sandbox.tokens["mapflow"]))
    yield client
    client.close()


def test_storage_in_words():
    storage = Storage.from_json({"memoryLimit": 5 * 1024 ** 3, "memoryUsed": 1024 ** 3, "maxPixelCount": None})
    assert storage.free == 4 * 1024 ** 3 and storage.percent_used() == 20.0 and storage.max_pixels is None
    assert storage.text() == "1.0 GB of 5.0 GB used, 4.0 GB free"
    assert Storage.from_json({"limit": 10, "used": 3, "free": 7}).free == 7


def test_checks_before_sending(tmp_path):
    rgb = raster_facts(write_geotiff(tmp_path / "rgb.tif", 40, 30))
    assert (rgb.width, rgb.height, rgb.bands, rgb.crs) == (40, 30, 3, "EPSG:4326")
    merc = raster_facts(write_geotiff(tmp_path / "merc.tif", 40, 30, bands=1, epsg=3857))
    problems = upload_problems(merc, Storage(free=10, max_file=5, max_pixels=20), None, [rgb])
    assert len(problems) == 6, problems
    assert "only 10 B of storage is left" in problems[0] and "largest upload" in problems[1]
    assert "40×30 px" in problems[2] and "EPSG:3857" in problems[3] and "1 bands" in problems[4]
    assert "pixels of 10" in problems[5]
    with pytest.raises(MapbridgeError, match="accepts GeoTIFF only"):
        raster_facts(write_geotiff(tmp_path / "x.png", 8, 8, driver="PNG"))


def test_several_files_to_a_new_mosaic_with_progress_and_refusals(client, sandbox, tmp_path):
    good = [write_geotiff(tmp_path / f"tile{i}.tif", 32, 32) for i in range(2)]
    odd = write_geotiff(tmp_path / "odd.tif", 32, 32, bands=1)
    feedback = QgsFeedback()
    progress = []
    feedback.progressChanged.connect(progress.append)
    report = upload_many(client, good + [odd], feedback, mosaic_name="Drone", tags=["a"])
    assert [name for name, _ in report.uploaded] == ["tile0.tif", "tile1.tif"] and report.mosaic_created
    assert report.refused[0][0] == "odd.tif" and "1 bands" in report.refused[0][1]
    assert progress and progress[-1] == pytest.approx(100.0) and progress == sorted(progress)
    mosaics, storage = browse(client, QgsFeedback())
    assert [m.name for m in mosaics] == ["Drone"] and len(mosaics[0].images) == 2
    image = mosaics[0].images[0]
    assert image.crs == "EPSG:4326" and image.bands == 3 and image.width == 32 and image.footprint_wkt
    assert storage.used == mosaics[0].total_size()
    posts = [r for r in sandbox.requests if r.method == "POST"]
    assert len(posts) == 2  # the refused file was never sent


def test_an_upload_without_an_answer_is_looked_for_not_sent_again(client, sandbox, tmp_path):
    files = [write_geotiff(tmp_path / f"part{i}.tif", 16, 16) for i in range(2)]
    sandbox.add_fault("mapflow", "drop_after", method="POST", path="/rasters/mosaic/mosaic$", count=1)
    sandbox.add_fault("mapflow", "drop_after", method="POST", path="/image$", count=1)
    report = upload_many(client, files, QgsFeedback(), mosaic_name="Lost answers")
    assert [name for name, _ in report.uploaded] == ["part0.tif", "part1.tif"] and not report.failed
    assert len(sandbox.state.mapflow.mosaics) == 1   # no second mosaic for the lost answer
    posts = [r for r in sandbox.requests if r.method == "POST"]
    assert [r.path.rsplit("/", 1)[-1] for r in posts] == ["mosaic", "image"]   # each sent once
    assert len(sandbox.state.mapflow.raster_images) == 2


@pytest.mark.parametrize("kind", ["reset_after", "garbage_after"])
def test_a_new_mosaic_whose_answer_is_unusable_is_found_and_the_next_file_joins_it(client, sandbox, tmp_path, kind):
    files = [write_geotiff(tmp_path / f"cut{i}.tif", 16, 16) for i in range(2)]
    sandbox.add_fault("mapflow", kind, method="POST", path="/rasters/mosaic/mosaic$", count=1)
    report = upload_many(client, files, QgsFeedback(), mosaic_name="Cut answer")
    assert [name for name, _ in report.uploaded] == ["cut0.tif", "cut1.tif"] and report.mosaic_created
    assert len(sandbox.state.mapflow.mosaics) == 1 and len(sandbox.state.mapflow.raster_images) == 2


def test_a_new_mosaic_answered_without_an_id_is_never_created_twice(client, sandbox, tmp_path):
    """A success naming no mosaic (here one that created nothing): looked for, and the batch stops."""
    files = [write_geotiff(tmp_path / f"noid{i}.tif", 16, 16) for i in range(2)]
    sandbox.add_fault("mapflow", "echo", method="POST", path="/rasters/mosaic/mosaic$", count=1)
    with pytest.raises(MapbridgeError) as info:
        upload_many(client, files, QgsFeedback(), mosaic_name="No id")
    assert "not on Mapflow" in str(info.value) and "nothing more was sent" in str(info.value)
    assert len([r for r in sandbox.requests if r.method == "POST"]) == 1
    assert not sandbox.state.mapflow.mosaics
