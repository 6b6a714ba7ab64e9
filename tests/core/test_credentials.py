"""Tokens in the QGIS auth database, never in QgsSettings (core/credentials.py)."""

from __future__ import annotations

from qgis.core import QgsApplication, QgsSettings

from mapbridge.core import credentials, settings_keys


def test_token_round_trip_through_auth_database():
    cfg_id = credentials.store_token("mapsemble", "tok-ÄÖ-123")
    assert cfg_id
    assert credentials.load_token("mapsemble") == "tok-ÄÖ-123"
    # Stored encrypted in the auth DB; QgsSettings only has the config id.
    settings = QgsSettings()
    values = [str(settings.value(k)) for k in settings.allKeys()]
    assert not any("tok-ÄÖ-123" in v for v in values)
    assert settings.value(settings_keys.service_authcfg("mapsemble")) == cfg_id
    assert cfg_id in QgsApplication.authManager().configIds()
    # Updating keeps the same entry.
    assert credentials.store_token("mapsemble", "tok-2") == cfg_id
    assert credentials.load_token("mapsemble") == "tok-2"
    credentials.clear_token("mapsemble")
    assert credentials.load_token("mapsemble") == ""
    assert cfg_id not in QgsApplication.authManager().configIds()


def test_a_token_without_prompt_only_from_the_environment_or_an_unlocked_database(monkeypatch, _auth_db_unlocked):
    """Background work at QGIS start never makes QGIS ask for the master password."""
    monkeypatch.delenv("MAPBRIDGE_MAPFLOW_TOKEN", raising=False)
    settings = QgsSettings()
    settings.remove(settings_keys.service_authcfg("mapflow"))
    assert not credentials.token_without_prompt("mapflow")     # nothing stored: nothing to run with
    settings.setValue(settings_keys.service_authcfg("mapflow"), "abc1234")
    try:
        assert credentials.token_without_prompt("mapflow")     # the test auth DB is unlocked
        monkeypatch.setattr(_auth_db_unlocked, "masterPasswordIsSet", lambda: False)
        assert not credentials.token_without_prompt("mapflow")
        monkeypatch.setenv("MAPBRIDGE_MAPFLOW_TOKEN", "t")
        assert credentials.token_without_prompt("mapflow")
    finally:
        settings.remove(settings_keys.service_authcfg("mapflow"))
