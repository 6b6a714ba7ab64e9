"""Fixtures of the Push tab tests: the dock against the sandbox."""

from __future__ import annotations

import pytest


@pytest.fixture
def dock(qgis_iface, qgis_new_project, sandbox_env):
    from mapbridge.ui.dock import MapbridgeDock

    widget = MapbridgeDock(qgis_iface)
    yield widget
    widget.shutdown()
    widget.deleteLater()

