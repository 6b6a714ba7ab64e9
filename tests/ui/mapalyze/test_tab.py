"""The Mapalyze tab: Load in the background, Cancel, Refresh and Sync (tab and layer menu) across a project reload,
the same form loaded twice, status and progress, list fields, styles, auto-refresh."""

from __future__ import annotations

import os
import re
import time

import pytest
from qgis.core import (
    Qgis,
    QgsCategorizedSymbolRenderer,
    QgsProject,
    QgsSingleSymbolRenderer,
    QgsVectorLayer,
    QgsVectorLayerCache,
)
from qgis.gui import QgsAttributeTableModel
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QColor

from mapbridge.core.mapalyze import layer as mapalyze_layer
from mapbridge.core.mapalyze.load import WATERMARK_MARGIN_SECONDS
from mapbridge.core.timestamps import epoch_seconds
from mapbridge.core.qgis_compat import FIELD_DOUBLE
from mapbridge.tests.core.mapalyze.helpers import (
    assert_spatial_index,
    features_by_id,
    mapalyze_layers,
    settle,
    wait_for,
)
from mapbridge.plugin import REFRESH_TEXT
from mapbridge.ui.mapalyze.tab import MapalyzeTab

pytestmark = pytest.mark.usefixtures("mapbridge_processing")  # tests/conftest.py


@pytest.fixture
def tab(qgis_iface, qgis_new_project, sandbox_env, plugin, tmp_path):
    """The plugin's Mapalyze tab writing to tmp_path (shut down with the plugin after the test)."""
    qgis_iface.addCustomActionForLayer.reset_mock()
    widget = plugin.ensure_dock().mapalyze_tab
    widget.folder_widget.setFilePath(str(tmp_path / "out"))
    yield widget
    QgsProject.instance().removeAllMapLayers()


def load_with_tab(tab, form_id=None, count=1):
    if form_id:
        tab.form_combo.setEditText(form_id)
    tab.load_button.click()
    assert tab.loader.busy
    wait_for(lambda: not tab.loader.busy)
    layers = mapalyze_layers()
    assert len(layers) == count, tab.status.text()
    return next(layer for layer in layers if layer.id() == tab.last_layer_id)


def test_load_button_adds_a_styled_layer_that_remembers_its_source(tab, plugin, qgis_iface, sandbox_env, tmp_path):
    tab.fetch_forms()
    wait_for(lambda: tab.form_combo.count() > 1)
    index = tab.form_combo.findData("form_TreeSurvey")
    assert index > 0
    tab.form_combo.setCurrentIndex(index)
    layer = load_with_tab(tab)
    expected = sandbox_env.state.mapalyze.records("form_TreeSurvey")
    assert layer.featureCount() == len(expected)
    assert layer.source().startswith(str(tmp_path / "out" / "mapalyze_form_TreeSurvey.gpkg"))
    assert layer.providerType() == "ogr"
    assert layer.customProperty("mapbridge/service") == "mapalyze"
    assert layer.customProperty("mapbridge/form_id") == "form_TreeSurvey"
    assert layer.customProperty("mapbridge/newest") == max(r["properties"]["captured_at"] for r in expected)
    source_url = layer.customProperty("mapbridge/source_url")
    assert source_url.startswith(sandbox_env.base_urls["mapalyze"]) and "form_id=form_TreeSurvey" in source_url
    assert sandbox_env.tokens["mapalyze"] not in source_url
    assert layer.name() == "Mapalyze records (Tree survey)", "the form's name, not its id"
    assert isinstance(layer.renderer(), QgsSingleSymbolRenderer), "one form: one symbol, no 'Other' class"
    assert not layer.labelsEnabled()
    assert "Loaded" in tab.status.text() and f"{len(expected):,}" in tab.status.text()
    qgis_iface.addCustomActionForLayer.assert_any_call(plugin.refresh_action.action, layer)
    assert plugin.refresh_action.action.text() == REFRESH_TEXT


def test_cancel_stops_cleanly_and_leaves_no_layer(tab, sandbox_env, tmp_path):
    sandbox_env.add_fault("mapalyze", "latency", path="^/records$", after=1, count=None, latency_ms=2000)
    progress = []
    tab.loader.progress.connect(lambda p, text: progress.append(p))
    tab.load_button.click()
    wait_for(lambda: progress and progress[-1] > 0, timeout=30)
    tab.cancel_button.click()
    wait_for(lambda: not tab.loader.busy, timeout=30)
    assert mapalyze_layers() == []
    assert tab.status.text() == "Mapalyze: Cancelled; nothing was saved."
    folder = tmp_path / "out"
    assert [name for name in os.listdir(folder)] == []
    assert tab.load_button.isEnabled() and not tab.cancel_button.isEnabled()
    settle(2.0)


def test_refresh_appends_only_new_records_and_survives_a_project_reload(tab, plugin, qgis_iface, sandbox_env,
                                                                      tmp_path):
    svc = sandbox_env.state.mapalyze
    sandbox_env.clock_offset = -3600.0      # the server's clock is an hour behind this computer's
    layer = load_with_tab(tab, "form_Incident")
    first_count = layer.featureCount()
    watermark = layer.customProperty("mapbridge/watermark")
    assert abs(epoch_seconds(watermark) - (time.time() - 3600)) < 5, "the watermark is on the server's clock"
    newest = layer.customProperty("mapbridge/newest")
    # Captured offline long before the layer's newest record, reaching the server only now.
    new = [svc.add_record("form_Incident", [2.0 + i, 45.0], {"severity": 3, "description": f"new {i}"},
                          captured_at=f"2025-01-0{i + 1}T08:00:00Z") for i in range(3)]
    assert all(r["properties"]["captured_at"] < newest for r in new)
    sandbox_env.clear_requests()
    qgis_iface.setActiveLayer(layer)
    tab.refresh_button.click()
    wait_for(lambda: not tab.refresher.busy)
    assert layer.featureCount() == first_count + 3, tab.status.text()
    since = {r.query.get("since", [None])[0] for r in sandbox_env.requests if r.path == "/records"}
    assert [epoch_seconds(s) for s in since] == [epoch_seconds(watermark) - WATERMARK_MARGIN_SECONDS]
    assert set(features_by_id(layer)) >= {r["id"] for r in new}  # and no record twice
    assert "3 new records" in tab.status.text()

    tab.refresh_layer(layer)  # nothing new: nothing added (the margin brings the three again: recognised)
    wait_for(lambda: not tab.refresher.busy)
    assert layer.featureCount() == first_count + 3 and "no new records" in tab.status.text()

    project_file = str(tmp_path / "project.qgz")
    assert QgsProject.instance().write(project_file)
    QgsProject.instance().clear()
    assert QgsProject.instance().read(project_file)
    wait_for(lambda: len(mapalyze_layers()) == 1)
    reloaded = mapalyze_layers()[0]
    assert reloaded.customProperty("mapbridge/form_id") == "form_Incident"
    wait_for(lambda: any(call.args[1] is reloaded for call in qgis_iface.addCustomActionForLayer.call_args_list))

    later = [svc.add_record("form_Incident", [3.0, 46.0], {"severity": 2.5, "extra_note": "added later"})
             for _ in range(2)]
    qgis_iface.setActiveLayer(reloaded)
    plugin.refresh_action.action.trigger()  # the layer context-menu entry
    wait_for(lambda: not tab.refresher.busy)
    assert reloaded.featureCount() == first_count + 5, tab.status.text()
    by_id = features_by_id(reloaded)
    assert len(by_id) == first_count + 5
    assert reloaded.fields().field("severity").type() == FIELD_DOUBLE  # 2.5 widened the integer field
    assert by_id[later[0]["id"]]["extra_note"] == "added later"
    assert by_id[new[0]["id"]]["severity"] == 3.0
    assert_spatial_index(reloaded, (1.5, 44.0, 3.5, 47.0))  # the refreshed points are in the index


def test_refresh_menu_action_is_only_for_mapalyze_layers(tab, plugin, qgis_iface):
    other = QgsVectorLayer("Point?crs=EPSG:4326", "other", "memory")
    QgsProject.instance().addMapLayer(other)
    wait_for(lambda: True, timeout=0.1)
    assert all(call.args[1] is not other for call in qgis_iface.addCustomActionForLayer.call_args_list)
    qgis_iface.addCustomActionForLayerType.assert_any_call(plugin.refresh_action.action, "",
                                                           qgis_iface.addCustomActionForLayerType.call_args[0][2],
                                                           False)
    assert not mapalyze_layer.is_mapalyze_layer(other)


def test_shutdown_stops_the_auto_refresh_timer(qgis_iface, qgis_new_project):
    widget = MapalyzeTab(qgis_iface)
    widget.auto_spin.setValue(5)
    assert widget.auto.timer.isActive() and widget.auto.timer.interval() == 5 * 60 * 1000
    widget.shutdown()
    assert not widget.auto.timer.isActive()
    widget.auto_spin.setValue(0)


def test_shutdown_mid_load_and_refresh_lets_both_end_without_touching_the_tab(qgis_iface, qgis_new_project,
                                                                              sandbox_env, tmp_path, monkeypatch):
    from qgis.core import QgsApplication, QgsTask
    from qgis.PyQt.QtCore import QCoreApplication, QEvent

    errors = []
    monkeypatch.setattr("sys.excepthook", lambda *exc: errors.append(exc))
    widget = MapalyzeTab(qgis_iface)
    widget.folder_widget.setFilePath(str(tmp_path / "out"))
    layer = load_with_tab(widget, "form_Incident")
    sandbox_env.state.mapalyze.add_record("form_Incident", [2.0, 45.0], {"severity": 3})
    sandbox_env.add_fault("mapalyze", "latency", path="^/records$", count=None, latency_ms=700)
    qgis_iface.setActiveLayer(layer)
    widget.refresh_button.click()
    widget.loader.load(form_id="form_TreeSurvey", folder=str(tmp_path / "out"))  # the tab's button waits
    assert widget.loader.busy and widget.refresher.busy
    # Both started (their first page is in its 700 ms) before the shutdown: cancelling a task QGIS 3.22 has
    # queued but not started can crash it (QgsTask::start on a deleted task), not what this test is about.
    running = QgsTask.TaskStatus.Running
    wait_for(lambda: widget.refresher.run.task.status() == running == widget.loader.run.task.status())
    widget.shutdown()
    widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    wait_for(lambda: QgsApplication.taskManager().countActiveTasks() == 0, timeout=30)
    wait_for(lambda: True, timeout=0.5)  # let the tasks' finished() run on this thread
    assert errors == []  # no callback reached the deleted tab
    assert mapalyze_layers() == [layer]  # the detached load added no layer
    assert sorted(os.listdir(tmp_path / "out")) == ["mapalyze_form_Incident.gpkg"]  # nor left a partial file
    settle(0.7)


def test_sync_applies_the_difference_in_place_keeping_the_layer_its_style_and_place(tab, qgis_iface, sandbox_env):
    svc = sandbox_env.state.mapalyze
    layer = load_with_tab(tab, "form_WaterPoint")
    root = QgsProject.instance().layerTreeRoot()
    group = root.insertGroup(0, "Field data")
    node = root.findLayer(layer.id())
    group.addChildNode(node.clone())
    root.removeChildNode(node)
    symbol = layer.renderer().symbol().clone()
    symbol.setColor(QColor("#123456"))
    layer.renderer().setSymbol(symbol)            # the user's own style
    records = svc.records("form_WaterPoint")
    changed, gone = records[0]["id"], records[1]["id"]
    svc.update_record(changed, {"functional": False, "flow_lpm": 1.25})
    svc.delete_record(gone)
    added = svc.add_record("form_WaterPoint", [36.8, -1.3], {"source_type": "tap"})
    count = layer.featureCount()
    qgis_iface.setActiveLayer(layer)
    tab.sync_button.click()
    assert tab.refresher.busy and tab.cancel_button.isEnabled()
    wait_for(lambda: not tab.refresher.busy)
    assert "+1 added, ~1 changed, −1 removed" in tab.status.text(), tab.status.text()
    assert mapalyze_layers() == [layer], "the same layer, no second one"
    assert layer.featureCount() == count
    by_id = features_by_id(layer)
    assert gone not in by_id and added["id"] in by_id
    assert by_id[changed]["functional"] is False and by_id[changed]["flow_lpm"] == 1.25
    assert layer.renderer().symbol().color().name() == "#123456", "the user's style is kept"
    assert group.findLayer(layer.id()) is not None, "still in its group"
    messages = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Success)
    assert messages and "+1 added, ~1 changed, −1 removed" in messages[-1]

    plugin_sync = [a for a in qgis_iface.addCustomActionForLayer.call_args_list if a.args[1] is layer]
    assert any(a.args[0].text() == "Sync with Mapalyze" for a in plugin_sync), "also in the layer's menu"
    tab.sync_layer(layer)
    wait_for(lambda: not tab.refresher.busy)
    assert "already up to date" in tab.status.text()


def test_loading_the_same_form_twice_offers_refresh_or_sync(tab, qgis_iface, sandbox_env, answer):
    svc = sandbox_env.state.mapalyze
    layer = load_with_tab(tab, "form_Incident")
    new = svc.add_record("form_Incident", [2.0, 45.0], {"severity": 1})
    answer.will("refresh")
    tab.load_button.click()
    wait_for(lambda: not tab.refresher.busy and not tab.loader.busy)
    text, informative, keys = answer.asked[-1]
    assert f"“{layer.name()}” already holds" in text and keys == ["refresh", "sync", "copy", "cancel"]
    assert "Sync also updates changed records and removes" in informative
    assert mapalyze_layers() == [layer] and new["id"] in features_by_id(layer)

    answer.will("cancel")
    tab.load_button.click()
    assert not tab.loader.busy and not tab.refresher.busy and mapalyze_layers() == [layer]

    answer.will("copy")
    tab.load_button.click()
    wait_for(lambda: not tab.loader.busy)
    layers = mapalyze_layers()
    assert len(layers) == 2 and len({lyr.name() for lyr in layers}) == 2, "a copy gets a name of its own"
    assert len({lyr.source() for lyr in layers}) == 2


def test_status_line_and_progress_bar_always_agree(tab, sandbox_env):
    """Every (percent, text) the tab shows while loading: the text's "N of M" is the bar's percent."""
    sandbox_env.add_fault("mapalyze", "latency", path="^/records$", count=None, latency_ms=400)
    shown = []
    tab.loader.progress.connect(lambda percent, text: shown.append((tab.progress_bar.value(), tab.status.text())))
    tab.form_combo.setCurrentIndex(0)
    load_with_tab(tab)
    counted = [(value, re.search(r"Loaded ([\d,]+) of ([\d,]+) records", text)) for value, text in shown]
    counted = [(value, int(m[1].replace(",", "")) / int(m[2].replace(",", ""))) for value, m in counted if m]
    assert len(counted) >= 2
    for value, share in counted:
        assert abs(value - int(99 * share)) <= 1, (value, share)


def agreement(shown, spans):
    """The (bar, share of "N of M") pairs of the lines whose verb has a span; each bar must be its span's share."""
    pairs = []
    for value, text in shown:
        match = re.search(r"(\w+) ([\d,]+) of ([\d,]+) records", text)
        if match and match[1] in spans:
            start, end = spans[match[1]]
            share = int(match[2].replace(",", "")) / int(match[3].replace(",", ""))
            pairs.append((match[1], value, start + (end - start) * share))
    return pairs


def test_refresh_and_sync_status_and_progress_bar_agree_and_reopen_the_layer_once(tab, qgis_iface, sandbox_env):
    """The same rule for Refresh ("Checked N of M") and Sync ("Fetched", then "Compared N of M"); each ends with
    one reopen of the GeoPackage on the main thread (the provider reloads its data once)."""
    from mapbridge.core.mapalyze.sync import COMPARE_SPAN, LOAD_SPAN

    layer = load_with_tab(tab, "form_TreeSurvey")
    reloads = []
    layer.dataProvider().dataChanged.connect(lambda: reloads.append(layer.featureCount()))
    sandbox_env.add_fault("mapalyze", "latency", path="^/records$", count=None, latency_ms=300)
    shown = []
    tab.refresher.progress.connect(lambda percent, text: shown.append((tab.progress_bar.value(), tab.status.text())))
    qgis_iface.setActiveLayer(layer)
    for button, spans, verbs in ((tab.refresh_button, {"Checked": (0.0, 99.0)}, {"Checked"}),
                                 (tab.sync_button, {"Fetched": LOAD_SPAN, "Compared": COMPARE_SPAN},
                                  {"Fetched", "Compared"})):
        shown.clear()
        reloads.clear()
        for i in range(1200):        # pages enough for several progress lines
            sandbox_env.state.mapalyze.add_record("form_TreeSurvey", [10.0 + i * 1e-4, 59.9], {"species": "Betula"})
        button.click()
        wait_for(lambda: not tab.refresher.busy)
        pairs = agreement(shown, spans)
        seen = {verb for verb, _, _ in pairs}
        # The dock looks at the job five times a second: a comparison done within that may never be shown, the
        # paging (300 ms a page here) always is.
        assert seen <= verbs and ("Checked" in seen or "Fetched" in seen), shown
        for verb, value, expected in pairs:
            assert abs(value - int(expected)) <= 1, (verb, value, expected)
        values = [value for value, _ in shown]
        assert values == sorted(values), "the bar never goes back"
        assert reloads == [layer.featureCount()], "one reload of the provider, with the new record counted"


def test_form_names_arriving_after_a_load_name_the_layer_and_its_legend(tab, sandbox_env):
    """Loaded before the forms were listed: ids first; when the names come, the layer and legend show them."""
    tab.form_names.clear()
    tab.form_combo.clear()
    tab.form_combo.setEditText("")
    sandbox_env.add_fault("mapalyze", "latency", path="^/forms$", count=None, latency_ms=4000)
    layer = load_with_tab(tab)      # the form list the load asks for arrives after the layer
    renderer = layer.renderer()
    assert isinstance(renderer, QgsCategorizedSymbolRenderer)
    labels = [c.label() for c in renderer.categories()]
    assert "form_TreeSurvey" in labels and "Tree survey" not in labels, labels
    wait_for(lambda: tab.form_combo.count() > 1, timeout=30)
    labels = [c.label() for c in layer.renderer().categories()]
    assert sorted(labels) == sorted(["Grid inspection", "Tree survey", "Water point", "Incident", "Other forms"])
    single = load_with_tab(tab, "form_Incident", count=2)
    assert single.name() == "Mapalyze records (Incident)"


def test_list_fields_show_as_lists_in_the_attribute_table(tab):
    layer = load_with_tab(tab, "form_TreeSurvey")
    index = layer.fields().indexOf("photos")
    assert layer.editorWidgetSetup(index).type() == "List"
    cache = QgsVectorLayerCache(layer, 1000)
    model = QgsAttributeTableModel(cache)
    model.loadLayer()
    shown = {}
    for row in range(model.rowCount()):
        feature = model.feature(model.index(row, 0))
        shown[feature["record_id"]] = (model.data(model.index(row, index), Qt.ItemDataRole.DisplayRole),
                                       feature["photos"])
    with_photos = [(text, value) for text, value in shown.values() if value and len(value) > 1]
    assert with_photos
    for text, value in with_photos:
        assert text == ", ".join(value), "the photo ids, readable, in the table"
    assert isinstance(with_photos[0][1], list), "the value stays a list: photo ids stay usable in expressions"


def test_all_forms_get_distinct_colours_biggest_first_and_names_in_the_legend(tab, sandbox_env):
    tab.fetch_forms()
    wait_for(lambda: tab.form_combo.count() > 1)
    tab.form_combo.setCurrentIndex(0)
    layer = load_with_tab(tab)
    renderer = layer.renderer()
    assert isinstance(renderer, QgsCategorizedSymbolRenderer)
    categories = renderer.categories()
    sizes = {}
    for record in sandbox_env.state.mapalyze.records():
        sizes[record["properties"]["form_id"]] = sizes.get(record["properties"]["form_id"], 0) + 1
    forms = [c.value() for c in categories if c.value()]
    assert forms == sorted(sizes, key=lambda f: -sizes[f]), "the biggest form first"
    assert [c.label() for c in categories] == ["Grid inspection", "Tree survey", "Water point", "Incident",
                                               "Other forms"]
    colours = [c.symbol().color() for c in categories[:-1]]
    assert len({c.name() for c in colours}) == len(colours)
    for colour in colours:
        assert colour.saturation() > 60, f"{colour.name()} is not a grey"
    other = categories[-1].symbol().color()
    assert other.alpha() == 0, "'Other forms' is a hollow ring, unlike any form's marker"


def test_auto_refresh_is_one_quiet_summary(tab, qgis_iface, sandbox_env):
    svc = sandbox_env.state.mapalyze
    load_with_tab(tab, "form_Incident")
    load_with_tab(tab, "form_WaterPoint", count=2)
    bar = qgis_iface.messageBar()
    bar.clear_messages()
    tab.refresh_all()                       # what the timer does
    wait_for(lambda: tab._auto is None and not tab.refresher.busy)
    assert all(bar.get_messages(level) == [] for level in (Qgis.MessageLevel.Info, Qgis.MessageLevel.Success,
                                                             Qgis.MessageLevel.Warning, Qgis.MessageLevel.Critical))
    assert re.search(r"Auto-refresh at \d\d:\d\d: no new records in 2 layers", tab.status.text())
    svc.add_record("form_Incident", [2.0, 45.0], {"severity": 1})
    svc.add_record("form_Incident", [2.1, 45.0], {"severity": 2})
    tab.refresh_all()
    wait_for(lambda: tab._auto is None and not tab.refresher.busy)
    messages = bar.get_messages(Qgis.MessageLevel.Success)
    assert len(messages) == 1 and "Mapalyze auto-refresh: 2 new records (Mapalyze records (Incident): 2)" \
        in messages[0], messages
    assert all(bar.get_messages(level) == [] for level in (Qgis.MessageLevel.Info, Qgis.MessageLevel.Warning))


def test_auto_refresh_with_new_records_and_a_failure_shows_one_bar(tab, qgis_iface, sandbox_env):
    """Records arrived in one layer, another could not be refreshed: one warning bar saying both."""
    svc = sandbox_env.state.mapalyze
    incident = load_with_tab(tab, "form_Incident")
    water = load_with_tab(tab, "form_WaterPoint", count=2)
    path = mapalyze_layer.source_of(water)[0]
    os.rename(path, path + ".moved")            # its GeoPackage is gone: that layer's refresh fails
    try:
        svc.add_record("form_Incident", [2.0, 45.0], {"severity": 1})
        bar = qgis_iface.messageBar()
        bar.clear_messages()
        tab.refresh_all()
        wait_for(lambda: tab._auto is None and not tab.refresher.busy)
        shown = {level: bar.get_messages(level) for level in (Qgis.MessageLevel.Info, Qgis.MessageLevel.Success,
                                                               Qgis.MessageLevel.Warning, Qgis.MessageLevel.Critical)}
        assert sum(len(messages) for messages in shown.values()) == 1, shown
        (message,) = shown[Qgis.MessageLevel.Warning]
        assert f"Mapalyze auto-refresh: 1 new record ({incident.name()}: 1). 1 of 2 layers could not be refreshed: " \
               f"could not open the layer's GeoPackage {path}" in message, message
        assert tab.status.text() in message
    finally:
        os.rename(path + ".moved", path)
