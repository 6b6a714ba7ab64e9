"""The plugin object QGIS loads: toolbar action, dock, Processing provider, and their removal."""

from __future__ import annotations

import os

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

PLUGIN_DIR = os.path.dirname(__file__)
ICON_PATH = os.path.join(PLUGIN_DIR, "icons", "mapbridge.svg")
MENU = "&Mapbridge"


class MapbridgePlugin:
    """Adds the Mapbridge dock and Processing provider to QGIS and removes them on unload."""

    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.action = None
        self.dock = None

    def initProcessing(self):  # noqa: N802 - QGIS API name
        """Register the Processing provider (also called by qgis_process)."""
        from .processing.provider import MapbridgeProvider

        if self.provider is None:
            self.provider = MapbridgeProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 - QGIS API name
        """Create the toolbar button, menu entry and dock."""
        from .ui.dock import MapbridgeDock

        self.initProcessing()
        self.dock = MapbridgeDock(self.iface, self.iface.mainWindow())
        self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()

        self.action = QAction(QIcon(ICON_PATH), "Mapbridge", self.iface.mainWindow())
        self.action.setObjectName("MapbridgeAction")
        self.action.setCheckable(True)
        self.action.setToolTip("Show or hide the Mapbridge panel")
        self.action.toggled.connect(self.dock.setVisible)
        self.dock.visibilityChanged.connect(self.action.setChecked)
        self.iface.addToolBarIcon(self.action)
        self.iface.addPluginToMenu(MENU, self.action)

    def unload(self):
        """Undo everything initGui and initProcessing did."""
        if self.action is not None:
            self.iface.removePluginMenu(MENU, self.action)
            self.iface.removeToolBarIcon(self.action)
            self.action.deleteLater()
            self.action = None
        if self.dock is not None:
            self.dock.shutdown()
            self.iface.removeDockWidget(self.dock)
            self.dock.setParent(None)
            self.dock.deleteLater()
            self.dock = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
