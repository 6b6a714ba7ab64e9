"""The Mapflow tab with pytest-qgis's iface: drawing, confirm-then-start, the processings list, catalog, reload."""

from __future__ import annotations

import time

import pytest
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsPointXY,
    QgsProject,
    QgsRectangle,
    QgsRuleBasedRenderer,
)
from qgis.gui import QgsMapMouseEvent
from qgis.PyQt.QtCore import QCoreApplication, QEvent, QPoint, Qt

from mapbridge.core.mapflow.tracked import TrackedProcessings
from mapbridge.ui.mapflow.aoi_panel import DRAWN_POLYGON, DRAWN_RECTANGLE, EXTENT
from mapbridge.ui.mapflow.tab import MapflowTab

pytestmark = pytest.mark.usefixtures("fresh_runs", "mapbridge_processing")  # tests/conftest.py
MOSCOW = QgsRectangle(37.6156, 55.7558, 37.6256, 55.7608)
DOC_AOI = QgsRectangle(37.34396696090698, 55.6731196654679, 37.35926628112793, 55.67997991819218)


def wait_until(condition, timeout=20.0):
    """Run the event loop until condition() is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QCoreApplication.processEvents()
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def canvas(qgis_iface):
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    canvas.setExtent(QgsRectangle(37.60, 55.75, 37.64, 55.77))
    canvas.refresh()
    return canvas


@pytest.fixture
def tab(qgis_iface, sandbox_env, canvas, tmp_path):
    widget = MapflowTab(qgis_iface)
    widget.folder_widget.setFilePath(str(tmp_path / "results"))
    assert not widget.started  # nothing is read before the tab is shown (no master-password prompt at start)
    widget.show()
    label = widget.project_panel.account_label
    assert wait_until(lambda: "credits" in label.text()), label.text()
    yield widget
    widget.shutdown()
    for layer in list(QgsProject.instance().mapLayers().values()):
        QgsProject.instance().removeMapLayer(layer.id())


def mouse(canvas, kind, x, y, button=Qt.MouseButton.LeftButton):
    pixel = canvas.getCoordinateTransform().transform(QgsPointXY(x, y))
    return QgsMapMouseEvent(canvas, kind, QPoint(int(pixel.x()), int(pixel.y())), button, button,
                            Qt.KeyboardModifier.NoModifier)


def test_pickers_are_filled_from_the_account(tab, sandbox_env):
    sandbox = sandbox_env
    models = [tab.model_combo.itemText(i) for i in range(tab.model_combo.count())]
    assert models[:3] == ["🏠 Buildings", "🌲 Forest", "🚗 Roads"]
    assert tab.model_combo.currentText() == "🏠 Buildings"
    providers = [tab.provider_combo.itemText(i) for i in range(tab.provider_combo.count())]
    assert "Mapbox" in providers and "Maxar SecureWatch" in providers
    assert tab.project_panel.project_combo.currentData() == sandbox.state.mapflow.default_project_id
    assert "AOI limit 25 km²" in tab.project_panel.account_label.text()


def test_polygon_tool_shows_area_live_and_start_confirms_then_loads_a_styled_result(tab, canvas, sandbox_env):
    sandbox = sandbox_env
    panel = tab.aoi_panel
    panel.set_source(DRAWN_POLYGON)
    panel.draw_button.setChecked(True)
    tool = canvas.mapTool()
    assert tool is panel.tool
    for x, y in ((37.6156, 55.7558), (37.6256, 55.7558), (37.6256, 55.7608)):
        tool.canvasPressEvent(mouse(canvas, QEvent.Type.MouseButtonPress, x, y))
    tool.canvasMoveEvent(mouse(canvas, QEvent.Type.MouseMove, 37.6156, 55.7608))
    assert "km² (drawing)" in panel.area_label.text()
    tool.canvasPressEvent(mouse(canvas, QEvent.Type.MouseButtonPress, 37.6156, 55.7608))
    tool.canvasPressEvent(mouse(canvas, QEvent.Type.MouseButtonPress, 37.6156, 55.7608,
                                Qt.MouseButton.RightButton))
    assert panel.drawn is not None and not panel.draw_button.isChecked()
    assert canvas.mapTool() is not tool
    aoi = panel.current_aoi()
    assert aoi.area_km2 == pytest.approx(0.35, rel=0.1)
    assert "0.3" in panel.area_label.text() and "limit" in panel.area_label.text()

    asked = []
    tab.confirm = lambda text: asked.append(text) or True
    tab.name_edit.setText("Dock buildings")
    tab.start()
    assert wait_until(lambda: asked, 10)
    assert "Area: 0.3" in asked[0] and "Model: 🏠 Buildings" in asked[0] and "credits" in asked[0]
    assert wait_until(lambda: QgsProject.instance().mapLayersByName("Dock buildings"), 30)
    layer = QgsProject.instance().mapLayersByName("Dock buildings")[0]
    assert layer.featureCount() == 50 and "building_height" in layer.fields().names()
    assert isinstance(layer.renderer(), QgsRuleBasedRenderer)  # graduated by height + "unknown"
    created = [r for r in sandbox.requests if r.method == "POST" and r.path == "/processings/v2"]
    assert len(created) == 1 and created[0].json["name"] == "Dock buildings"
    processing_id = next(p for p in TrackedProcessings().all() if p["name"] == "Dock buildings")["id"]
    assert TrackedProcessings().get(processing_id)["loaded"] is True
    assert wait_until(lambda: (tab.list_panel.model.row_by_id(processing_id) or {}).get("status") == "OK", 20)


def test_declined_confirmation_and_over_limit_send_nothing(tab, canvas, sandbox_env):
    sandbox = sandbox_env
    tab.aoi_panel.set_source(DRAWN_RECTANGLE)
    tab.aoi_panel.draw_button.setChecked(True)
    tool = canvas.mapTool()
    tool.canvasPressEvent(mouse(canvas, QEvent.Type.MouseButtonPress, 37.61, 55.755))
    tool.canvasMoveEvent(mouse(canvas, QEvent.Type.MouseMove, 37.62, 55.76))
    assert "km² (drawing)" in tab.aoi_panel.area_label.text()
    tool.canvasReleaseEvent(mouse(canvas, QEvent.Type.MouseButtonRelease, 37.62, 55.76))
    assert tab.aoi_panel.drawn is not None
    asked = []
    tab.confirm = lambda text: asked.append(text) and False
    tab.start()
    assert wait_until(lambda: asked and tab.start_button.isEnabled(), 10)
    assert tab.run_label.text() == "Not started."
    canvas.setExtent(QgsRectangle(37.0, 55.0, 38.5, 56.5))
    tab.aoi_panel.set_source(EXTENT)
    tab.start()
    assert wait_until(lambda: "AOI limit" in tab.run_label.text(), 10), tab.run_label.text()
    assert len(asked) == 1
    assert not [r for r in sandbox.requests if r.method == "POST" and r.path == "/processings/v2"]


def test_catalog_table_and_layer_selection_stay_in_sync(tab, canvas, sandbox_env):
    canvas.setExtent(DOC_AOI)
    tab.aoi_panel.set_source(EXTENT)
    catalog = tab.catalog_panel
    catalog.search()
    assert wait_until(lambda: catalog.layer is not None, 20), catalog.status.text()
    layer = catalog.layer
    assert layer.featureCount() == catalog.model.rowCount() >= 1
    assert QgsProject.instance().mapLayer(layer.id()) is not None
    catalog.table.selectRow(0)
    assert len(layer.selectedFeatureIds()) == 1
    fid = layer.selectedFeatureIds()[0]
    other = [f.id() for f in layer.getFeatures() if f.id() != fid]
    if other:
        layer.selectByIds([other[0]])
        assert catalog.selected_fids() == [other[0]]
        fid = other[0]
    catalog.use_selected()
    assert tab.image[0] == layer.getFeature(fid)["id"] and tab.image_label.text() == tab.image[0]


def test_processings_survive_a_plugin_reload_and_finished_results_load(qgis_iface, sandbox_env, canvas, tmp_path):
    import mapbridge

    sandbox = sandbox_env
    sandbox.processing_seconds = 60
    def new_plugin():
        plugin = mapbridge.classFactory(qgis_iface)
        plugin.initProcessing = lambda: None  # the fixture's provider stays registered (same algorithms)
        plugin.initGui()
        return plugin

    plugin = new_plugin()
    try:
        tab = plugin.show_dock("Mapflow")
        tab.folder_widget.setFilePath(str(tmp_path))
        if not tab.started:  # the test main window is never shown, so neither is the tab
            tab.refresh_account()
        assert wait_until(lambda: "credits" in tab.project_panel.account_label.text())
        canvas.setExtent(MOSCOW)
        tab.aoi_panel.set_source(EXTENT)
        tab.confirm = lambda text: True
        tab.name_edit.setText("Survivor")
        tab.start()
        assert wait_until(lambda: TrackedProcessings().all(), 20)
        processing_id = TrackedProcessings().all()[0]["id"]
        assert wait_until(lambda: tab.list_panel.model.row_by_id(processing_id) is not None, 20)
    finally:
        plugin.unload()  # cancels the run: the processing keeps going on the service
    assert TrackedProcessings().get(processing_id)["loaded"] is False
    sandbox.state.mapflow.finish(processing_id)
    sandbox.processing_seconds = 1.5
    again = new_plugin()
    try:
        assert again.dock is None, "nothing is built before the user opens Mapbridge"
        tab = again.show_dock("Mapflow")   # tracked processings resume when the dock is first shown
        assert wait_until(lambda: tab.list_panel.model.row_by_id(processing_id) is not None, 20)
        assert wait_until(lambda: QgsProject.instance().mapLayersByName("Survivor"), 30)  # auto-loaded
        assert TrackedProcessings().get(processing_id)["loaded"] is True
        row = next(i for i, r in enumerate(tab.list_panel.model.rows) if r["id"] == processing_id)
        tab.list_panel.table.selectRow(row)
        assert tab.list_panel.selected_id() == processing_id
        tab.list_panel.remove_selected()
        assert tab.list_panel.model.row_by_id(processing_id) is None
        assert TrackedProcessings().get(processing_id) is None
        assert processing_id in TrackedProcessings().hidden()
    finally:
        again.unload()
        for layer in list(QgsProject.instance().mapLayers().values()):
            QgsProject.instance().removeMapLayer(layer.id())


def test_a_processing_run_from_the_toolbox_is_not_loaded_twice_by_the_dock(tab, sandbox_env, tmp_path):
    from mapbridge.core.mapflow.aoi import aoi_from_rectangle, save_aoi_geojson
    from mapbridge.ui.background import BackgroundRunner

    aoi = save_aoi_geojson(aoi_from_rectangle(MOSCOW, QgsCoordinateReferenceSystem("EPSG:4326")),
                           str(tmp_path / "aoi.geojson"))
    done = []
    runner = BackgroundRunner()
    runner.algorithm("mapbridge:mapflow_process", {"AOI": aoi, "NAME": "Toolbox run",
                                                   "OUTPUT": str(tmp_path / "toolbox.gpkg")}, "toolbox", done.append)
    tab.list_panel.poller.hurry()
    assert wait_until(lambda: done, 30)
    assert done[0].ok, done[0].message
    processing_id = done[0].results["PROCESSING_ID"]
    tab.list_panel.poller.poll_now()
    assert wait_until(lambda: (tab.list_panel.model.row_by_id(processing_id) or {}).get("status") == "OK", 20)
    wait_until(lambda: False, 1.0)
    assert not QgsProject.instance().mapLayersByName("Toolbox run")  # the toolbox run wrote it; no second copy
    assert TrackedProcessings().get(processing_id)["loaded"] is True


def test_draw_tool_is_deleted_when_unset_and_pan_unchecks_draw(tab, canvas):
    from qgis.gui import QgsMapToolPan
    from qgis.PyQt import sip

    from mapbridge.ui.mapflow.aoi_tool import AoiMapTool

    def flush_deletes():
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    panel = tab.aoi_panel
    panel.set_source(DRAWN_POLYGON)
    tools = []
    for _ in range(3):
        panel.draw_button.setChecked(True)
        tools.append(panel.tool)
        panel.draw_button.setChecked(False)
        flush_deletes()
    assert all(sip.isdeleted(t) for t in tools) and not canvas.findChildren(AoiMapTool)
    panel.draw_button.setChecked(True)
    tool = panel.tool
    pan = QgsMapToolPan(canvas)
    canvas.setMapTool(pan)  # the user picks Pan
    assert not panel.draw_button.isChecked() and panel.tool is None
    assert canvas.mapTool() is pan
    flush_deletes()
    assert sip.isdeleted(tool) and canvas.mapTool() is pan


def test_shutdown_cancels_a_running_search_and_removes_temporary_folders(qgis_iface, sandbox_env, canvas):
    import os

    sandbox = sandbox_env
    sandbox.latency_ms = 300
    widget = MapflowTab(qgis_iface)
    folders = (widget.work_folder, widget.catalog_panel.folder)
    canvas.setExtent(DOC_AOI)
    widget.aoi_panel.set_source(EXTENT)
    widget.catalog_panel.search()
    run = widget.catalog_panel.run
    assert run is not None and all(os.path.isdir(f) for f in folders)
    widget.shutdown()
    widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not any(os.path.exists(f) for f in folders)
    assert wait_until(lambda: run.done, 20)  # the detached run outlived the widget and ended cancelled
    assert not QgsProject.instance().mapLayersByName("Mapflow catalog footprints")
