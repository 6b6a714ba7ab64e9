"""Build service clients from settings, the auth database, environment overrides and the QGIS proxy."""

from __future__ import annotations

import os

from qgis.core import QgsSettings

from ..api import config as api_config
from ..api.clients import make_client
from . import credentials, settings_keys
from .proxy_settings import read_qgis_proxy


def stored_url(service):
    """The base URL saved in Settings, or ''."""
    return QgsSettings().value(settings_keys.service_url(service), "", type=str) or ""


def service_config(service, environ=None):
    """A service's URL and token; the auth DB is only opened when no environment token is set."""
    env = os.environ if environ is None else environ
    token = "" if env.get(api_config.token_env_var(service)) else credentials.load_token(service)
    return api_config.resolve(service, stored_url(service), token, environ=env)


def client_for(service, **kwargs):
    """A ready client for a service; gathers QGIS state, so call it on the main thread."""
    return make_client(service_config(service), read_qgis_proxy(), **kwargs)
