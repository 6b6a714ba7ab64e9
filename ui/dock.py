"""The Mapbridge dock: one tab per job plus Settings."""

from __future__ import annotations

from qgis.PyQt.QtWidgets import QDockWidget, QTabWidget

from .mapalyze.tab import MapalyzeTab
from .mapflow.tab import MapflowTab
from .push.tab import PushTab
from .settings_tab import SettingsTab


class MapbridgeDock(QDockWidget):
    """Dock widget holding the Mapalyze, Mapflow, Push and Settings tabs."""

    def __init__(self, iface, parent=None):
        super().__init__("Mapbridge", parent)
        self.setObjectName("MapbridgeDock")
        self.iface = iface
        # True once the user opened the dock (toolbar button, a menu entry); not when it is restored at QGIS start.
        self.opened_by_user = False
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("MapbridgeTabs")
        self.mapalyze_tab = MapalyzeTab(iface, self.tabs)
        self.mapflow_tab = MapflowTab(iface, self.tabs)
        self.push_tab = PushTab(iface, self.tabs)
        self.settings_tab = SettingsTab(iface, self.tabs)
        self.tabs.addTab(self.mapalyze_tab, "Mapalyze")
        self.tabs.addTab(self.mapflow_tab, "Mapflow")
        self.tabs.addTab(self.push_tab, "Push")
        self.tabs.addTab(self.settings_tab, "Settings")
        self.setWidget(self.tabs)

    def show_tab(self, name):
        """Bring a tab to the front by its title."""
        for i in range(self.tabs.count()):
            if self.tabs.tabText(i) == name:
                self.tabs.setCurrentIndex(i)
                self.show()
                self.raise_()
                return self.tabs.widget(i)
        return None

    def shutdown(self):
        """Stop timers, cancel tasks and disconnect signals before the plugin unloads."""
        for i in range(self.tabs.count()):
            tab = self.tabs.widget(i)
            if hasattr(tab, "shutdown"):
                tab.shutdown()
