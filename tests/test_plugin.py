"""Plugin load/unload and dock construction with pytest-qgis's interface."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from qgis.core import QgsApplication
from qgis.PyQt.QtWidgets import QDockWidget, QTabWidget

import mapbridge

ROOT = Path(mapbridge.__file__).resolve().parent


@pytest.fixture
def plugin(qgis_iface):
    instance = mapbridge.classFactory(qgis_iface)
    instance.initProcessing()
    instance.initGui()
    yield instance
    instance.unload()


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


def test_load_registers_provider_dock_and_action(plugin, qgis_iface):
    registry = QgsApplication.processingRegistry()
    provider = registry.providerById("mapbridge")
    assert provider is not None and provider.name() == "Mapbridge"
    assert registry.algorithmById("mapbridge:check_connections") is not None
    dock = plugin.dock
    assert isinstance(dock, QDockWidget) and dock.objectName() == "MapbridgeDock"
    tabs = dock.findChild(QTabWidget, "MapbridgeTabs")
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Mapalyze", "Mapflow", "Push", "Settings"]
    assert plugin.action.isCheckable()
    plugin.action.setChecked(True)
    assert dock.isVisible() or not dock.isHidden()
    plugin.action.setChecked(False)
    assert dock.isHidden()


def test_unload_removes_everything(qgis_iface):
    registry = QgsApplication.processingRegistry()
    instance = mapbridge.classFactory(qgis_iface)
    instance.initProcessing()
    instance.initGui()
    dock = instance.dock
    instance.unload()
    assert registry.providerById("mapbridge") is None
    assert instance.dock is None and instance.action is None and instance.provider is None
    assert dock.parent() is None
    # Reload works and leaves exactly one provider.
    again = mapbridge.classFactory(qgis_iface)
    again.initProcessing()
    again.initGui()
    assert registry.providerById("mapbridge") is not None
    again.unload()
    assert registry.providerById("mapbridge") is None


def test_settings_tab_saves_token_in_auth_db_not_settings(plugin, qgis_iface, sandbox):
    from qgis.core import QgsSettings

    from mapbridge.core import credentials

    box = plugin.dock.settings_tab.boxes["mapiry"]
    box.url_edit.setText(sandbox.base_urls["mapiry"])
    box.token_edit.setText(sandbox.tokens["mapiry"])
    assert plugin.dock.settings_tab.save()
    assert credentials.load_token("mapiry") == sandbox.tokens["mapiry"]
    assert box.token_edit.text() == "", "the token is not shown back"
    settings = QgsSettings()
    assert not any(sandbox.tokens["mapiry"] in str(settings.value(k)) for k in settings.allKeys())
    credentials.clear_token("mapiry")


def test_settings_tab_refuses_plain_http_to_remote_host(plugin, qgis_iface):
    qgis_iface.messageBar().clear_messages()
    plugin.dock.settings_tab.boxes["mapalyze"].url_edit.setText("https://eu.mapalyze.example/v1")
    box = plugin.dock.settings_tab.boxes["mapsemble"]
    box.url_edit.setText("http://app.mapsemble.com/api/v1")
    assert not plugin.dock.settings_tab.save()
    from qgis.core import QgsSettings

    assert not QgsSettings().value("mapbridge/mapalyze/url"), "nothing is saved when one service is invalid"
    from qgis.core import Qgis

    messages = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Critical)
    assert messages and "Mapsemble" in messages[-1] and "https" in messages[-1]


def test_test_connection_button_reports_success(plugin, qgis_iface, sandbox):
    from qgis.PyQt.QtCore import QCoreApplication

    box = plugin.dock.settings_tab.boxes["mapflow"]
    box.url_edit.setText(sandbox.base_urls["mapflow"])
    box.token_edit.setText(sandbox.tokens["mapflow"])
    box.test_connection()
    import time

    deadline = time.monotonic() + 20
    while box.run is not None and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.02)
    assert "Connected" in box.status_label.text(), box.status_label.text()
    assert any(r.path == "/user/status" for r in sandbox.requests)
    from mapbridge.core import credentials

    credentials.clear_token("mapflow")
