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


@pytest.mark.parametrize("url", ["http://evil.example\\@127.0.0.1/v1", "http://127.0.0.1\\@evil.example/v1",
                                 "http://user:pw@127.0.0.1/v1", "http://localhost%2eevil.example/v1",
                                 "http://127.0.0.1 @evil.example/v1", "http://127.0.0.1\t.evil.example/v1"])
def test_a_url_whose_host_parsers_read_differently_is_refused(url):
    """The check reads the host as requests will (urllib3's parser); an ambiguous URL is refused outright."""
    with pytest.raises(ConfigurationError) as info:
        api_config.check_base_url("mapalyze", url)
    assert "Mapalyze" in str(info.value) and "Settings" in str(info.value)


def test_a_checked_url_sends_requests_to_the_host_that_was_checked():
    import requests

    url = api_config.check_base_url("mapflow", "http://127.0.0.1:8/rest")
    assert requests.Request("GET", url + "/user/status").prepare().url.startswith("http://127.0.0.1:8/")


@pytest.mark.parametrize("token,what", [("abc\u200bdef", "zero-width space"), ("mk_live_abc\u2026", "ellipsis"),
                                        ("abc def", "a space"), ("abc\ndef", "line break"),
                                        ("t\u00f6ken", "U+00F6"), ("abc\x07", "U+0007")])
def test_a_token_that_cannot_be_sent_is_refused_with_what_is_wrong(token, what):
    with pytest.raises(ConfigurationError) as info:
        api_config.check_token("mapiry", token)
    text = str(info.value)
    assert what in text and "Mapiry" in text and "position" in text
    assert token not in text


def test_a_token_with_a_pasted_character_is_refused_when_resolved_not_sent_as_a_traceback():
    with pytest.raises(ConfigurationError):
        api_config.resolve("mapsemble", environ={"MAPBRIDGE_MAPSEMBLE_TOKEN": "tok\u200ben"})
    assert api_config.resolve("mapsemble", environ={"MAPBRIDGE_MAPSEMBLE_TOKEN": " tok-en_1.2~ "}).token == \
        "tok-en_1.2~"
