"""Plugin load/unload (plugin.py) and dock construction with pytest-qgis's interface (`plugin`: tests/conftest.py)."""

from __future__ import annotations

import configparser
from pathlib import Path

from qgis.core import QgsApplication
from qgis.PyQt.QtWidgets import QDockWidget, QTabWidget

import mapbridge

ROOT = Path(mapbridge.__file__).resolve().parent


def test_metadata_is_complete_for_the_plugin_repository():
    parser = configparser.ConfigParser()
    parser.read(ROOT / "metadata.txt", encoding="utf-8")
    general = parser["general"]
    for key in ("name", "description", "about", "version", "qgisMinimumVersion", "author", "email", "tracker",
                "repository", "homepage", "tags", "changelog", "icon"):
        assert general.get(key, "").strip(), f"metadata.txt lacks {key}"
    assert general["name"] == "Mapbridge"
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["hasProcessingProvider"] == "yes"
    assert general["supportsQt6"] == "True"
    assert (ROOT / general["icon"]).exists()
    assert (ROOT / "LICENSE").read_text().find("GNU GENERAL PUBLIC LICENSE") >= 0


def test_load_registers_provider_and_action_and_builds_the_dock_on_first_show(plugin, qgis_iface):
    registry = QgsApplication.processingRegistry()
    provider = registry.providerById("mapbridge")
    assert provider is not None and provider.name() == "Mapbridge"
    assert registry.algorithmById("mapbridge:check_connections") is not None
    assert plugin.dock is None, "the dock is built when it is first shown, not at QGIS start"
    plugin.action.setChecked(True)
    dock = plugin.dock
    assert isinstance(dock, QDockWidget) and dock.objectName() == "MapbridgeDock"
    tabs = dock.findChild(QTabWidget, "MapbridgeTabs")
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Mapalyze", "Mapflow", "Push", "Settings"]
    assert plugin.action.isCheckable()
    assert dock.isVisible() or not dock.isHidden()
    plugin.action.setChecked(False)
    assert dock.isHidden()
    plugin.action.setChecked(True)
    assert plugin.dock is dock, "built once"


def test_unload_removes_everything(qgis_iface):
    registry = QgsApplication.processingRegistry()
    instance = mapbridge.classFactory(qgis_iface)
    instance.initProcessing()
    instance.initGui()
    dock = instance.ensure_dock()
    actions = (instance.push_action.action, instance.refresh_action.action,
               *(entry.action for entry in instance.sync_actions))
    assert [a.text() for a in actions[2:]] == ["Sync now", "Unlink from web map"]
    instance.unload()
    assert instance.sync_indicators is None and instance.sync_actions == []
    assert registry.providerById("mapbridge") is None
    assert instance.dock is None and instance.action is None and instance.provider is None
    assert dock.parent() is None
    for action in actions:      # the layer context-menu entries are gone too
        qgis_iface.removeCustomActionForLayerType.assert_any_call(action)
    # Reload works and leaves exactly one provider.
    again = mapbridge.classFactory(qgis_iface)
    again.initProcessing()
    again.initGui()
    assert registry.providerById("mapbridge") is not None
    again.unload()
    assert registry.providerById("mapbridge") is None


def test_push_to_entry_opens_the_push_tab_on_the_layer(plugin, qgis_iface, qgis_new_project):
    from qgis.core import QgsProject, QgsVectorLayer

    layer = QgsVectorLayer("Point?crs=EPSG:4326&field=name:string", "shops", "memory")
    QgsProject.instance().addMapLayer(layer)
    qgis_iface.setActiveLayer(layer)
    assert plugin.push_action.action.text() == "Push to…"
    plugin.push_action.action.trigger()
    dock = plugin.dock
    assert dock is not None and dock.tabs.currentWidget() is dock.push_tab
    assert dock.push_tab.layer_combo.currentLayer() is layer
    QgsProject.instance().removeAllMapLayers()


STARTUP_PROBE = """
import sys
from unittest import mock
sys.path.insert(0, sys.argv[1])
from qgis.core import QgsApplication
from qgis.PyQt.QtWidgets import QMainWindow
app = QgsApplication([], True)
app.initQgis()
before = set(sys.modules)
iface = mock.MagicMock()
window = QMainWindow()
iface.mainWindow.return_value = window
import mapbridge
plugin = mapbridge.classFactory(iface)
plugin.initGui()
print(len(QgsApplication.processingRegistry().providerById("mapbridge").algorithms()))
print(" ".join(sorted(set(sys.modules) - before)))
"""


def test_start_up_imports_only_the_toolbar_menu_entries_and_provider(tmp_path):
    """What QGIS loads at start: no HTTP stack, no GDAL bindings, no dock (make bench times it in the desktop)."""
    import os
    import subprocess
    import sys

    probe = tmp_path / "probe.py"
    probe.write_text(STARTUP_PROBE)
    plugins_dir = str(Path(mapbridge.__file__).parent.parent)   # .build/plugins: the checkout as mapbridge
    proc = subprocess.run([sys.executable, "-P", str(probe), plugins_dir], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    count, loaded = proc.stdout.strip().splitlines()[-2:]
    assert int(count) >= 9, "every algorithm is registered at start"
    loaded = set(loaded.split())
    heavy = {m for m in loaded if m.split(".")[0] in ("requests", "urllib3", "osgeo", "socks")}
    heavy |= {m for m in loaded if m.startswith(("mapbridge.api.http", "mapbridge.ui.dock", "mapbridge.ui.mapalyze",
                                                 "mapbridge.ui.mapflow", "mapbridge.ui.push", "mapbridge.core.push.job",
                                                 "mapbridge.core.mapalyze.load", "mapbridge.core.mapflow.result"))}
    assert heavy == set()

