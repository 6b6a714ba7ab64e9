"""Fixtures of the Processing tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def large_map(monkeypatch):
    """Treat every map as too large to be listed at each sync (as one of thousands of features would be): only its
    count is read unless it moved."""
    monkeypatch.setattr("mapbridge.core.sync.remote.SMALL_PAGES", 0)
