"""Service configs and clients from QgsSettings, the auth database and MAPBRIDGE_* (core/service_factory.py)."""

from __future__ import annotations

from qgis.core import QgsSettings

from mapbridge.core import credentials, settings_keys
from mapbridge.core.service_factory import client_for, service_config


def test_service_config_prefers_environment(monkeypatch):
    credentials.store_token("mapalyze", "stored-tok")
    QgsSettings().setValue(settings_keys.service_url("mapalyze"), "https://stored.example/v1")
    cfg = service_config("mapalyze")
    assert (cfg.base_url, cfg.token) == ("https://stored.example/v1", "stored-tok")
    monkeypatch.setenv("MAPBRIDGE_MAPALYZE_URL", "http://127.0.0.1:1234/mapalyze/v1")
    monkeypatch.setenv("MAPBRIDGE_MAPALYZE_TOKEN", "env-tok")
    cfg = service_config("mapalyze")
    assert (cfg.base_url, cfg.token) == ("http://127.0.0.1:1234/mapalyze/v1", "env-tok")
    credentials.clear_token("mapalyze")


def test_client_for_uses_sandbox_from_env(sandbox_env):
    assert "records" in client_for("mapalyze").ping()
