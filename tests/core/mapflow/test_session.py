"""No master-password prompt just to look (core/mapflow/session.py)."""

from __future__ import annotations

from qgis.core import QgsSettings

from mapbridge.core import settings_keys
from mapbridge.core.mapflow.session import token_ready_without_prompt


def test_ready_from_the_environment_without_a_stored_token_or_when_unlocked(monkeypatch, _auth_db_unlocked):
    assert token_ready_without_prompt()  # nothing stored: nothing to ask
    QgsSettings().setValue(settings_keys.service_authcfg("mapflow"), "abc1234")
    assert token_ready_without_prompt()  # the test auth DB is unlocked
    monkeypatch.setattr(_auth_db_unlocked, "masterPasswordIsSet", lambda: False)
    assert not token_ready_without_prompt()
    monkeypatch.setenv("MAPBRIDGE_MAPFLOW_TOKEN", "t")
    assert token_ready_without_prompt()
