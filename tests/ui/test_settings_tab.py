"""The dock's Settings tab (ui/settings_tab.py): tokens to the auth database, URL rules, the connection test."""

from __future__ import annotations


def test_settings_tab_saves_token_in_auth_db_not_settings(plugin, qgis_iface, sandbox):
    from qgis.core import QgsSettings

    from mapbridge.core import credentials

    box = plugin.ensure_dock().settings_tab.boxes["mapiry"]
    box.url_edit.setText(sandbox.base_urls["mapiry"])
    box.token_edit.setText(sandbox.tokens["mapiry"])
    assert plugin.ensure_dock().settings_tab.save()
    assert credentials.load_token("mapiry") == sandbox.tokens["mapiry"]
    assert box.token_edit.text() == "", "the token is not shown back"
    settings = QgsSettings()
    assert not any(sandbox.tokens["mapiry"] in str(settings.value(k)) for k in settings.allKeys())
    credentials.clear_token("mapiry")


def test_settings_tab_refuses_plain_http_to_remote_host(plugin, qgis_iface):
    qgis_iface.messageBar().clear_messages()
    plugin.ensure_dock().settings_tab.boxes["mapalyze"].url_edit.setText("https://eu.mapalyze.example/v1")
    box = plugin.ensure_dock().settings_tab.boxes["mapsemble"]
    box.url_edit.setText("http://app.mapsemble.com/api/v1")
    assert not plugin.ensure_dock().settings_tab.save()
    from qgis.core import QgsSettings

    assert not QgsSettings().value("mapbridge/mapalyze/url"), "nothing is saved when one service is invalid"
    from qgis.core import Qgis

    messages = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Critical)
    assert messages and "Mapsemble" in messages[-1] and "https" in messages[-1]


def test_test_connection_button_reports_success(plugin, qgis_iface, sandbox):
    from qgis.PyQt.QtCore import QCoreApplication

    box = plugin.ensure_dock().settings_tab.boxes["mapflow"]
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


def test_a_pasted_token_with_an_invisible_character_is_refused_on_save(plugin, qgis_iface):
    """Checked when entered: a clear message naming the character, nothing stored, no UnicodeEncodeError later."""
    from qgis.core import Qgis

    from mapbridge.core import credentials

    qgis_iface.messageBar().clear_messages()
    box = plugin.ensure_dock().settings_tab.boxes["mapiry"]
    box.token_edit.setText("mk_live_abc\u200bdef")
    assert not plugin.ensure_dock().settings_tab.save()
    assert not credentials.load_token("mapiry")
    messages = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Critical)
    assert messages and "Mapiry" in messages[-1] and "zero-width space" in messages[-1]
