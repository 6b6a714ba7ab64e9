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


def wait_for_test(box):
    import time

    from qgis.PyQt.QtCore import QCoreApplication

    deadline = time.monotonic() + 30
    while box.run is not None and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.02)
    assert box.run is None


def all_messages(bar):
    from qgis.core import Qgis

    return [m for level in (Qgis.MessageLevel.Info, Qgis.MessageLevel.Success, Qgis.MessageLevel.Warning,
                            Qgis.MessageLevel.Critical) for m in bar.get_messages(level)]


def test_a_wrong_url_never_passes_and_testing_saves_nothing(plugin, qgis_iface, sandbox):
    from qgis.core import QgsSettings

    from mapbridge.core import credentials

    box = plugin.ensure_dock().settings_tab.boxes["mapiry"]
    bar = qgis_iface.messageBar()
    for url, token in ((sandbox.url + "/impostor/html", "bogus"), (sandbox.url + "/impostor/open", "bogus"),
                       (sandbox.url + "/impostor/html", sandbox.tokens["mapiry"])):
        bar.clear_messages()
        box.url_edit.setText(url)
        box.token_edit.setText(token)
        box.test_connection()
        wait_for_test(box)
        text = box.status_label.text()
        assert "does not answer like the Mapiry API" in text and "Connected" not in text, text
        assert "b42318" in box.status_label.styleSheet()
        assert len(all_messages(bar)) == 1, "one message per test"
    assert not QgsSettings().value("mapbridge/mapiry/url"), "testing saved the URL"
    assert credentials.authcfg_id("mapiry") == "", "testing saved the token"

    box.url_edit.setText(sandbox.base_urls["mapiry"])
    box.token_edit.setText("bogus")
    box.test_connection()
    wait_for_test(box)
    assert "refused the token (INVALID_API_KEY" in box.status_label.text()

    box.token_edit.setText(sandbox.tokens["mapiry"])
    box.test_connection()
    wait_for_test(box)
    assert box.status_label.text().startswith("Connected to Mapiry: token accepted (read and write)")
    assert "Save keeps this token" in box.status_label.text()
    assert credentials.authcfg_id("mapiry") == "", "only Save stores a token"
    assert plugin.ensure_dock().settings_tab.save()
    assert credentials.load_token("mapiry") == sandbox.tokens["mapiry"]
    credentials.clear_token("mapiry")


def closed_port():
    """A local port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_url_says_so_in_one_message_and_saves_nothing(plugin, qgis_iface, sandbox):
    from qgis.core import Qgis, QgsSettings

    from mapbridge.core import credentials

    box = plugin.ensure_dock().settings_tab.boxes["mapsemble"]
    bar = qgis_iface.messageBar()
    bar.clear_messages()
    url = f"http://127.0.0.1:{closed_port()}/api/v1"
    box.url_edit.setText(url)
    box.token_edit.setText(sandbox.tokens["mapsemble"])
    box.test_connection()
    wait_for_test(box)
    text = box.status_label.text()
    assert text.startswith("Mapsemble: the service could not be reached at " + url), text
    assert "Connected" not in text and "b42318" in box.status_label.styleSheet()
    shown = all_messages(bar)
    assert len(shown) == 1, f"one message, not two: {shown}"
    assert bar.get_messages(Qgis.MessageLevel.Critical) == shown and "could not be reached" in shown[0]
    assert "Check your network" in shown[0]
    assert not QgsSettings().value("mapbridge/mapsemble/url") and credentials.authcfg_id("mapsemble") == ""


def test_read_only_keys_and_missing_pro_subscriptions_are_named(plugin, qgis_iface, sandbox):
    box = plugin.ensure_dock().settings_tab.boxes["mapiry"]
    box.url_edit.setText(sandbox.base_urls["mapiry"])
    box.token_edit.setText("mk_live_readonly")
    box.test_connection()
    wait_for_test(box)
    assert "(read only)" in box.status_label.text() and "READ_ONLY" in box.status_label.text()
    assert "b54708" in box.status_label.styleSheet(), "a warning, not a pass"
    box.token_edit.setText("mk_live_nopro")
    box.test_connection()
    wait_for_test(box)
    assert "no active Pro subscription" in box.status_label.text()


def test_environment_overrides_show_the_url_in_use_and_the_token_source(plugin, qgis_iface, sandbox, monkeypatch):
    from qgis.core import QgsSettings

    monkeypatch.setenv("MAPBRIDGE_MAPSEMBLE_URL", sandbox.base_urls["mapsemble"])
    monkeypatch.setenv("MAPBRIDGE_MAPSEMBLE_TOKEN", sandbox.tokens["mapsemble"])
    QgsSettings().setValue("mapbridge/mapsemble/url", "https://stored.example/api/v1")
    tab = plugin.ensure_dock().settings_tab
    box = tab.boxes["mapsemble"]
    box.load()
    assert box.url_edit.text() == sandbox.base_urls["mapsemble"] and box.url_edit.isReadOnly()
    assert not box.token_edit.isEnabled()
    assert box.token_edit.placeholderText() == "from the environment (MAPBRIDGE_MAPSEMBLE_TOKEN)"
    assert box.env_label.text() == (f"Uses {sandbox.base_urls['mapsemble']} from MAPBRIDGE_MAPSEMBLE_URL. The token "
                                    "comes from the environment (MAPBRIDGE_MAPSEMBLE_TOKEN).")
    box.test_connection()
    wait_for_test(box)
    assert box.status_label.text().startswith("Connected to Mapsemble: token accepted; 3 maps.")
    assert tab.save()
    assert QgsSettings().value("mapbridge/mapsemble/url") == "https://stored.example/api/v1", \
        "the environment's URL is not written into the settings"
