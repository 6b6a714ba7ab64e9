"""Synced layers in the Layers panel (ui/sync_indicator.py) with the whole plugin loaded: the indicator and its
tooltip, Sync now and Unlink in the layer menu, and a sync each time the layer's edits are saved."""

from __future__ import annotations

import time

import pytest
from qgis.core import Qgis, QgsLayerTreeModel, QgsProject
from qgis.gui import QgsLayerTreeView
from qgis.PyQt.QtCore import QCoreApplication

from mapbridge.tests.processing.push_helpers import run_alg
from mapbridge.tests.processing.sync_helpers import edit, feature_id, open_gpkg, places, write_gpkg, writes

pytestmark = pytest.mark.usefixtures("mapbridge_processing")


def wait_until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        QCoreApplication.processEvents()
        time.sleep(0.02)


@pytest.fixture
def layers_panel(qgis_iface, monkeypatch, qgis_new_project):
    """A real Layers panel (pytest-qgis's iface has none)."""
    view = QgsLayerTreeView()
    view.setModel(QgsLayerTreeModel(QgsProject.instance().layerTreeRoot()))
    monkeypatch.setattr(qgis_iface, "layerTreeView", lambda: view)
    yield view
    view.deleteLater()


@pytest.fixture
def loaded(layers_panel, sandbox_env, plugin):
    return plugin


def indicators(view, layer):
    node = QgsProject.instance().layerTreeRoot().findLayer(layer.id())
    return view.indicators(node)


def messages(qgis_iface, level):
    return qgis_iface.messageBar().get_messages(level)


def test_a_synced_layer_shows_its_map_and_last_sync_and_has_sync_now_and_unlink(loaded, layers_panel, qgis_iface,
                                                                                   sandbox_env, tmp_path, monkeypatch):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(4), legend=True)
    plain = write_gpkg(tmp_path / "plain.gpkg", places(1), legend=True)
    wait_until(lambda: loaded.sync_indicators.watched.keys() >= {layer.id(), plain.id()})
    assert indicators(layers_panel, layer) == []
    run_alg("mapbridge:mapsemble_sync", {"INPUT": layer, "MAP_ID": "ms_plain", "LABEL_FIELD": "name",
                                         "OUTPUT": "memory:"})
    wait_until(lambda: indicators(layers_panel, layer))
    tooltip = indicators(layers_panel, layer)[0].toolTip()
    assert tooltip.startswith("Synced with Mapsemble map ms_plain · last sync 20") and "UTC" in tooltip
    assert indicators(layers_panel, plain) == []
    sync_now, unlink = loaded.sync_actions
    qgis_iface.addCustomActionForLayer.assert_any_call(sync_now.action, layer)
    assert layer.id() in sync_now.attached and plain.id() not in sync_now.attached

    edit(layer, attributes=[(feature_id(layer, "code", "P-0"), "name", "Now")])
    sandbox.clear_requests()
    qgis_iface.messageBar().clear_messages()
    qgis_iface.setActiveLayer(layer)
    sync_now.action.trigger()
    wait_until(lambda: messages(qgis_iface, Qgis.MessageLevel.Success))
    assert messages(qgis_iface, Qgis.MessageLevel.Success) == ["Mapbridge:Mapsemble: 1 updated"]
    assert [r.method for r in writes(sandbox, "mapsemble")] == ["PUT"]

    monkeypatch.setattr("mapbridge.ui.sync_indicator.confirm", lambda *args: True)
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


def test_a_layer_synced_elsewhere_shows_it_when_added_to_the_project(loaded, layers_panel, sandbox_env, tmp_path):
    layer = write_gpkg(tmp_path / "places.gpkg", places(2))
    run_alg("mapbridge:mapsemble_sync", {"INPUT": layer, "MAP_ID": "ms_plain", "LABEL_FIELD": "name",
                                         "OUTPUT": "memory:"})           # not in the Layers panel: no indicator
    QgsProject.instance().removeMapLayer(layer.id())        # as if synced by qgis_process: the project forgot it
    fresh = open_gpkg(tmp_path / "places.gpkg", legend=True)
    assert "mapbridge/sync" not in fresh.customPropertyKeys()
    wait_until(lambda: indicators(layers_panel, fresh))
    assert indicators(layers_panel, fresh)[0].toolTip().startswith("Synced with Mapsemble map ms_plain")
    assert loaded.sync_indicators.is_synced(fresh)
