"""Service configuration (api/config.py): defaults, environment overrides, URL rules, a repr without the token."""

from __future__ import annotations

import pytest

from mapbridge.api import config as api_config
from mapbridge.api.errors import ConfigurationError


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
