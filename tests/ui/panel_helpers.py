"""Helpers of the Layers panel tests: waiting for the event loop, a layer's indicators."""

from __future__ import annotations

import time

from qgis.core import QgsProject
from qgis.PyQt.QtCore import QCoreApplication


def wait_until(condition, timeout=30.0):
    """Process Qt events until condition() holds (AssertionError after timeout seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        QCoreApplication.processEvents()
        time.sleep(0.02)


def indicators(view, layer):
    """The Layers panel indicators of a layer."""
    node = QgsProject.instance().layerTreeRoot().findLayer(layer.id())
    return view.indicators(node)
