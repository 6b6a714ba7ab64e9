"""Service tokens in the QGIS authentication database; QgsSettings only keeps the entry's id."""

from __future__ import annotations

import os

from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QThread

from ..api.config import token_env_var
from ..api.errors import ConfigurationError, service_title
from . import settings_keys

AUTH_METHOD = "Basic"  # available on every QGIS 3.x; the token is kept in its encrypted password field


def _auth_manager():
    manager = QgsApplication.authManager()
    if manager.isDisabled():
        raise ConfigurationError(
            "the QGIS authentication database is not available",
            hint="Check QGIS ▸ Options ▸ Authentication, or set MAPBRIDGE_<SERVICE>_TOKEN in the environment",
        )
    return manager


def ensure_master_password():
    """Ask for (or check) the auth-DB master password; call on the main thread before any worker needs it."""
    manager = _auth_manager()
    if manager.masterPasswordIsSet():
        return
    app = QCoreApplication.instance()
    if app is not None and QThread.currentThread() != app.thread():
        # The prompt is a dialog: opening it from a worker thread (a model's child algorithm) crashes QGIS.
        raise ConfigurationError(
            "the QGIS master password has not been entered yet in this session",
            hint="Use Mapbridge ▸ Settings ▸ Test connection once to enter it, then run again",
        )
    if not manager.setMasterPassword(True):
        raise ConfigurationError(
            "the QGIS master password was not entered, so stored tokens cannot be read",
            hint="Enter it when QGIS asks, or set MAPBRIDGE_<SERVICE>_TOKEN in the environment",
        )


def token_without_prompt(service):
    """True when a token can be had without asking for the master password (background loads only run then).

    An environment token, or a stored one once the master password was entered in this session; never a prompt
    the user did not ask for (at QGIS start, when the dock opens, on a timer)."""
    if os.environ.get(token_env_var(service)):
        return True
    if not authcfg_id(service):
        return False
    manager = QgsApplication.authManager()
    return not manager.isDisabled() and manager.masterPasswordIsSet()


def authcfg_id(service):
    """The auth-DB id holding a service's token, or ''."""
    return QgsSettings().value(settings_keys.service_authcfg(service), "", type=str) or ""


def load_token(service):
    """The stored token of a service, or '' when none is stored."""
    cfg_id = authcfg_id(service)
    if not cfg_id:
        return ""
    ensure_master_password()
    config = QgsAuthMethodConfig()
    result = _auth_manager().loadAuthenticationConfig(cfg_id, config, True)
    ok = result[0] if isinstance(result, tuple) else result
    if isinstance(result, tuple) and len(result) > 1:
        config = result[1]
    if not ok:
        return ""
    return config.config("password", "") or ""


def store_token(service, token):
    """Create or update the auth-DB entry for a service and remember its id."""
    token = (token or "").strip()
    if not token:
        clear_token(service)
        return ""
    ensure_master_password()
    manager = _auth_manager()
    config = QgsAuthMethodConfig(AUTH_METHOD)
    config.setName(f"Mapbridge {service_title(service)} token")
    config.setConfig("username", f"mapbridge-{service}")
    config.setConfig("password", token)
    existing = authcfg_id(service)
    if existing and existing in manager.configIds():
        config.setId(existing)
        ok = manager.updateAuthenticationConfig(config)
    else:
        result = manager.storeAuthenticationConfig(config)
        ok = result[0] if isinstance(result, tuple) else result
        if isinstance(result, tuple) and len(result) > 1:
            config = result[1]
    if not ok or not config.id():
        raise ConfigurationError(
            "the token could not be saved in the QGIS authentication database",
            service=service, hint="Check QGIS ▸ Options ▸ Authentication",
        )
    QgsSettings().setValue(settings_keys.service_authcfg(service), config.id())
    return config.id()


def clear_token(service):
    """Remove a service's token from the auth database."""
    cfg_id = authcfg_id(service)
    if cfg_id:
        manager = _auth_manager()
        if cfg_id in manager.configIds():
            manager.removeAuthenticationConfig(cfg_id)
    QgsSettings().remove(settings_keys.service_authcfg(service))
