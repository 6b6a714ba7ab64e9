"""The plugin object QGIS loads: toolbar action, layer context-menu entries, Processing provider, and the dock.

Start-up stays light: only the action, the menu entries and the provider (whose algorithms import their jobs
when they run) are made when QGIS starts. The dock and its tabs are built the first time they are needed (or
just after start when it was left open, or auto-refresh is on); nothing then asks for the master password.
"""

from __future__ import annotations

import os

from qgis.core import QgsApplication, QgsSettings
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

PLUGIN_DIR = os.path.dirname(__file__)
ICON_PATH = os.path.join(PLUGIN_DIR, "icons", "mapbridge.svg")
MENU = "&Mapbridge"
REFRESH_TEXT = "Refresh from Mapalyze"
SYNC_TEXT = "Sync with Mapalyze"
PUSH_TEXT = "Push to…"
SYNC_NOW_TEXT = "Sync now"
UNLINK_TEXT = "Unlink from web map"


def _dock_open_key():
    from .core import settings_keys

    return settings_keys.DOCK_OPEN


class MapbridgePlugin:
    """Adds the Mapbridge entry points to QGIS and removes them on unload."""

    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.action = None
        self.push_action = None       # "Push to…" on vector layers
        self.refresh_action = None    # "Refresh from Mapalyze" on Mapalyze layers
        self.sync_action = None       # "Sync with Mapalyze" on Mapalyze layers
        self.sync_indicators = None   # synced layers: Layers panel indicator, sync when edits are saved
        self.sync_actions = []        # "Sync now" and "Unlink from web map" on synced layers
        self.dock = None
        self._following_dock = False  # the button's check follows the dock (not the user's click)

    def initProcessing(self):  # noqa: N802 - QGIS API name
        """Register the Processing provider (also called by qgis_process)."""
        from .processing.provider import MapbridgeProvider

        if self.provider is None:
            provider = MapbridgeProvider()
            # Refused (and deleted by QGIS) when a provider with this id is registered already, e.g. by a copy
            # of the plugin loaded from elsewhere: then this one has nothing to remove on unload.
            if QgsApplication.processingRegistry().addProvider(provider):
                self.provider = provider

    def initGui(self):  # noqa: N802 - QGIS API name
        """Create the toolbar button, the menu entry and the layer context-menu entries."""
        from .core import settings_keys
        from .core.mapalyze.layer import is_mapalyze_layer
        from .ui.layer_actions import LayerAction
        from .ui.sync_indicator import SyncIndicators

        self.initProcessing()
        self.action = QAction(QIcon(ICON_PATH), "Mapbridge", self.iface.mainWindow())
        self.action.setObjectName("MapbridgeAction")
        self.action.setCheckable(True)
        self.action.setToolTip("Show or hide the Mapbridge panel")
        self.action.toggled.connect(self._toggle_dock)
        self.iface.addToolBarIcon(self.action)
        self.iface.addPluginToMenu(MENU, self.action)
        self.push_action = LayerAction(
            self.iface, PUSH_TEXT, "MapbridgePushToAction", lambda layer: self.show_dock("Push").open_for_layer(layer),
            tooltip="Send this layer's (selected) features to Mapiry, Mapsemble or Mapalyze")
        self.refresh_action = LayerAction(
            self.iface, REFRESH_TEXT, "mapbridge_mapalyze_refresh_action",
            lambda layer: self.ensure_dock().mapalyze_tab.refresh_layer(layer), applies_to=is_mapalyze_layer,
            tooltip="Add the records that reached Mapalyze since the last load or refresh")
        self.sync_action = LayerAction(
            self.iface, SYNC_TEXT, "mapbridge_mapalyze_sync_action",
            lambda layer: self.ensure_dock().mapalyze_tab.sync_layer(layer), applies_to=is_mapalyze_layer,
            tooltip="Bring the layer fully up to date: add, update and remove records in place")
        self.sync_indicators = SyncIndicators(self.iface, on_change=self._sync_state_changed)
        self.sync_actions = [
            LayerAction(self.iface, SYNC_NOW_TEXT, "MapbridgeSyncNowAction", self.sync_indicators.sync_now,
                        tooltip="Send what changed since the last sync to the layer's web maps",
                        applies_to=self.sync_indicators.is_synced),
            LayerAction(self.iface, UNLINK_TEXT, "MapbridgeUnlinkAction", self.sync_indicators.unlink,
                        tooltip="Forget the layer's link to its web maps (the features stay on the maps)",
                        applies_to=self.sync_indicators.is_synced)]
        settings = QgsSettings()
        if settings.value(settings_keys.DOCK_OPEN, False, type=bool):
            # Left open last time: show it again once QGIS has started (it asks for nothing by itself).
            QTimer.singleShot(0, lambda: self.ensure_dock().show())
        elif settings.value(settings_keys.MAPALYZE_AUTO_REFRESH_MINUTES, 0, type=int):
            # Auto-refresh lives in the dock: build it once QGIS has started, still hidden.
            QTimer.singleShot(0, self.ensure_dock)
        else:
            QTimer.singleShot(0, self._resume_mapflow_quietly)

    def _resume_mapflow_quietly(self):
        """After a restart, tracked Mapflow processings go on (their results load) when that asks nothing: the
        token comes from the environment or the authentication database is already unlocked."""
        from .core import credentials
        from .core.mapflow.tracked import TrackedProcessings

        if self.action is not None and self.dock is None and TrackedProcessings().waiting() \
                and credentials.token_without_prompt("mapflow"):
            self.ensure_dock()      # hidden; the Mapflow tab resumes by itself without a prompt

    def _sync_state_changed(self, layer, synced):
        """A layer became synced (or was unlinked): its menu entries follow."""
        for layer_action in self.sync_actions:
            if synced:
                layer_action.attach(layer)
            else:
                layer_action.detach(layer)

    def ensure_dock(self):
        """The dock, built (hidden) on first use."""
        if self.dock is None:
            from .ui.dock import MapbridgeDock

            self.dock = MapbridgeDock(self.iface, self.iface.mainWindow())
            self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
            self.iface.mainWindow().restoreDockWidget(self.dock)     # where the user left it, if QGIS kept that
            self.dock.hide()
            self.dock.visibilityChanged.connect(self._dock_visibility_changed)
        return self.dock

    def show_dock(self, tab_name):
        """Show the dock on a tab for the user (a menu entry they chose); returns that tab's widget."""
        dock = self.ensure_dock()
        dock.opened_by_user = True
        return dock.show_tab(tab_name)

    def _toggle_dock(self, checked):
        if self._following_dock:
            return
        if checked:
            dock = self.ensure_dock()
            dock.opened_by_user = True     # may ask for the master password now (tracked Mapflow processings)
            dock.show()
        elif self.dock is not None:
            self.dock.hide()

    def _dock_visibility_changed(self, visible):
        if self.action is not None and self.action.isChecked() != visible:
            self._following_dock = True     # e.g. the restore at start: not the user opening the dock
            try:
                self.action.setChecked(visible)
            finally:
                self._following_dock = False
        window = self.iface.mainWindow()
        if window is None or window.isVisible():     # not QGIS closing its window: the user opened or closed it
            QgsSettings().setValue(_dock_open_key(), bool(visible))

    def unload(self):
        """Undo everything initGui and initProcessing did."""
        for layer_action in (self.push_action, self.refresh_action, self.sync_action, *self.sync_actions):
            if layer_action is not None:
                layer_action.remove()
        self.push_action = self.refresh_action = self.sync_action = None
        self.sync_actions = []
        if self.sync_indicators is not None:
            self.sync_indicators.shutdown()
            self.sync_indicators = None
        if self.action is not None:
            self.iface.removePluginMenu(MENU, self.action)
            self.iface.removeToolBarIcon(self.action)
            self.action.deleteLater()
            self.action = None
        if self.dock is not None:
            self.dock.visibilityChanged.disconnect(self._dock_visibility_changed)
            self.dock.shutdown()
            self.iface.removeDockWidget(self.dock)
            self.dock.setParent(None)
            self.dock.deleteLater()
            self.dock = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
