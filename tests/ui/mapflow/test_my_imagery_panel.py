"""My imagery (ui/mapflow/my_imagery_panel.py) in the tab against the sandbox: mosaics and images browsed, created,
renamed and deleted, uploads checked first and followed, the storage bar, previews and tiles, and processing a mosaic
or images."""

from __future__ import annotations

import pytest
from qgis.core import QgsProject, QgsRasterLayer

from mapbridge.core.mapflow.sources import MY_IMAGERY
from mapbridge.tests.rasters import write_geotiff
from mapbridge.tests.ui.mapflow.conftest import MOSCOW, requests_to, start_processing, wait_until
from mapbridge.ui.mapflow.imagery_page import MY_IMAGERY as MY_IMAGERY_PART
from mapbridge.ui.mapflow.my_imagery_panel import IMAGE, MOSAIC
from mapbridge.ui.mapflow.tab import IMAGERY, NEW


def open_my_imagery(tab):
    tab.pages.setCurrentIndex(IMAGERY)
    tab.imagery_page.show_part(MY_IMAGERY_PART)
    panel = tab.imagery_page.my_imagery
    assert wait_until(lambda: panel.storage is not None, 10), panel.status.text()
    return panel


def settle(panel):
    """Wait for the panel's calls (and the refresh they end with) to finish."""
    assert wait_until(lambda: not panel.runner.busy, 20), panel.status.text()


def test_create_upload_with_checks_and_progress_rename_and_delete(tab, sandbox_env, tmp_path):
    sandbox = sandbox_env
    panel, fake = open_my_imagery(tab), tab.fake
    assert panel.storage_bar.format() == "0 B of 5.0 GB used, 5.0 GB free"
    fake.answers["text"] = "Drone survey"
    panel.new_button.click()
    settle(panel)
    assert [m.name for m in panel.mosaics] == ["Drone survey"]
    mosaic = panel.mosaics[0]
    files = [write_geotiff(tmp_path / f"tile{n}.tif", 64, 64) for n in range(2)]
    odd = write_geotiff(tmp_path / "one_band.tif", 64, 64, bands=1)
    fake.answers["files"] = files + [odd]
    assert panel.select(MOSAIC, mosaic.id)
    values = []
    panel.progress.valueChanged.connect(values.append)
    panel.upload_button.click()
    settle(panel)
    assert values and values[-1] == 100
    assert "2 file(s) uploaded" in panel.status.text() and "one_band.tif has 1 bands" in panel.status.text()
    uploads = requests_to(sandbox, "POST", f"/rasters/mosaic/{mosaic.id}/image")
    assert len(uploads) == 2   # the odd file was refused here, before anything was sent
    mosaic = panel.mosaics[0]
    assert sorted(i.name for i in mosaic.images) == ["tile0.tif", "tile1.tif"]
    assert panel.storage_bar.format().startswith(f"{mosaic.images[0].size * 2 / 1024:.1f} kB of 5.0 GB used")
    item = panel.tree.topLevelItem(0).child(0)
    assert "EPSG:4326" in item.toolTip(0) and "3 bands" in item.toolTip(0) and "64×64 px" in item.toolTip(0)

    sandbox.state.mapflow.max_pixel_count = 32
    fake.answers["files"] = [write_geotiff(tmp_path / "big.tif", 64, 64)]
    panel.select(MOSAIC, mosaic.id)
    panel.upload_button.click()
    settle(panel)
    assert "64×64 px; at most 32 px a side" in panel.status.text()
    assert len(requests_to(sandbox, "POST", "/image")) == 2

    fake.answers["text"] = "Renamed survey"
    panel.select(MOSAIC, mosaic.id)
    panel.rename_button.click()
    settle(panel)
    image = panel.mosaics[0].images[0]
    fake.answers["text"] = "north.tif"
    panel.select(IMAGE, image.id)
    panel.rename_button.click()
    settle(panel)
    assert panel.mosaics[0].name == "Renamed survey" and "north.tif" in [i.name for i in panel.mosaics[0].images]
    fake.answers["yes_no"] = False
    panel.select(IMAGE, image.id)
    panel.delete_button.click()
    assert "Delete 1 image(s) (north.tif)" in fake.asked[-1][2]
    assert image.id in sandbox.state.mapflow.raster_images
    fake.answers["yes_no"] = True
    panel.delete_button.click()
    settle(panel)
    assert image.id not in sandbox.state.mapflow.raster_images and len(panel.mosaics[0].images) == 1
    panel.select(MOSAIC, mosaic.id)
    panel.delete_button.click()
    settle(panel)
    assert panel.mosaics == [] and not sandbox.state.mapflow.mosaics


def test_upload_into_a_new_mosaic_when_none_is_chosen(tab, sandbox_env, tmp_path):
    sandbox = sandbox_env
    panel, fake = open_my_imagery(tab), tab.fake
    fake.answers["files"] = [write_geotiff(tmp_path / "ortho.tif", 32, 32, epsg=3857)]
    fake.answers["text"] = "Ortho"
    panel.upload_button.click()
    settle(panel)
    assert [m.name for m in panel.mosaics] == ["Ortho"] and panel.mosaics[0].images[0].crs == "EPSG:3857"
    assert requests_to(sandbox, "POST", "/rasters/mosaic/mosaic")[0].query["name"] == ["Ortho"]


def test_preview_tiles_and_processing_my_imagery(tab, sandbox_env, canvas, tmp_path):
    sandbox = sandbox_env
    panel, fake = open_my_imagery(tab), tab.fake
    fake.answers["files"] = [write_geotiff(tmp_path / "area.tif", 128, 64)]
    fake.answers["text"] = "Area"
    panel.upload_button.click()
    settle(panel)
    mosaic = panel.mosaics[0]
    image = mosaic.images[0]
    panel.select(IMAGE, image.id)
    panel.preview_button.click()
    project = QgsProject.instance()
    assert wait_until(lambda: project.mapLayersByName("Preview of area.tif"), 15), panel.status.text()
    preview = project.mapLayersByName("Preview of area.tif")[0]
    extent = preview.extent()
    assert isinstance(preview, QgsRasterLayer) and preview.crs().authid() == "EPSG:4326"
    assert extent.xMinimum() == pytest.approx(37.6, abs=1e-4) and extent.xMaximum() == pytest.approx(37.6128, abs=1e-4)
    assert extent.yMaximum() == pytest.approx(55.76, abs=1e-4) and extent.yMinimum() == pytest.approx(55.7536, abs=1e-4)
    assert requests_to(sandbox, "GET", f"/rasters/image/{image.id}/preview/l")[0].headers["authorization"]

    panel.select(MOSAIC, mosaic.id)
    panel.tiles_button.click()
    assert wait_until(lambda: project.mapLayersByName("Area (tiles)"), 10)
    tiles = project.mapLayersByName("Area (tiles)")[0]
    assert tiles.providerType() == "wms" and "tiles/raster/" + mosaic.id in tiles.source()
    assert not tiles.extent().isEmpty()

    panel.select(MOSAIC, mosaic.id)
    panel.process_button.click()
    source_panel = tab.new_page.source_panel
    assert tab.pages.currentIndex() == NEW and source_panel.kind() == MY_IMAGERY
    assert source_panel.my_imagery_label.text() == "My imagery: mosaic 'Area'"
    start_processing(tab, canvas, "On my mosaic", MOSCOW)
    body = requests_to(sandbox, "POST", "/processings/v2")[-1].json
    assert body["params"]["sourceParams"] == {"myImagery": {"mosaicId": mosaic.id}}
    tab.pages.setCurrentIndex(IMAGERY)
    panel.select(IMAGE, image.id)
    panel.process_button.click()
    assert source_panel.my_imagery_label.text() == "My imagery: area.tif"
    start_processing(tab, canvas, "On my image", MOSCOW)
    body = requests_to(sandbox, "POST", "/processings/v2")[-1].json
    assert body["params"]["sourceParams"] == {"myImagery": {"imageIds": [image.id]}}
