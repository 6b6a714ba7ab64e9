"""What synced layers run (ui/sync_runs.py) with the whole plugin loaded: Sync now and Unlink from the layer menu,
and a sync in the background each time the layer's edits are saved, with a summary in the message bar."""

from __future__ import annotations

from qgis.core import Qgis, QgsProcessingFeatureSourceDefinition

from mapbridge.tests.processing.push_helpers import run_alg
from mapbridge.tests.processing.sync_helpers import edit, feature_id, places, write_gpkg, writes
from mapbridge.tests.ui.panel_helpers import indicators, wait_until


def messages(qgis_iface, level):
    return qgis_iface.messageBar().get_messages(level)


def test_sync_now_sends_what_changed_and_unlink_forgets_the_link(loaded, layers_panel, qgis_iface, sandbox_env,
                                                                  tmp_path, monkeypatch):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(4), legend=True)
    run_alg("mapbridge:mapsemble_sync", {"INPUT": layer, "MAP_ID": "ms_plain", "LABEL_FIELD": "name",
                                         "OUTPUT": "memory:"})
    wait_until(lambda: indicators(layers_panel, layer))
    sync_now, unlink = loaded.sync_actions
    edit(layer, attributes=[(feature_id(layer, "code", "P-0"), "name", "Now")])
    sandbox.clear_requests()
    qgis_iface.messageBar().clear_messages()
    qgis_iface.setActiveLayer(layer)
    sync_now.action.trigger()
    wait_until(lambda: messages(qgis_iface, Qgis.MessageLevel.Success))
    assert messages(qgis_iface, Qgis.MessageLevel.Success) == ["Mapbridge:Mapsemble: 1 updated"]
    assert [r.method for r in writes(sandbox, "mapsemble")] == ["PUT"]

    monkeypatch.setattr("mapbridge.ui.sync_runs.confirm", lambda *args: True)
    qgis_iface.setActiveLayer(layer)
    unlink.action.trigger()
    assert indicators(layers_panel, layer) == [] and layer.id() not in sync_now.attached
    assert "mapbridge/sync" not in layer.customPropertyKeys()
    again, _ = run_alg("mapbridge:mapsemble_sync", {"INPUT": layer, "MAP_ID": "ms_plain", "LABEL_FIELD": "name",
                                                    "OUTPUT": "memory:"})
    assert again["CREATED"] == 4, "unlinked: the next sync starts afresh"


def test_edits_saved_are_synced_in_the_background_with_a_summary(loaded, layers_panel, qgis_iface, sandbox_env,
                                                                 tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(6), legend=True)
    dock = loaded.show_dock("Push")
    dock.open_for_layer(layer)
    dock.service_combo.setCurrentIndex(dock.service_combo.findData("mapsemble"))
    target = dock.target()
    target.activate()           # what showing the tab does (pytest-qgis's main window is never shown)
    wait_until(lambda: target.remote.loaded)
    target.remote.combo.setCurrentIndex(target.remote.combo.findData("ms_plain"))
    dock.sync_panel.keep_check.setChecked(True)
    dock.sync_panel.on_save_check.setChecked(True)
    dock.push_button.click()
    wait_until(lambda: dock.run is None)
    assert "6 created" in dock.status_label.text()
    wait_until(lambda: "syncs when edits are saved" in (indicators(layers_panel, layer) or [None])[0].toolTip()
               if indicators(layers_panel, layer) else False)

    sandbox.clear_requests()
    qgis_iface.messageBar().clear_messages()
    edit(layer, attributes=[(feature_id(layer, "code", "P-1"), "name", "Saved 1"),
                            (feature_id(layer, "code", "P-2"), "name", "Saved 2"),
                            (feature_id(layer, "code", "P-3"), "rank", 33)],
         deletes=[feature_id(layer, "code", "P-4")])
    wait_until(lambda: messages(qgis_iface, Qgis.MessageLevel.Success))
    assert messages(qgis_iface, Qgis.MessageLevel.Success) == ["Mapbridge:Mapsemble: 3 updated, 1 deleted"]
    stored = {f["properties"]["label"] for f in sandbox.state.mapsemble.features("ms_plain")}
    assert {"Saved 1", "Saved 2"} <= stored and "Place 4" not in stored

    qgis_iface.messageBar().clear_messages()
    edit(layer, adds=[(5.0, 52.0, {"name": "Added", "code": "A-1"})])
    wait_until(lambda: messages(qgis_iface, Qgis.MessageLevel.Success))
    assert messages(qgis_iface, Qgis.MessageLevel.Success) == ["Mapbridge:Mapsemble: 1 created"]




def test_a_link_made_from_a_selection_syncs_the_selection_and_refuses_an_empty_one(loaded, layers_panel, qgis_iface,
                                                                                    sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(6), legend=True)
    layer.selectByExpression('"rank" < 3')
    first, _ = run_alg("mapbridge:mapsemble_sync", {"INPUT": QgsProcessingFeatureSourceDefinition(layer.id(), True),
                                                    "MAP_ID": "ms_plain", "LABEL_FIELD": "name", "OUTPUT": "memory:"})
    assert first["CREATED"] == 3
    wait_until(lambda: indicators(layers_panel, layer))
    sync_now, _ = loaded.sync_actions
    edit(layer, attributes=[(feature_id(layer, "code", "P-0"), "name", "Selected and changed"),
                            (feature_id(layer, "code", "P-4"), "name", "Not selected")])
    layer.selectByExpression('"rank" < 3')
    sandbox.clear_requests()
    qgis_iface.messageBar().clear_messages()
    qgis_iface.setActiveLayer(layer)
    sync_now.action.trigger()
    wait_until(lambda: messages(qgis_iface, Qgis.MessageLevel.Success))
    assert messages(qgis_iface, Qgis.MessageLevel.Success) == ["Mapbridge:Mapsemble: 1 updated"]
    labels = {f["properties"]["label"] for f in sandbox.state.mapsemble.features("ms_plain")}
    assert "Selected and changed" in labels and "Not selected" not in labels and "Place 5" not in labels

    layer.removeSelection()
    sandbox.clear_requests()
    qgis_iface.messageBar().clear_messages()
    sync_now.action.trigger()
    errors = messages(qgis_iface, Qgis.MessageLevel.Critical)
    assert len(errors) == 1 and "none is selected now: nothing was sent" in errors[0]
    assert sandbox.requests == [] and len(sandbox.state.mapsemble.features("ms_plain")) == 5 + 3
