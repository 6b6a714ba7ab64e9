"""Fixtures of the dock and Layers panel tests: a real Layers panel, the whole plugin loaded against the sandbox."""

from __future__ import annotations

import pytest
from qgis.core import QgsLayerTreeModel, QgsProject
from qgis.gui import QgsLayerTreeView


@pytest.fixture
def layers_panel(qgis_iface, monkeypatch, qgis_new_project):
    """A real Layers panel (pytest-qgis's iface has none)."""
    view = QgsLayerTreeView()
    view.setModel(QgsLayerTreeModel(QgsProject.instance().layerTreeRoot()))
    monkeypatch.setattr(qgis_iface, "layerTreeView", lambda: view)
    yield view
    view.deleteLater()


@pytest.fixture
def loaded(layers_panel, sandbox_env, plugin, mapbridge_processing):
    """The plugin loaded with a Layers panel, every service pointed at the sandbox."""
    return plugin
