"""The Push tab's sync options end to end: keep the map in sync, the preview line, the sync run and its summary."""

from __future__ import annotations

import pytest
from qgis.core import QgsProject

from mapbridge.tests.processing.sync_helpers import edit, feature_id, places, write_gpkg, writes
from mapbridge.tests.ui.panel_helpers import open_push_tab, wait_until

pytestmark = pytest.mark.usefixtures("mapbridge_processing")


@pytest.fixture(autouse=True)
def shown(dock):
    """These tests look at what a user sees: the dock is on screen."""
    dock.show()


def preview_text(tab):
    tab.update_preview()
    wait_until(lambda: tab.sync_panel.preview_run is None)
    return tab.preview_label.text()


def run(tab):
    tab.push_button.click()
    wait_until(lambda: tab.run is None)
    return tab.status_label.text()


def test_keep_in_sync_previews_then_sends_only_what_changed(dock, sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(5), legend=True)
    tab, target = open_push_tab(dock, "mapsemble", layer, "ms_plain")
    panel = tab.sync_panel
    assert panel.isVisible() and not panel.key_combo.isVisible(), "options show once the sync is asked for"
    assert tab.push_button.text() == "Push"
    panel.keep_check.setChecked(True)
    assert panel.key_combo.isVisible() and panel.on_save_check.isVisible() and not panel.layer_combo.isVisible()
    assert tab.push_button.text() == "Sync"
    assert preview_text(tab) == "5 to create, 0 unchanged"
    summary = run(tab)
    assert "Mapsemble: 5 created" in summary
    assert [r.method for r in writes(sandbox, "mapsemble")] == ["POST"]
    reports = [lyr for lyr in QgsProject.instance().mapLayers().values() if lyr.name().startswith("Sync report")]
    assert len(reports) == 1 and reports[0].featureCount() == 5

    wait_until(lambda: tab.preview_label.text() == "5 unchanged", 10)       # counted again after the sync
    edit(layer, attributes=[(feature_id(layer, "code", "P-1"), "name", "Renamed")],
         deletes=[feature_id(layer, "code", "P-2")])
    wait_until(lambda: tab.preview_label.text() == "1 to update, 1 to delete, 3 unchanged", 10)     # and after saving
    sandbox.clear_requests()
    summary = run(tab)
    assert "Mapsemble: 1 updated, 1 deleted" in summary
    assert sorted(r.method for r in writes(sandbox, "mapsemble")) == ["DELETE", "PUT"]


def test_sync_is_offered_for_mapiry_and_mapsemble_only_and_remembers_a_synced_layer(dock, sandbox_env, tmp_path):
    layer = write_gpkg(tmp_path / "places.gpkg", places(3), legend=True)
    tab, target = open_push_tab(dock, "mapiry", layer)
    target.new_radio.setChecked(True)
    target.title_edit.setText("Synced from the dock")
    panel = tab.sync_panel
    panel.keep_check.setChecked(True)
    assert panel.layer_combo.isVisible(), "Mapiry layers come from a field"
    panel.key_combo.setField("code")
    panel.layer_combo.setField("kind")
    panel.on_save_check.setChecked(True)
    assert "Mapiry: 3 created" in run(tab)
    maps = [m for m in sandbox_env.state.mapiry.get_maps() if m["title"] == "Synced from the dock"]
    assert len(maps) == 1 and target.map_id_edit.text() == maps[0]["id"], "the new map is the target from now on"
    located = {loc["name"]: [x["name"] for x in loc["layers"]] for loc in sandbox_env.state.mapiry.locations(
        maps[0]["id"])}
    assert located == {"Place 0": ["Cafe"], "Place 1": ["Shop"], "Place 2": ["Cafe"]}

    tab.service_combo.setCurrentIndex(tab.service_combo.findData("mapalyze"))
    assert not panel.isVisibleTo(tab) and not panel.active()
    tab.service_combo.setCurrentIndex(tab.service_combo.findData("mapiry"))
    other = write_gpkg(tmp_path / "other.gpkg", places(2), legend=True)
    tab.layer_combo.setLayer(other)
    assert not panel.keep_check.isChecked(), "another layer is not synced"
    tab.layer_combo.setLayer(layer)
    assert panel.keep_check.isChecked() and panel.on_save_check.isChecked() and panel.key_combo.currentField() == "code"
    assert panel.layer_combo.currentField() == "kind", "the Mapiry layer field comes back too"
    tab.layer_combo.setLayer(other)
    assert panel.layer_combo.currentField() == "", "another layer does not take it"
