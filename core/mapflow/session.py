"""Whether the Mapflow token can be read without asking anything (no master-password prompt at QGIS start)."""

from __future__ import annotations

import os

from qgis.core import QgsApplication

from ...api.config import token_env_var
from .. import credentials

MAPFLOW = "mapflow"


def token_ready_without_prompt(service=MAPFLOW):
    """True when reading the token asks the user nothing: it comes from the environment, none is stored, or the
    authentication database is already unlocked in this session."""
    if os.environ.get(token_env_var(service)):
        return True
    if not credentials.authcfg_id(service):
        return True
    manager = QgsApplication.authManager()
    return not manager.isDisabled() and manager.masterPasswordIsSet()
