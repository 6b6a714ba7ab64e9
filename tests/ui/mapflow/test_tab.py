"""The Mapflow tab (ui/mapflow/tab.py) with pytest-qgis's iface against the sandbox: sub-pages that fit, numbers
that stay current, live problems and cost, a truthful cancel, restarts of QGIS and of the plugin."""

from __future__ import annotations

import pytest
from qgis.core import QgsApplication, QgsCoordinateReferenceSystem, QgsProject, QgsRectangle, QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QEvent
from qgis.PyQt.QtWidgets import QAbstractButton

from mapbridge.core import settings_keys
from mapbridge.core.mapflow.tracked import TrackedProcessings
from mapbridge.tests.ui.fit import clipped
from mapbridge.tests.ui.mapflow.conftest import (
    DOC_AOI,
    MOSCOW,
    requests_to,
    show_processings,
    start_processing,
    use_extent,
    wait_until,
)
from mapbridge.ui.mapflow.aoi_panel import SELECTED
from mapbridge.ui.mapflow.tab import IMAGERY, NEW, PROCESSINGS, MapflowTab

pytestmark = pytest.mark.usefixtures("fresh_runs", "mapbridge_processing")  # tests/conftest.py


def fits_at_350(tab):
    """Nothing of the tab is cut at the narrowest dock width (the layout settled first)."""
    width = tab.width()
    tab.resize(350, 900)
    # A wrapped label takes its new height a layout pass after its text or width changed: on a busy machine that
    # can take longer than the first look. Cut text that stays cut is what counts.
    wait_until(lambda: not clipped(tab), 2.0)
    found = clipped(tab)
    tab.resize(width, 900)
    return found


def test_every_sub_page_fits_from_350_to_1200_px(tab, canvas, sandbox_env, tmp_path):
    from mapbridge.tests.rasters import write_geotiff
    from mapbridge.ui.mapflow.my_imagery_panel import MOSAIC

    show_processings(tab)
    use_extent(tab, canvas, DOC_AOI)
    tab.pages.setCurrentIndex(IMAGERY)
    catalog = tab.imagery_page.catalog
    catalog.search()
    assert wait_until(lambda: catalog.model.rowCount() > 0, 20)
    catalog.table.selectRow(0)
    catalog.use_button.click()        # the New page's catalog source shows the chosen image
    tab.pages.setCurrentIndex(IMAGERY)
    tab.imagery_page.show_part(1)
    my_imagery = tab.imagery_page.my_imagery
    assert wait_until(lambda: my_imagery.loaded and my_imagery.storage, 10)
    long_name = "Survey of the northern industrial district, spring flight, second attempt after the rain"
    tab.fake.answers["files"] = [write_geotiff(tmp_path / "a_rather_long_orthophoto_file_name_2024_05_17.tif", 64, 32)]
    tab.fake.answers["text"] = long_name
    my_imagery.upload_button.click()  # a mosaic and its image in the My imagery tree
    assert wait_until(lambda: not my_imagery.runner.busy and my_imagery.mosaics, 20), my_imagery.status.text()
    my_imagery.tree.expandAll()
    my_imagery.select(MOSAIC, my_imagery.mosaics[0].id)
    my_imagery.process_button.click()  # the New page's My imagery source names it
    assert long_name in tab.new_page.source_panel.my_imagery_label.text()
    assert tab.minimumSizeHint().width() <= 350
    views = [(NEW, None), (NEW, "custom"), (NEW, "catalog"), (NEW, "my_imagery"), (PROCESSINGS, None),
             (IMAGERY, 0), (IMAGERY, 1)]
    for width in (350, 400, 1200):
        tab.resize(width, 900)
        for page, part in views:
            tab.pages.setCurrentIndex(page)
            if page == NEW:
                tab.new_page.source_panel.set_kind(part or "provider")
            elif page == IMAGERY:
                tab.imagery_page.show_part(part)
            wait_until(lambda: False, 0.15)
            assert clipped(tab) == [], (width, page, part)
    columns = tab.processings_page.visible_columns()
    assert columns == ["name", "status", "created", "area", "cost", "model"]   # 1200 px: all of them
    tab.resize(350, 900)
    tab.pages.setCurrentIndex(PROCESSINGS)
    wait_until(lambda: False, 0.15)
    assert tab.processings_page.visible_columns()[:2] == ["name", "status"]


def test_numbers_stay_current_and_the_status_line_agrees_with_the_list(tab, canvas, sandbox_env):
    sandbox = sandbox_env
    sandbox.processing_seconds = 6
    account = tab.project_panel.account_label
    assert account.text() == "5000 credits left · AOI limit 25 km², 10 polygons"
    use_extent(tab, canvas, MOSCOW)
    assert "limit" not in tab.new_page.aoi_panel.area_label.text()   # the limits are shown once, on top
    processing_id = start_processing(tab, canvas, "Current numbers", wait_for_layer=False)
    cost = sandbox.state.mapflow.processings[processing_id]["cost"]
    assert wait_until(lambda: account.text().startswith(f"{5000 - cost:g} credits left"), 15), account.text()
    page = tab.processings_page

    def agree():
        row = page.model.row_by_id(processing_id)
        line = tab.new_page.run_label.text()
        return row is not None and row["status_text"].startswith("Running") and row["percent"] > 0 \
            and line == f"'Current numbers': {row['status_text']}"

    assert wait_until(agree, 15), (tab.new_page.run_label.text(), page.model.row_by_id(processing_id))
    spent_after_start = account.text()
    sandbox.state.mapflow.remaining_credits -= 7   # spent elsewhere meanwhile: the finish reads the balance again
    assert wait_until(lambda: QgsProject.instance().mapLayersByName("Current numbers"), 30)
    assert wait_until(lambda: account.text() != spent_after_start, 15), account.text()
    assert account.text().startswith(f"{5000 - cost - 7:g} credits left")


def test_problems_show_live_before_start(tab, canvas, sandbox_env):
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer

    sandbox = sandbox_env
    new = tab.new_page
    models = [new.model_panel.combo.itemText(i) for i in range(new.model_panel.combo.count())]
    assert models == ["🏠 Buildings", "🌲 Forest", "🚗 Roads"] and not new.model_panel.combo.isEditable()
    providers = new.source_panel.provider_combo
    labels = [providers.itemText(i) for i in range(providers.count())]
    assert "Mapbox Satellite" in labels and "Sentinel-2 (10 m)" in labels and not providers.isEditable()
    providers.setCurrentIndex(providers.findData("Maxar SecureWatch"))
    zooms = new.source_panel.zoom_combo
    assert [zooms.itemData(i) for i in range(zooms.count())] == [17, 18]   # the provider's own zooms

    use_extent(tab, canvas, QgsRectangle(37.0, 55.0, 38.5, 56.5))
    assert wait_until(lambda: "over your account's AOI limit of 25 km²" in new.problems_label.text(), 5)
    assert not new.start_button.isEnabled()
    use_extent(tab, canvas, MOSCOW)
    assert wait_until(lambda: new.start_button.isEnabled(), 10), new.problems_label.text()

    providers.setCurrentIndex(providers.findData("Sentinel-2"))
    assert wait_until(lambda: "Sentinel-2 (10 m) needs at least 1 km²" in new.problems_label.text(), 5)
    assert not new.start_button.isEnabled()
    providers.setCurrentIndex(providers.findData("Mapbox"))

    sandbox.state.mapflow.remaining_credits = 2
    tab.project_panel.refresh_balance()
    assert wait_until(lambda: "credits but 2 are left" in new.problems_label.text(), 10), new.problems_label.text()
    sandbox.state.mapflow.remaining_credits = 5000
    tab.project_panel.refresh_balance()
    assert wait_until(lambda: new.start_button.isEnabled(), 10)

    sandbox.state.mapflow.max_aois = 2
    tab.project_panel.refresh_balance()
    layer = QgsVectorLayer("Polygon?crs=EPSG:4326", "parts", "memory")
    features = []
    for number in range(3):
        feature = QgsFeature()
        feature.setGeometry(QgsGeometry.fromRect(QgsRectangle(37.60 + number * 0.01, 55.75, 37.605 + number * 0.01,
                                                              55.755)))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    QgsProject.instance().addMapLayer(layer)
    new.aoi_panel.layer_combo.setLayer(layer)
    new.aoi_panel.set_source(SELECTED)
    layer.selectAll()
    assert wait_until(lambda: "3 separate polygons; your account allows 2" in new.problems_label.text(), 10), \
        new.problems_label.text()
    assert not requests_to(sandbox, "POST", "/processings/v2")


def test_a_refusal_goes_when_the_aoi_changes(tab, canvas, sandbox_env):
    sandbox = sandbox_env
    new = tab.new_page
    use_extent(tab, canvas, MOSCOW)
    assert wait_until(lambda: new.start_button.isEnabled(), 10)
    sandbox.state.mapflow.aoi_area_limit = 100_000   # lowered on the service after the tab read the account
    new.start_button.click()
    assert wait_until(lambda: "AOI limit of 0.1 km²" in new.problems_label.text(), 10), new.problems_label.text()
    assert not new.start_button.isEnabled() and not tab.fake.asked
    assert fits_at_350(tab) == []
    account = tab.project_panel.account_label
    assert wait_until(lambda: "AOI limit 0.1 km²" in account.text(), 10), account.text()   # read again after it
    use_extent(tab, canvas, QgsRectangle(37.6156, 55.7558, 37.6200, 55.7600))   # the refusal goes…
    assert "nothing was sent" not in new.problems_label.text()
    assert "over your account's AOI limit of 0.1 km²" in new.problems_label.text()   # …the live check, fresh, stays
    assert not new.start_button.isEnabled()
    sandbox.state.mapflow.aoi_area_limit = 25_000_000
    tab.refresh_account()
    assert wait_until(lambda: "AOI limit 25 km²" in account.text(), 10), account.text()
    assert "AOI limit" not in new.problems_label.text() and new.start_button.isEnabled()
    assert not requests_to(sandbox, "POST", "/processings/v2")


def test_the_cost_follows_every_choice(tab, canvas, sandbox_env):
    sandbox = sandbox_env
    new = tab.new_page
    costs = []

    def settled():
        text = new.cost_label.text()
        return "credits" in text and text != (costs[-1] if costs else None)

    def step(change):
        change()
        assert wait_until(settled, 10), (new.cost_label.text(), costs)
        costs.append(new.cost_label.text())
        return requests_to(sandbox, "POST", "/processing/cost/v2")[-1].json

    big = QgsRectangle(37.60, 55.75, 37.64, 55.77)
    body = step(lambda: use_extent(tab, canvas, big))
    assert body["blocks"] == [{"name": "Classification", "enabled": False}, {"name": "Heights", "enabled": False}]
    heights = tab.findChild(type(new.model_panel.option_boxes[0]), "mapflow_option_Heights")
    body = step(lambda: heights.setChecked(True))
    assert body["blocks"][1] == {"name": "Heights", "enabled": True}
    providers = new.source_panel.provider_combo
    body = step(lambda: providers.setCurrentIndex(providers.findData("Maxar SecureWatch")))
    assert body["params"]["sourceParams"]["dataProvider"] == {"providerName": "Maxar SecureWatch", "zoom": 18}
    zooms = new.source_panel.zoom_combo
    body = step(lambda: zooms.setCurrentIndex(zooms.findData(17)))
    assert body["params"]["sourceParams"]["dataProvider"]["zoom"] == 17
    body = step(lambda: new.model_panel.combo.setCurrentIndex(new.model_panel.combo.findText("🚗 Roads")))
    assert body["blocks"] == [] and body["wdId"]
    body = step(lambda: use_extent(tab, canvas, QgsRectangle(37.60, 55.75, 37.62, 55.76)))
    assert len(costs) == 6 and all(a != b for a, b in zip(costs, costs[1:]))
    new.source_panel.set_kind("custom")
    new.source_panel.url_edit.setText("https://tiles.example.com/{z}/{x}/{y}.png")
    assert wait_until(settled, 10)
    assert requests_to(sandbox, "POST", "/processing/cost/v2")[-1].json["params"]["sourceParams"]["userDefined"]


def test_typing_a_name_asks_no_new_cost_and_options_show_name_and_price(tab, canvas, sandbox_env):
    from mapbridge.ui.mapflow.model_panel import ClickLabel

    sandbox = sandbox_env
    new = tab.new_page
    use_extent(tab, canvas, MOSCOW)
    assert wait_until(lambda: "credits" in new.cost_label.text(), 10), new.cost_label.text()
    asked = len(requests_to(sandbox, "POST", "/processing/cost/v2"))
    for text in ("B", "Bu", "Buildings near the Kremlin"):
        new.name_edit.setText(text)
        wait_until(lambda: False, 0.7)   # past the estimate delay
    assert len(requests_to(sandbox, "POST", "/processing/cost/v2")) == asked, "the name does not change the cost"
    body = requests_to(sandbox, "POST", "/processing/cost/v2")[-1].json
    assert body["meta"] and body["geometry"]   # the create body as it would be sent
    tab.findChild(type(new.model_panel.option_boxes[0]), "mapflow_option_Heights").setChecked(True)
    assert wait_until(lambda: len(requests_to(sandbox, "POST", "/processing/cost/v2")) == asked + 1, 10)
    labels = [box.parentWidget().findChild(ClickLabel).text() for box in new.model_panel.option_boxes]
    assert labels == ["Building classification (+1 credits/km²)", "Building heights (+2 credits/km²)"]


def test_a_failed_run_says_why_and_fits(tab, canvas, sandbox_env):
    new = tab.new_page
    start_processing(tab, canvas, "This one will fail on the imagery source", wait_for_layer=False)
    assert wait_until(lambda: "not available" in new.run_label.text(), 30), new.run_label.text()
    assert fits_at_350(tab) == []


def test_an_account_billed_by_area_sees_area_not_credits(tab, canvas, sandbox_env):
    sandbox = sandbox_env
    new = tab.new_page
    mapflow = sandbox.state.mapflow
    mapflow.billing_type = "AREA"
    mapflow.remaining_area = 20_000_000
    tab.refresh_account()
    account = tab.project_panel.account_label
    assert wait_until(lambda: account.text().startswith("20.00 km² of processing area left"), 10), account.text()
    asked = len(requests_to(sandbox, "POST", "/processing/cost/v2"))
    use_extent(tab, canvas, MOSCOW)
    assert wait_until(lambda: "km² of processing area of 20.00 km² left" in new.cost_label.text(), 10), \
        new.cost_label.text()
    wait_until(lambda: False, 0.8)
    assert "credit" not in new.cost_label.text().lower()
    assert len(requests_to(sandbox, "POST", "/processing/cost/v2")) == asked, "no credit cost for an AREA account"
    options = [box.toolTip() for box in new.model_panel.option_boxes]
    zooms = new.source_panel.zoom_combo
    assert options and not any("credit" in text for text in options)
    assert not any("credit" in zooms.itemText(i) for i in range(zooms.count()))
    use_extent(tab, canvas, QgsRectangle(37.58, 55.74, 37.66, 55.78))   # larger than the area left
    assert wait_until(lambda: "of processing area is left" in new.problems_label.text(), 5), new.problems_label.text()
    assert not new.start_button.isEnabled()
    use_extent(tab, canvas, MOSCOW)
    processing_id = start_processing(tab, canvas, "Billed by area", wait_for_layer=False)
    spent = mapflow.processings[processing_id]["aoiArea"]
    assert mapflow.remaining_area == 20_000_000 - spent and mapflow.remaining_credits == 5000
    left = f"{(20_000_000 - spent) / 1e6:.2f} km² of processing area left"
    assert wait_until(lambda: account.text().startswith(left), 15), account.text()


def test_stopping_the_wait_says_the_truth_and_offers_to_delete(tab, canvas, sandbox_env, qgis_iface):
    sandbox = sandbox_env
    sandbox.processing_seconds = 60
    new = tab.new_page
    bar = qgis_iface.messageBar()
    processing_id = start_processing(tab, canvas, "Keep going", wait_for_layer=False)
    assert wait_until(lambda: new.stop_button.isVisible(), 5)
    tab.fake.answers["yes_no"] = False       # keep it running
    new.stop_button.click()
    assert wait_until(lambda: "keeps running on Mapflow" in new.run_label.text(), 10), new.run_label.text()
    title, question = tab.fake.asked[-1][1:3]
    assert "keeps running on Mapflow" in question and "Delete it on Mapflow instead?" in question
    assert fits_at_350(tab) == []
    assert processing_id in sandbox.state.mapflow.processings
    assert not any(w.level() == 2 for w in bar.items()), "no Critical message for a stop the user asked for"
    assert TrackedProcessings().get(processing_id)["loaded"] is False   # still followed: it loads when done

    other = start_processing(tab, canvas, "Delete me", wait_for_layer=False)
    assert wait_until(lambda: new.stop_button.isVisible(), 5)
    tab.fake.answers["yes_no"] = True         # delete it
    new.stop_button.click()
    assert wait_until(lambda: "was deleted on Mapflow" in new.run_label.text(), 10), new.run_label.text()
    assert other not in sandbox.state.mapflow.processings and TrackedProcessings().get(other) is None
    assert requests_to(sandbox, "DELETE", f"/processings/{other}")


def test_no_master_password_prompt_when_the_dock_is_restored_at_start(qgis_iface, sandbox, canvas):
    """Dock left open last time, a tracked processing still running, the token locked in the auth DB: QGIS starts and
    shows the dock; nothing asks for the master password until the user opens Mapbridge themselves."""
    import mapbridge
    from mapbridge.core import credentials
    from mapbridge.tests.conftest import MASTER_PASSWORD, CountingCredentials

    manager = QgsApplication.authManager()
    QgsSettings().setValue(settings_keys.service_url("mapflow"), sandbox.base_urls["mapflow"])
    credentials.store_token("mapflow", sandbox.tokens["mapflow"])
    seed = next(pid for pid, p in sandbox.state.mapflow.processings.items() if p["name"].startswith("Seed"))
    TrackedProcessings().upsert(seed, name="Seed", status="IN_PROGRESS", percent=10, loaded=True)
    QgsSettings().setValue(settings_keys.DOCK_OPEN, True)
    counting = CountingCredentials(MASTER_PASSWORD)
    manager.clearMasterPassword()
    assert not credentials.token_without_prompt("mapflow")
    plugin = mapbridge.classFactory(qgis_iface)
    plugin.initProcessing = lambda: None   # the fixture's provider stays registered
    qgis_iface.mainWindow().show()         # QGIS's window is up when the dock is restored
    try:
        plugin.initGui()
        assert wait_until(lambda: plugin.dock is not None and plugin.dock.isVisible(), 5)
        tab = plugin.dock.mapflow_tab
        wait_until(lambda: False, 1.0)
        assert counting.asked == 0 and not manager.masterPasswordIsSet(), "nothing asked before the user did"
        assert not tab.started and not [r for r in sandbox.requests if r.service == "mapflow"]
        assert "wait until you ask: press ⟳" in tab.project_panel.account_label.text()
        assert plugin.action.isChecked()

        plugin.action.trigger()            # the user closes Mapbridge…
        assert wait_until(lambda: not plugin.dock.isVisible(), 5)
        plugin.action.trigger()            # …and opens it: tracked processings resume (the password is asked now)
        assert wait_until(lambda: tab.started, 5)
        assert counting.asked == 1 and manager.masterPasswordIsSet()
        assert wait_until(lambda: tab.processings_page.model.row_by_id(seed) is not None, 15)
    finally:
        plugin.unload()
        qgis_iface.mainWindow().hide()
        if not manager.masterPasswordIsSet():
            manager.setMasterPassword(MASTER_PASSWORD, True)
        credentials.clear_token("mapflow")


def test_results_finishing_in_another_project_are_offered_not_loaded(tab, canvas, sandbox_env, qgis_iface, tmp_path):
    from mapbridge.tests.ui.mapflow.conftest import finished_processing

    sandbox = sandbox_env
    project = QgsProject.instance()
    project.setFileName(str(tmp_path / "first.qgz"))
    sandbox.processing_seconds = 4
    try:
        started_here = start_processing(tab, canvas, "From the first project", wait_for_layer=False)
        project.clear()
        project.setFileName(str(tmp_path / "second.qgz"))
        elsewhere = finished_processing(sandbox, "Finished elsewhere")
        TrackedProcessings().upsert(elsewhere, name="Finished elsewhere", status="IN_PROGRESS", percent=50,
                                    loaded=False, qgisProject=str(tmp_path / "third.qgz"))
        tab.poller.hurry()
        assert wait_until(lambda: {started_here, elsewhere} <= set(tab.results.offered), 30), tab.results.offered
        wait_until(lambda: False, 1.0)
        assert not project.mapLayersByName("From the first project") and \
            not project.mapLayersByName("Finished elsewhere")
        item = tab.results.offered[elsewhere]
        assert "has finished" in item.text()
        item.findChild(QAbstractButton, "mapflow_offer_load").click()
        assert wait_until(lambda: project.mapLayersByName("Finished elsewhere"), 20)
        tab.results.offered[started_here].findChild(QAbstractButton, "mapflow_offer_load").click()
        assert project.mapLayersByName("From the first project")   # the written file, not downloaded again
    finally:
        project.clear()


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
        tab.new_page.folder_widget.setFilePath(str(tmp_path))
        from mapbridge.tests.ui.mapflow.conftest import use_fake_asker

        tab.fake = use_fake_asker(tab)
        if not tab.started:  # the test main window is never shown, so neither is the tab
            tab.begin()
        assert wait_until(lambda: "credits" in tab.project_panel.account_label.text())
        processing_id = start_processing(tab, canvas, "Survivor", wait_for_layer=False)
        assert wait_until(lambda: tab.processings_page.model.row_by_id(processing_id) is not None, 20)
    finally:
        plugin.unload()  # cancels the run: the processing keeps going on the service
    assert TrackedProcessings().get(processing_id)["loaded"] is False
    sandbox.state.mapflow.finish(processing_id)
    sandbox.processing_seconds = 1.5
    again = new_plugin()
    try:
        assert again.dock is None, "nothing is built while QGIS starts"
        # The token comes from the environment (no prompt): the processing is followed without the user opening
        # Mapbridge, in a dock built hidden once QGIS has started, and its result loads.
        assert wait_until(lambda: again.dock is not None, 10)
        assert not again.dock.isVisible()
        assert wait_until(lambda: QgsProject.instance().mapLayersByName("Survivor"), 30)  # auto-loaded
        assert TrackedProcessings().get(processing_id)["loaded"] is True
        tab = again.show_dock("Mapflow")
        assert wait_until(lambda: tab.processings_page.model.row_by_id(processing_id) is not None, 20)
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
    tab.poller.hurry()
    assert wait_until(lambda: done, 30)
    assert done[0].ok, done[0].message
    processing_id = done[0].results["PROCESSING_ID"]
    tab.poller.poll_now()
    assert wait_until(lambda: (tab.processings_page.model.row_by_id(processing_id) or {}).get("status") == "OK", 20)
    wait_until(lambda: False, 1.0)
    assert not QgsProject.instance().mapLayersByName("Toolbox run")  # the toolbox run wrote it; no second copy
    assert TrackedProcessings().get(processing_id)["loaded"] is True


def test_shutdown_cancels_a_running_search_and_removes_temporary_folders(qgis_iface, sandbox_env, canvas):
    import os

    sandbox = sandbox_env
    sandbox.latency_ms = 300
    widget = MapflowTab(qgis_iface)
    folders = (widget.work_folder, widget.imagery_page.catalog.folder)
    use_extent(widget, canvas, DOC_AOI)
    widget.imagery_page.catalog.search()
    run = widget.imagery_page.catalog.run
    assert run is not None and all(os.path.isdir(f) for f in folders)
    widget.shutdown()
    widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not any(os.path.exists(f) for f in folders)
    assert wait_until(lambda: run.done, 20)  # the detached run outlived the widget and ended cancelled
    assert not QgsProject.instance().mapLayersByName("Mapflow catalog footprints")
