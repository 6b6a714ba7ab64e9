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
    """What QGIS loads at start: no HTTP stack, no GDAL bindings, no dock, none of the standard library a job needs
    first (json, html, urllib.parse: a third of the load); make bench times it in the desktop."""
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
    heavy = {m for m in loaded if m.split(".")[0] in ("requests", "urllib3", "osgeo", "socks", "json", "html")}
    heavy |= {m for m in loaded if m.startswith(("mapbridge.api.http", "mapbridge.ui.dock", "mapbridge.ui.mapalyze",
                                                 "mapbridge.ui.mapflow", "mapbridge.ui.push", "mapbridge.core.push.job",
                                                 "mapbridge.core.mapalyze.load", "mapbridge.core.mapflow.result",
                                                 "mapbridge.core.log", "mapbridge.core.feedback", "urllib.parse"))}
    assert heavy == set()



def test_no_master_password_prompt_at_start_up_until_the_user_asks(qgis_iface, qgis_new_project, sandbox, tmp_path):
    """Dock left open, auto-refresh on, a Mapalyze layer in the project, tokens stored: QGIS starts, the dock shows,
    every tab is looked at, auto-refresh ticks; nothing asks for the master password until Load is clicked."""
    from qgis.core import QgsApplication, QgsProject, QgsSettings

    from mapbridge.core import credentials, settings_keys
    from mapbridge.core.mapalyze.layer import mark
    from mapbridge.tests.conftest import MASTER_PASSWORD, CountingCredentials
    from mapbridge.tests.core.mapalyze.helpers import wait_for

    manager = QgsApplication.authManager()
    for service in ("mapalyze", "mapflow", "mapiry", "mapsemble"):
        QgsSettings().setValue(settings_keys.service_url(service), sandbox.base_urls[service])
        credentials.store_token(service, sandbox.tokens[service])
    from qgis.core import QgsVectorLayer

    old = QgsVectorLayer("Point?crs=EPSG:4326&field=record_id:string&field=form_id:string", "old records", "memory")
    mark(old, form_id="form_Incident", watermark="2026-01-01T00:00:00Z")
    QgsProject.instance().addMapLayer(old)
    QgsSettings().setValue(settings_keys.DOCK_OPEN, True)
    QgsSettings().setValue(settings_keys.MAPALYZE_AUTO_REFRESH_MINUTES, 1)
    counting = CountingCredentials(MASTER_PASSWORD)
    manager.clearMasterPassword()
    assert not manager.masterPasswordIsSet()
    plugin = mapbridge.classFactory(qgis_iface)
    try:
        plugin.initProcessing()
        plugin.initGui()                        # what QGIS does at start
        wait_for(lambda: plugin.dock is not None and not plugin.dock.isHidden(), timeout=5)
        dock = plugin.dock
        for name in ("Mapalyze", "Mapflow", "Push", "Settings"):
            dock.show_tab(name)
        push = dock.push_tab
        for service in ("mapiry", "mapsemble", "mapalyze"):
            push.service_combo.setCurrentIndex(push.service_combo.findData(service))
            push.target().activate()            # what showing it does
        dock.mapalyze_tab.refresh_all()         # what the auto-refresh timer does
        from mapbridge.tests.core.mapalyze.helpers import settle

        settle(1.0)
        assert counting.asked == 0 and not manager.masterPasswordIsSet(), "nothing asked before the user did"
        assert "waits for the QGIS master password" in dock.mapalyze_tab.status.text()
        assert "lists yours" in push.targets[1].status_label.text()

        tab = dock.show_tab("Mapalyze")
        tab.folder_widget.setFilePath(str(tmp_path / "out"))
        tab.form_combo.setEditText("form_WaterPoint")
        tab.load_button.click()                 # the user asks for something that needs the token
        assert counting.asked == 1 and manager.masterPasswordIsSet()
        wait_for(lambda: not tab.loader.busy)
        assert "Loaded" in tab.status.text()
    finally:
        plugin.unload()
        QgsProject.instance().removeAllMapLayers()
        if not manager.masterPasswordIsSet():
            manager.setMasterPassword(MASTER_PASSWORD, True)
        for service in ("mapalyze", "mapflow", "mapiry", "mapsemble"):
            credentials.clear_token(service)


def test_a_waiting_mapflow_processing_asks_nothing_at_start_when_the_token_needs_the_master_password(
        qgis_iface, qgis_new_project, sandbox, monkeypatch):
    """Dock closed, a tracked processing still running, the token stored behind a locked authentication database:
    QGIS starts without building the dock or asking anything; the processing waits until the user opens Mapbridge."""
    from qgis.core import QgsApplication, QgsSettings

    from mapbridge.core import credentials, settings_keys
    from mapbridge.core.mapflow.tracked import TrackedProcessings
    from mapbridge.tests.conftest import MASTER_PASSWORD, CountingCredentials
    from mapbridge.tests.core.mapalyze.helpers import settle

    monkeypatch.delenv("MAPBRIDGE_MAPFLOW_TOKEN", raising=False)
    manager = QgsApplication.authManager()
    QgsSettings().setValue(settings_keys.service_url("mapflow"), sandbox.base_urls["mapflow"])
    credentials.store_token("mapflow", sandbox.tokens["mapflow"])
    QgsSettings().setValue(settings_keys.DOCK_OPEN, False)
    QgsSettings().setValue(settings_keys.MAPALYZE_AUTO_REFRESH_MINUTES, 0)
    TrackedProcessings().upsert("proc-waiting", status="IN_PROGRESS", name="Waiting")
    counting = CountingCredentials(MASTER_PASSWORD)
    manager.clearMasterPassword()
    plugin = mapbridge.classFactory(qgis_iface)
    try:
        plugin.initProcessing()
        plugin.initGui()
        settle(1.0)
        assert plugin.dock is None and counting.asked == 0 and not manager.masterPasswordIsSet()
    finally:
        plugin.unload()
        TrackedProcessings().remove("proc-waiting")
        if not manager.masterPasswordIsSet():
            manager.setMasterPassword(MASTER_PASSWORD, True)
        credentials.clear_token("mapflow")
