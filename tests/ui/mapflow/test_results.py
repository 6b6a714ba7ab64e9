"""Results into the project (ui/mapflow/results.py) from the Processings page: double-click loads, a second load
selects instead of duplicating, tiles without downloading, one layer per geometry type."""

from __future__ import annotations

from qgis.core import (
    QgsProject,
    QgsRasterLayer,
    QgsRuleBasedRenderer,
    QgsVectorLayer,
    QgsVectorTileLayer,
    QgsWkbTypes,
)

from mapbridge.core.mapflow.project_layers import PROCESSING_PROPERTY
from mapbridge.tests.ui.mapflow.conftest import finished_processing, requests_to, select_row, show_processings, \
    wait_until


def double_click(tab, processing_id):
    page = tab.processings_page
    select_row(tab, processing_id)
    number = next(i for i, r in enumerate(page.model.rows) if r["id"] == processing_id)
    page.table.doubleClicked.emit(page.model.index(number, 0))


def test_double_click_loads_and_a_second_load_selects_the_layer(tab, sandbox_env, qgis_iface):
    sandbox = sandbox_env
    done = finished_processing(sandbox, "Twice")
    show_processings(tab)
    double_click(tab, done)
    project = QgsProject.instance()
    assert wait_until(lambda: project.mapLayersByName("Twice"), 20), tab.processings_page.status_label.text()
    layer = project.mapLayersByName("Twice")[0]
    assert layer.featureCount() == 50 and isinstance(layer.renderer(), QgsRuleBasedRenderer)
    assert layer.customProperty(PROCESSING_PROPERTY) == done
    downloads = len(requests_to(sandbox, "GET", f"/processings/{done}/result"))
    other = QgsVectorLayer("Point?crs=EPSG:4326", "other", "memory")
    project.addMapLayer(other)
    qgis_iface.setActiveLayer(other)
    tab.processings_page.load_button.click()
    assert wait_until(lambda: "already in the project" in tab.processings_page.status_label.text(), 5)
    assert len(project.mapLayersByName("Twice")) == 1 and qgis_iface.activeLayer() is layer
    assert len(requests_to(sandbox, "GET", f"/processings/{done}/result")) == downloads == 1


def test_view_as_tiles_downloads_nothing(tab, sandbox_env):
    sandbox = sandbox_env
    done = finished_processing(sandbox, "Tiled")
    show_processings(tab)
    select_row(tab, done)
    tab.processings_page.tiles_button.click()
    project = QgsProject.instance()
    assert wait_until(lambda: project.mapLayersByName("Tiled (result tiles)"), 10), \
        tab.processings_page.status_label.text()
    vector = project.mapLayersByName("Tiled (result tiles)")[0]
    raster = project.mapLayersByName("Tiled (imagery tiles)")[0]
    assert isinstance(vector, QgsVectorTileLayer) and isinstance(raster, QgsRasterLayer)
    assert vector.sourceMinZoom() == 14 and vector.sourceMaxZoom() == 25
    processing = sandbox.state.mapflow.processings[done]
    assert "tiles/vector/" + done in vector.source() and "tiles/raster/" + done in raster.source()
    assert not vector.extent().isEmpty() and vector.extent().width() < 2000   # metres: the AOI, from its TileJSON
    assert not requests_to(sandbox, "GET", "/result") and processing["_result"] is None
    assert len(requests_to(sandbox, "GET", "/tile.json")) == 2
    tab.processings_page.tiles_button.click()
    assert wait_until(lambda: "in the project already" in tab.processings_page.status_label.text(), 5)
    assert len(project.mapLayersByName("Tiled (result tiles)")) == 1


def test_a_mixed_result_loads_as_one_layer_per_geometry_type(tab, sandbox_env):
    sandbox = sandbox_env
    sandbox.result_features = 30
    try:
        done = finished_processing(sandbox, "mixed objects")
        show_processings(tab)
        double_click(tab, done)
        project = QgsProject.instance()
        names = ("mixed objects (polygons)", "mixed objects (lines)", "mixed objects (points)")
        assert wait_until(lambda: all(project.mapLayersByName(n) for n in names), 20), \
            tab.processings_page.status_label.text()
    finally:
        sandbox.result_features = None
    kinds = [QgsWkbTypes.geometryType(project.mapLayersByName(n)[0].wkbType()) for n in names]
    assert kinds == [QgsWkbTypes.GeometryType.PolygonGeometry, QgsWkbTypes.GeometryType.LineGeometry,
                     QgsWkbTypes.GeometryType.PointGeometry]
    assert all(project.mapLayersByName(n)[0].featureCount() == 10 for n in names)
    tab.processings_page.load_button.click()
    assert wait_until(lambda: "already in the project" in tab.processings_page.status_label.text(), 5)
    assert sum(len(project.mapLayersByName(n)) for n in names) == 3
