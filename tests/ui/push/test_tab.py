"""The dock's Push tab end to end: layer menu entry, maps from the account, preview, background push, report."""

from __future__ import annotations

import time

import pytest
from qgis.core import Qgis, QgsProject
from qgis.PyQt.QtCore import QCoreApplication

from mapbridge.tests.processing.push_helpers import (
    memory_layer,
    requests_of,
)
from mapbridge.tests.ui.panel_helpers import open_push_tab, wait_until

pytestmark = pytest.mark.usefixtures("mapbridge_processing")


def shops():
    rows = [(f"POINT({2.35 + i * 0.01} {48.85 + i * 0.01})", [f"Shop {i}", i]) for i in range(5)]
    rows.append((None, ["Nowhere", 99]))
    layer = memory_layer("Point", "EPSG:4326", ["name:string", "rank:integer"], rows, name="shops")
    QgsProject.instance().addMapLayer(layer)
    return layer


def report_layers():
    return [lyr for lyr in QgsProject.instance().mapLayers().values() if lyr.name().startswith("Push report")]


def test_push_tab_sends_selected_features_to_mapsemble_and_adds_the_report(dock, qgis_iface, sandbox_env):
    sandbox = sandbox_env
    layer = shops()
    layer.selectByExpression("\"rank\" in (1, 2, 99)")
    tab, target = open_push_tab(dock, "mapsemble", layer, "ms_plain")
    assert dock.tabs.currentWidget() is tab
    assert tab.layer_combo.currentLayer() is layer
    assert tab.selected_check.isChecked(), "selected-only is on by default when the layer has a selection"
    assert tab.name_combo.currentField() == "name"
    tab.update_preview()
    wait_until(lambda: "will be sent" in tab.preview_label.text())
    assert tab.preview_label.text() == "2 features will be sent, 1 skipped: no geometry"

    tab.fields_list.set_checked(["rank"])
    before = len(sandbox.state.mapsemble.features("ms_plain"))
    tab.push_button.click()
    assert not tab.push_button.isEnabled() and tab.cancel_button.isEnabled()
    wait_until(lambda: tab.run is not None)
    wait_until(lambda: tab.run is None)
    assert len(sandbox.state.mapsemble.features("ms_plain")) == before + 2
    sent = requests_of(sandbox, "mapsemble", "POST", "/features")[0].json["features"]
    assert sorted(f["properties"]["label"] for f in sent) == ["Shop 1", "Shop 2"]
    assert all(set(f["properties"]) == {"rank", "label"} for f in sent)
    reports = report_layers()
    assert len(reports) == 1 and reports[0].featureCount() == 3
    statuses = sorted(f["push_status"] for f in reports[0].getFeatures())
    assert statuses == ["created", "created", "skipped"]
    assert "2 created, 1 skipped" in tab.status_label.text()


def test_push_tab_creates_a_mapiry_map_then_reuses_it_and_cancel_keeps_the_report(dock, sandbox_env, answer):
    sandbox = sandbox_env
    layer = shops()
    tab = dock.push_tab
    tab.layer_combo.setLayer(layer)
    assert not tab.selected_check.isChecked() and not tab.selected_check.isEnabled()
    tab.service_combo.setCurrentIndex(tab.service_combo.findData("mapiry"))
    target = tab.target()
    target.new_radio.setChecked(True)
    target.title_edit.setText("From the dock")
    answer.will("push")         # the whole layer goes: asked first
    tab.push_button.click()
    wait_until(lambda: tab.run is not None)
    wait_until(lambda: tab.run is None)
    map_id = target.map_id_edit.text()
    assert map_id and target.existing_radio.isChecked(), "the new map's id is kept for the next push"
    assert len(sandbox.state.mapiry.locations(map_id)) == 5
    assert "5 created, 1 skipped" in tab.status_label.text()

    # A second push to the same map waits on the empty bulk bucket; Cancel stops it and the report still loads.
    sandbox.state.mapiry.limits["bulk"] = 1
    more = memory_layer("Point", "EPSG:4326", ["name:string"], [(f"POINT({i} 1)", [f"New {i}"]) for i in range(3)],
                        name="more")
    QgsProject.instance().addMapLayer(more)
    tab.layer_combo.setLayer(more)
    answer.will("push")
    tab.push_button.click()
    wait_until(lambda: tab.run is not None and "going on at" in tab.status_label.text())
    tab.cancel_button.click()
    wait_until(lambda: tab.run is None)
    assert "push cancelled: 3 not sent" in tab.status_label.text() and "failed" not in tab.status_label.text()
    assert len(report_layers()) == 2
    assert len(sandbox.state.mapiry.locations(map_id)) == 5


def test_unticking_every_attribute_is_refused_with_a_clear_message(dock, sandbox_env):
    sandbox = sandbox_env
    tab, target = open_push_tab(dock, "mapsemble", shops(), "ms_plain")
    tab.fields_list.set_checked([])
    tab.update_preview()
    wait_until(lambda: "Tick" in tab.preview_label.text())
    assert tab.preview_label.text() == "Tick at least one attribute to send, or tick them all."
    sandbox.clear_requests()
    tab.push_button.click()
    assert tab.run is None and tab.push_button.isEnabled()
    assert "Tick at least one attribute to send, or tick them all" in tab.status_label.text()
    assert not requests_of(sandbox, "mapsemble", "POST"), "nothing was sent"
    target.method_combo.setCurrentIndex(3)       # a delete sends no attributes: no complaint about them
    assert target.problem("name", []) == "Replace, update and delete need the remote id field."


def test_summary_comes_from_the_results_when_the_report_cannot_be_opened(dock, tmp_path):
    tab = dock.push_tab
    tab.run_service, tab.run_layer_name, tab.run_new_map, tab.run_title = "mapsemble", "shops", False, ""
    tab.report_path = str(tmp_path / "missing" / "report.gpkg")
    from mapbridge.ui.background import Outcome

    tab._finished(Outcome(True, {"CREATED": 3, "UPDATED": 0, "DELETED": 0, "SKIPPED": 1, "FAILED": 0,
                                 "NOT_SENT": 0}))
    text = tab.status_label.text()
    assert text.startswith("Mapsemble: 3 created, 1 skipped") and "failed" not in text
    assert "report layer could not be opened" in text and "missing" in text
    assert not report_layers()


def test_closing_the_dock_during_a_push_detaches_the_run(dock, sandbox_env, answer):
    sandbox = sandbox_env
    sandbox.latency_ms = 300
    try:
        tab, target = open_push_tab(dock, "mapiry", shops())
        target.use_map("map_demo")
        answer.will("push")
        tab.push_button.click()
        wait_until(lambda: tab.run is not None)
        run = tab.run
        assert run is not None
        tab.shutdown()
        assert tab.run is None and tab.closed
        wait_until(lambda: run.done)
        QCoreApplication.processEvents()
        assert tab.status_label.text() == "Pushing 5 features to Mapiry…", "the closed tab is not touched any more"
    finally:
        sandbox.latency_ms = 0


def test_push_tab_to_mapalyze(dock, qgis_iface, sandbox_env, answer):
    sandbox = sandbox_env
    tab, target = open_push_tab(dock, "mapalyze", shops(), "form_TreeSurvey")
    assert not tab.name_combo.isVisibleTo(tab)
    answer.will("push")
    tab.push_button.click()
    wait_until(lambda: tab.run is not None)
    wait_until(lambda: tab.run is None)
    posts = requests_of(sandbox, "mapalyze", "POST", "/records")
    assert len(posts) == 5 and posts[0].json["form_id"] == "form_TreeSurvey"
    assert posts[0].json["data"] == {"name": "Shop 0", "rank": 0}


def gpkg_layer(tmp_path, n, name="places"):
    """A GeoPackage point layer (so it has a fid) with an id-like text field and a name-like one."""
    from qgis.core import QgsVectorFileWriter, QgsVectorLayer

    rows = [(f"POINT({-170 + (i % 3400) * 0.1} {-80 + (i // 3400) * 10 + (i % 7) * 0.01})",
             [f"rec_{i:08X}", f"Place number {i}", i % 5]) for i in range(n)]
    memory = memory_layer("Point", "EPSG:4326", ["record_id:string", "title_text:string", "rank:integer"], rows,
                          name=name)
    path = str(tmp_path / f"{name}.gpkg")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = name
    error = QgsVectorFileWriter.writeAsVectorFormatV3(memory, path, QgsProject.instance().transformContext(),
                                                      options)
    assert error[0] == QgsVectorFileWriter.WriterError.NoError, error
    layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
    assert layer.isValid() and layer.fields().names()[0] == "fid"
    QgsProject.instance().addMapLayer(layer)
    return layer


def test_a_big_layer_is_counted_exactly_in_the_background_and_a_name_field_is_guessed(dock, sandbox_env,
                                                                                         tmp_path):
    layer = gpkg_layer(tmp_path, 12021)
    tab = dock.push_tab
    tab.service_combo.setCurrentIndex(tab.service_combo.findData("mapiry"))
    started = time.perf_counter()
    tab.open_for_layer(layer)
    tab.update_preview()
    assert time.perf_counter() - started < 0.5, "nothing counts on the main thread"
    assert tab.name_combo.currentField() == "title_text", "a field of names, not the record ids"
    assert tab.preview_label.text() == "Counting the features…"
    wait_until(lambda: "will be sent" in tab.preview_label.text())
    assert tab.preview_label.text() == "12,021 features will be sent"


def test_a_whole_layer_push_asks_first_and_says_how_long_the_rate_limit_makes_it(dock, sandbox_env, tmp_path,
                                                                                  answer):
    sandbox = sandbox_env
    layer = gpkg_layer(tmp_path, 3600, "points")
    tab = dock.push_tab
    tab.service_combo.setCurrentIndex(tab.service_combo.findData("mapiry"))
    tab.open_for_layer(layer)
    target = tab.target()
    target.new_radio.setChecked(True)
    target.title_edit.setText("Everything")
    sandbox.clear_requests()
    answer.will("cancel")
    tab.push_button.click()
    wait_until(lambda: answer.asked)
    text, informative, keys = answer.asked[0]
    assert text == "Push all 3,600 features of “points” to a new Mapiry map “Everything”?"
    assert keys == ["push", "cancel"]
    assert "Nothing is selected, so the whole layer goes." in informative
    assert "36 bulk requests" in informative and "waits for the hourly limit 1 time: about 1 h" in informative
    wait_until(lambda: tab.push_button.isEnabled())
    assert tab.run is None and tab.status_label.text() == "Push cancelled before anything was sent."
    assert not [r for r in sandbox.requests if r.method != "GET"], "nothing was sent"

    layer.selectByIds(list(range(1, 11)))            # a small selection goes without a question
    wait_until(lambda: tab.selected_check.isChecked())
    tab.push_button.click()
    wait_until(lambda: tab.run is not None)
    wait_until(lambda: tab.run is None)
    assert tab.status_label.text().startswith("Mapiry: 10 created. The new map “Everything”")


def test_cancel_says_not_sent_once_and_names_the_map_it_created(dock, qgis_iface, sandbox_env, answer):
    sandbox = sandbox_env
    sandbox.state.mapiry.limits["bulk"] = 0        # the map is created, then the bulk bucket is empty
    rows = [(f"POINT({i} 1)", [f"Spot {i}"]) for i in range(150)]
    layer = memory_layer("Point", "EPSG:4326", ["name:string"], rows, name="spots")
    QgsProject.instance().addMapLayer(layer)
    tab, target = open_push_tab(dock, "mapiry", layer)
    target.new_radio.setChecked(True)
    target.title_edit.setText("Spots")
    bar = qgis_iface.messageBar()
    bar.clear_messages()
    answer.will("push")
    tab.push_button.click()
    wait_until(lambda: tab.run is not None and "going on at" in tab.status_label.text())
    assert tab.progress.isVisible() or tab.progress.isVisibleTo(tab)
    tab.cancel_button.click()
    wait_until(lambda: tab.run is None)
    created = [m for m in sandbox.state.mapiry.get_maps() if m["title"] == "Spots"]
    assert len(created) == 1
    text = tab.status_label.text()
    assert text.startswith("Mapiry: push cancelled: 150 not sent. The new map “Spots”")
    assert f"({created[0]['id']}) was created and is empty" in text
    assert "failed" not in text and not tab.progress.isVisibleTo(tab), "no bar at 100 % after a cancel"
    shown = [m for level in (Qgis.MessageLevel.Info, Qgis.MessageLevel.Success, Qgis.MessageLevel.Warning,
                             Qgis.MessageLevel.Critical) for m in bar.get_messages(level)]
    assert len(shown) == 1 and "push cancelled" in shown[0], shown
    rows = [f["push_status"] for f in report_layers()[-1].getFeatures()]
    assert rows == ["not_sent"] * 150
    assert target.existing_radio.isChecked() and target.map_id_edit.text() == created[0]["id"]


def test_reports_are_kept_beside_the_project_under_names_that_tell_runs_apart(dock, sandbox_env, tmp_path):
    import os

    project = tmp_path / "work" / "survey.qgz"
    project.parent.mkdir()
    layer = shops()
    assert QgsProject.instance().write(str(project))
    layer.selectByIds([1, 2])
    tab, target = open_push_tab(dock, "mapiry", layer)
    target.use_map("map_demo")
    for _ in range(2):
        tab.push_button.click()
        wait_until(lambda: tab.run is not None)
        wait_until(lambda: tab.run is None)
        time.sleep(1.0)
    reports = report_layers()
    assert len(reports) == 2 and len({r.name() for r in reports}) == 2
    paths = [r.source().split("|")[0] for r in reports]
    assert len(set(paths)) == 2
    for path in paths:
        assert os.path.dirname(path) == str(tmp_path / "work" / "push_reports")
        assert os.path.basename(path).startswith("push_report_shops_to_mapiry_")


def test_switching_service_clears_the_summary_and_ticks_what_each_service_gets(dock, sandbox_env, tmp_path):
    from qgis.PyQt.QtCore import Qt

    layer = gpkg_layer(tmp_path, 5)
    layer.selectByIds([1])
    tab, target = open_push_tab(dock, "mapsemble", layer, "ms_plain")
    ticked = {tab.fields_list.item(i).text() for i in range(tab.fields_list.count())
              if tab.fields_list.item(i).checkState() == Qt.CheckState.Checked}
    assert ticked == {"record_id", "title_text", "rank"}, "the GeoPackage's fid is not data"
    tab.push_button.click()
    wait_until(lambda: tab.run is not None)
    wait_until(lambda: tab.run is None)
    sent = requests_of(sandbox_env, "mapsemble", "POST", "/features")[-1].json["features"][0]["properties"]
    assert "fid" not in sent and sent["record_id"] == "rec_00000000"
    assert tab.status_label.text().startswith("Mapsemble: 1 created")
    tab.service_combo.setCurrentIndex(tab.service_combo.findData("mapalyze"))
    assert tab.status_label.text() == "" and not tab.progress.isVisibleTo(tab)
    ticked = {tab.fields_list.item(i).text() for i in range(tab.fields_list.count())
              if tab.fields_list.item(i).checkState() == Qt.CheckState.Checked}
    assert ticked == {"title_text", "rank"}, "into Mapalyze, a record_id says which record it is, it is not data"


def test_the_map_combo_shows_the_start_of_long_names_and_the_tab_fits_the_dock(dock, sandbox_env):
    tab, target = open_push_tab(dock, "mapsemble", shops(), "ms_demo")
    combo = target.map_combo
    assert combo.currentText() == "Demo stores (ms_demo) · 25 features"
    wait_until(lambda: combo.lineEdit().cursorPosition() == 0, 2.0)   # the name shows, not the end of the text
    assert combo.toolTip() == combo.currentText()
    for service in ("mapiry", "mapsemble", "mapalyze"):
        tab.service_combo.setCurrentIndex(tab.service_combo.findData(service))
        assert tab.minimumSizeHint().width() <= 380, f"{service}: the tab fits the dock's default width"


def test_mapalyze_records_pushed_back_into_their_form_are_not_created_again(dock, sandbox_env, tmp_path, answer):
    """The analyst's round trip: load a form in the Mapalyze tab, push the layer back into it from the Push tab."""
    from mapbridge.tests.core.mapalyze.helpers import wait_for

    mapalyze = dock.mapalyze_tab
    mapalyze.folder_widget.setFilePath(str(tmp_path / "out"))
    mapalyze.form_combo.setEditText("form_Incident")
    mapalyze.load_button.click()
    wait_for(lambda: not mapalyze.loader.busy)
    layer = QgsProject.instance().mapLayer(mapalyze.last_layer_id)
    before = len(sandbox_env.state.mapalyze.records("form_Incident"))
    tab, target = open_push_tab(dock, "mapalyze", layer, "form_Incident")
    assert target.captured_combo.currentField() == "captured_at"
    answer.will("push")
    tab.push_button.click()
    wait_until(lambda: tab.run is not None)
    wait_until(lambda: tab.run is None)
    assert tab.status_label.text().startswith(f"Mapalyze: {layer.featureCount():,} skipped")
    assert requests_of(sandbox_env, "mapalyze", "POST") == []
    assert len(sandbox_env.state.mapalyze.records("form_Incident")) == before
    QgsProject.instance().removeAllMapLayers()


def test_a_geopackage_whose_key_is_not_called_fid_is_pushed_without_it_as_a_sync_would(dock, sandbox_env,
                                                                                          tmp_path):
    """One rule for push and sync: the provider's primary key (here `objectid`) numbers rows, it is not data."""
    from qgis.core import QgsVectorFileWriter, QgsVectorLayer
    from qgis.PyQt.QtCore import Qt

    rows = [(f"POINT({2 + i * 0.1} 45)", [f"Tree {i}", i]) for i in range(3)]
    memory = memory_layer("Point", "EPSG:4326", ["label:string", "height:integer"], rows, name="trees")
    path = str(tmp_path / "trees.gpkg")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName, options.layerName, options.layerOptions = "GPKG", "trees", ["FID=objectid"]
    error = QgsVectorFileWriter.writeAsVectorFormatV3(memory, path, QgsProject.instance().transformContext(),
                                                      options)
    assert error[0] == QgsVectorFileWriter.WriterError.NoError, error
    layer = QgsVectorLayer(f"{path}|layername=trees", "trees", "ogr")
    assert layer.isValid() and layer.fields().names() == ["objectid", "label", "height"]
    QgsProject.instance().addMapLayer(layer)
    layer.selectByIds([1, 2])
    for service in ("mapalyze", "mapsemble"):
        tab, target = open_push_tab(dock, service, layer, "ms_plain" if service == "mapsemble" else "form_TreeSurvey")
        ticked = {tab.fields_list.item(i).text() for i in range(tab.fields_list.count())
                  if tab.fields_list.item(i).checkState() == Qt.CheckState.Checked}
        assert ticked == {"label", "height"}, f"{service}: the GeoPackage's key column is not ticked"
        assert tab.fields_list.checked_names() is None, "the defaults: the algorithm decides what goes"
        tab.push_button.click()
        wait_until(lambda: dock.push_tab.run is not None)
        wait_until(lambda: dock.push_tab.run is None)
    sent = requests_of(sandbox_env, "mapsemble", "POST", "/features")[-1].json["features"]
    assert [f["properties"] for f in sent] == [{"label": "Tree 0", "height": 0}, {"label": "Tree 1", "height": 1}]
    records = requests_of(sandbox_env, "mapalyze", "POST", "/records")
    assert [r.json["data"] for r in records] == [{"label": "Tree 0", "height": 0}, {"label": "Tree 1", "height": 1}]


def test_records_already_in_the_form_in_other_spellings_are_not_sent_again(dock, sandbox_env, answer):
    """A layer without record_id holding the form's records as another tool wrote them: nothing is created."""
    form = "form_TreeSurvey"
    mapalyze = sandbox_env.state.mapalyze
    spots = [(10.5 + i * 0.01, 59.5) for i in range(3)]
    for i, (x, y) in enumerate(spots):
        mapalyze.add_record(form, [x, y], {"count": i + 1, "tags": ["oak", f"t{i}"], "seen": "2025-05-01T10:00:00Z"},
                            captured_at=f"2025-05-0{i + 1}T08:30:00Z")
    before = len(mapalyze.records(form))
    rows = [(f"POINT({x} {y})", [float(i + 1), f'["oak", "t{i}"]', "2025-05-01T10:00:00.000Z",
                                 f"2025-05-0{i + 1}T08:30:00.000+00:00"]) for i, (x, y) in enumerate(spots)]
    layer = memory_layer("Point", "EPSG:4326", ["count:double", "tags:string", "seen:string", "captured_at:string"],
                         rows, name="survey copy")
    QgsProject.instance().addMapLayer(layer)
    tab, target = open_push_tab(dock, "mapalyze", layer, form)
    assert target.captured_combo.currentField() == "captured_at"
    sandbox_env.clear_requests()
    answer.will("push")
    tab.push_button.click()
    wait_until(lambda: tab.run is not None)
    wait_until(lambda: tab.run is None)
    assert requests_of(sandbox_env, "mapalyze", "POST") == [], "1 and 1.0, a list and its JSON text, two spellings of "\
                                                                "one instant are the same values"
    assert len(mapalyze.records(form)) == before
    assert tab.status_label.text() == ("Mapalyze: 3 skipped: already in Mapalyze (same place and capture time); not "
                                       "sent again. The report layer lists every feature.")
