"""Run inside the real QGIS desktop (qgis --code): drive the dock against an in-process sandbox and screenshot it.

Loads Mapalyze records, shows the Mapflow tab with the account's processings, the Push tab on the loaded layer,
and Settings. Writes PNGs and report.json to MAPBRIDGE_DESKTOP_OUT, then quits QGIS.
"""

import json
import os
import sys
import tempfile
import traceback

from qgis.core import QgsApplication, QgsFeatureRequest, QgsProject, QgsRectangle
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QDockWidget
from qgis.utils import iface, plugins

OUT = os.environ.get("MAPBRIDGE_DESKTOP_OUT", "/tmp/mapbridge-screens")
os.makedirs(OUT, exist_ok=True)
sys.path.insert(0, os.environ["QGIS_PLUGINPATH"])
from mapbridge.sandbox import SandboxServer  # noqa: E402

SANDBOX = SandboxServer(port=0, records=1500, seed=3, processing_seconds=5).start()
os.environ.update(SANDBOX.env())
report = {"screenshots": [], "errors": [], "steps": []}
WORK = tempfile.mkdtemp(prefix="mapbridge-screens-")
SELECTED = 20
CHOSEN = []  # ids of the features the push sends


def finish():
    with open(os.path.join(OUT, "report.json"), "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2)
    SANDBOX.stop()
    QgsApplication.exit(0)


def guarded(step):
    """Run a step; on error record it and finish."""
    def run():
        try:
            step()
        except Exception:  # noqa: BLE001 - the report must be written whatever happened
            report["errors"].append(traceback.format_exc())
            finish()
    return run


def shoot(name):
    path = os.path.join(OUT, f"dock-{name}.png")
    iface.mainWindow().grab().save(path)
    report["screenshots"].append(path)


def dock():
    return iface.mainWindow().findChild(QDockWidget, "MapbridgeDock")


def start():
    iface.mainWindow().resize(1500, 950)
    plugins["mapbridge"].action.setChecked(True)
    tab = dock().show_tab("Mapalyze")
    tab.folder_widget.setFilePath(WORK)
    tab.load_button.click()
    report["steps"].append("mapalyze load clicked")
    wait_for_layer(0)


def wait_for_layer(tries):
    layers = [lyr for lyr in QgsProject.instance().mapLayers().values()
              if lyr.customProperty("mapbridge/service") == "mapalyze"]
    if layers:
        report["mapalyze_features"] = layers[0].featureCount()
        iface.setActiveLayer(layers[0])
        # Records come in city clusters: show the first record's city, around the records the push will send.
        first = next(layers[0].getFeatures()).geometry()
        chosen = sorted(((f.geometry().distance(first), f.id()) for f in layers[0].getFeatures()
                         if f.hasGeometry()))[:SELECTED]
        CHOSEN.extend(fid for _, fid in chosen)
        box = QgsRectangle()
        for feature in layers[0].getFeatures(QgsFeatureRequest().setFilterFids(CHOSEN)):
            box.combineExtentWith(feature.geometry().boundingBox())
        iface.mapCanvas().setExtent(box.buffered(0.02))
        iface.mapCanvas().refresh()
        QTimer.singleShot(1500, guarded(lambda: mapalyze_shot(layers[0])))
    elif tries > 120:
        report["errors"].append("no Mapalyze layer after 60 s")
        finish()
    else:
        QTimer.singleShot(500, guarded(lambda: wait_for_layer(tries + 1)))


def mapalyze_shot(layer):
    shoot("mapalyze")
    dock().show_tab("Mapflow")
    QTimer.singleShot(4000, guarded(lambda: mapflow_shot(layer)))


def mapflow_shot(layer):
    shoot("mapflow")
    # The records nearest the first one: the same selection whatever the window and canvas size.
    layer.selectByIds(CHOSEN)
    report["selected"] = layer.selectedFeatureCount()
    push = dock().show_tab("Push")
    push.layer_combo.setLayer(layer)
    push.targets[0].new_radio.setChecked(True)
    push.targets[0].title_edit.setText("Desktop check")
    QTimer.singleShot(1500, guarded(lambda: start_push(push)))


def start_push(push):
    report["push_preview"] = push.preview_label.text()
    push.push_button.click()
    report["steps"].append("push clicked")
    wait_for_report(0)


def wait_for_report(tries):
    reports = [lyr for lyr in QgsProject.instance().mapLayers().values()
               if lyr.type() == lyr.VectorLayer and "push_status" in lyr.fields().names()]
    if reports:
        statuses = [f["push_status"] for f in reports[0].getFeatures()]
        report["push_report"] = {s: statuses.count(s) for s in set(statuses)}
        created = [m for m in SANDBOX.state.mapiry.maps.values() if m.get("title") == "Desktop check"]
        report["mapiry_locations"] = len(SANDBOX.state.mapiry.locations(created[0]["id"])) if created else 0
        QTimer.singleShot(1000, guarded(push_shot))
    elif tries > 120:
        report["errors"].append("no push report layer after 60 s: " + dock().push_tab.status_label.text())
        finish()
    else:
        QTimer.singleShot(500, guarded(lambda: wait_for_report(tries + 1)))


def push_shot():
    report["push_status_text"] = dock().push_tab.status_label.text()
    shoot("push")
    dock().show_tab("Settings")
    QTimer.singleShot(1000, guarded(settings_shot))


def settings_shot():
    shoot("settings")
    finish()


QTimer.singleShot(2500, guarded(start))
