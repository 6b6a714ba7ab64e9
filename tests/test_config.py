"""Service configuration: defaults, environment overrides, URL rules, auth-DB credentials."""

from __future__ import annotations

import pytest
from qgis.core import QgsApplication, QgsSettings

from mapbridge.api import config as api_config
from mapbridge.api.errors import ConfigurationError
from mapbridge.core import credentials, settings_keys
from mapbridge.core.service_factory import client_for, service_config


def test_defaults_are_the_documented_urls():
    cfg = api_config.resolve("mapflow", environ={})
    assert cfg.base_url == "https://api.mapflow.ai/rest"
    assert cfg.token == ""
    assert api_config.resolve("mapiry", environ={}).base_url == "https://mapiry.com/api/v1"


def test_environment_overrides_stored_values():
    env = {"MAPBRIDGE_MAPIRY_URL": "http://127.0.0.1:5000/api/v1/", "MAPBRIDGE_MAPIRY_TOKEN": " env-token "}
    cfg = api_config.resolve("mapiry", "https://stored.example/api/v1", "stored-token", environ=env)
    assert cfg.base_url == "http://127.0.0.1:5000/api/v1"
    assert cfg.token == "env-token"


@pytest.mark.parametrize("url", ["http://example.com/api", "ftp://127.0.0.1/x", "not a url"])
def test_plain_http_refused_except_loopback(url):
    with pytest.raises(ConfigurationError) as info:
        api_config.check_base_url("mapsemble", url)
    assert "Mapsemble" in str(info.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/v1", "http://localhost/v1", "http://[::1]:9/v1",
                                 "https://example.com/v1"])
def test_loopback_http_and_https_allowed(url):
    assert api_config.check_base_url("mapalyze", url) == url


def test_repr_hides_token():
    cfg = api_config.ServiceConfig("mapiry", "https://mapiry.com/api/v1", "mk_live_secret")
    assert "mk_live_secret" not in repr(cfg)


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
