"""Synced layers in the Layers panel (ui/sync_indicator.py) with the whole plugin loaded: the indicator, its
tooltip, and the Sync now and Unlink entries of synced layers only."""

from __future__ import annotations

from qgis.core import QgsProject

from mapbridge.tests.processing.push_helpers import run_alg
from mapbridge.tests.processing.sync_helpers import open_gpkg, places, write_gpkg
from mapbridge.tests.ui.panel_helpers import indicators, wait_until


def test_a_synced_layer_shows_its_map_and_last_sync_and_gets_its_menu_entries(loaded, layers_panel, qgis_iface,
                                                                              sandbox_env, tmp_path):
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
    assert layer.id() in unlink.attached and plain.id() not in unlink.attached


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
