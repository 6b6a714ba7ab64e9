"""Run inside the real QGIS desktop (qgis --code): open the Mapbridge dock, screenshot each tab, report, quit.

Environment: MAPBRIDGE_DESKTOP_OUT (folder for report.json and PNGs), MAPBRIDGE_DESKTOP_TABS (comma list).
"""

import json
import os
import traceback

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QDockWidget, QTabWidget
from qgis.utils import iface, plugins

OUT = os.environ.get("MAPBRIDGE_DESKTOP_OUT", "/tmp/mapbridge-desktop")
TABS = [t for t in os.environ.get("MAPBRIDGE_DESKTOP_TABS", "Mapalyze,Mapflow,Push,Settings").split(",") if t]
os.makedirs(OUT, exist_ok=True)
report = {"plugin_loaded": "mapbridge" in plugins, "screenshots": [], "errors": []}


def finish():
    with open(os.path.join(OUT, "report.json"), "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2)
    QgsApplication.exit(0)


def shoot(index=0):
    try:
        if index == 0:
            # Nothing but the toolbar, menu entries and provider exist until the user opens Mapbridge.
            report["dock_built_at_start"] = iface.mainWindow().findChild(QDockWidget, "MapbridgeDock") is not None
            iface.mainWindow().resize(1400, 900)
            plugins["mapbridge"].action.setChecked(True)
        dock = iface.mainWindow().findChild(QDockWidget, "MapbridgeDock")
        report["dock_found"] = dock is not None
        if dock is None:
            return finish()
        if index == 0:
            report["dock_visible_after_toggle"] = dock.isVisible()
            report["provider_registered"] = QgsApplication.processingRegistry().providerById("mapbridge") is not None
        tabs = dock.findChild(QTabWidget, "MapbridgeTabs")
        report["tabs"] = [tabs.tabText(i) for i in range(tabs.count())]
        if index < len(TABS):
            if index > 0:
                # The previous tab had a frame to paint; grab it now.
                pass
            dock.show_tab(TABS[index])
            QTimer.singleShot(700, lambda: grab_and_next(index))
        else:
            finish()
    except Exception:  # noqa: BLE001 - the report must be written whatever happened
        report["errors"].append(traceback.format_exc())
        finish()


def grab_and_next(index):
    path = os.path.join(OUT, f"dock-{TABS[index].lower()}.png")
    iface.mainWindow().grab().save(path)
    report["screenshots"].append(path)
    shoot(index + 1)


QTimer.singleShot(2500, shoot)
