"""Helpers of the dock and Layers panel tests: waiting for the event loop, a layer's indicators, the Push tab on a
layer."""

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


def open_push_tab(dock, service, layer, remote_id=None):
    """The Push tab on a layer and a service; with remote_id, that map or form chosen once the list loaded."""
    tab = dock.push_tab
    tab.open_for_layer(layer)
    tab.service_combo.setCurrentIndex(tab.service_combo.findData(service))
    target = tab.target()
    if remote_id is not None:
        wait_until(lambda: target.remote.loaded)
        combo = target.remote.combo
        assert combo.findData(remote_id) >= 0, "the account's maps or forms fill the combo"
        combo.setCurrentIndex(combo.findData(remote_id))
    return tab, target
