"""Run inside the real QGIS desktop (qgis --code): drive the dock against an in-process sandbox and screenshot it.

At the dock's default width (~400 px): loads every Mapalyze record, syncs the layer after the service changed
some, shows the Mapflow tab, pushes a selection to a new Mapiry map, asks before a whole-layer push, cancels a
push that waits for Mapiry's hourly limit, and tests the Mapiry connection in Settings. Writes PNGs and
report.json to MAPBRIDGE_DESKTOP_OUT, then quits QGIS.
"""

import json
import os
import sys
import tempfile
import time
import traceback

from qgis.core import QgsApplication, QgsFeatureRequest, QgsProject, QgsRectangle
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtWidgets import QApplication, QDockWidget, QMessageBox
from qgis.utils import iface, plugins

OUT = os.environ.get("MAPBRIDGE_DESKTOP_OUT", "/tmp/mapbridge-screens")
os.makedirs(OUT, exist_ok=True)
sys.path.insert(0, os.environ["QGIS_PLUGINPATH"])
from mapbridge.sandbox import SandboxServer  # noqa: E402

SANDBOX = SandboxServer(port=0, records=1500, seed=3, processing_seconds=5).start()
os.environ.update(SANDBOX.env())
report = {"screenshots": [], "errors": [], "steps": [], "bars": {}}
WORK = tempfile.mkdtemp(prefix="mapbridge-screens-")
SELECTED = 20
DOCK_WIDTH = 400
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


def later(ms, step):
    QTimer.singleShot(ms, guarded(step))


def wait_until(condition, then, what, tries=240):
    """Poll every 250 ms; then() once condition() holds, else record a timeout and finish."""
    if condition():
        then()
    elif tries <= 0:
        report["errors"].append(f"timed out: {what}")
        finish()
    else:
        later(250, lambda: wait_until(condition, then, what, tries - 1))


def shoot(name, screen=False):
    path = os.path.join(OUT, f"dock-{name}.png")
    if screen:      # a question box is a window of its own
        QApplication.primaryScreen().grabWindow(0).save(path)
    else:
        iface.mainWindow().grab().save(path)
    report["screenshots"].append(path)


def bar_texts():
    return [f"{item.title()}: {item.text()}" for item in iface.messageBar().items()]


def dock():
    return iface.mainWindow().findChild(QDockWidget, "MapbridgeDock")


def start():
    iface.mainWindow().resize(1500, 950)
    plugins["mapbridge"].action.setChecked(True)
    iface.mainWindow().resizeDocks([dock()], [DOCK_WIDTH], Qt.Orientation.Horizontal)
    tab = dock().show_tab("Mapalyze")
    tab.folder_widget.setFilePath(WORK)
    tab.fetch_forms()
    later(1500, lambda: load(tab))


def load(tab):
    tab.form_combo.setCurrentIndex(0)
    tab.load_button.click()
    report["steps"].append("mapalyze load clicked")
    wait_until(lambda: not tab.loader.busy, lambda: loaded(tab), "the Mapalyze load")


def loaded(tab):
    layers = [lyr for lyr in QgsProject.instance().mapLayers().values()
              if lyr.customProperty("mapbridge/service") == "mapalyze"]
    if not layers:
        report["errors"].append("no Mapalyze layer: " + tab.status.text())
        return finish()
    layer = layers[0]
    report["mapalyze_features"] = layer.featureCount()
    report["legend"] = [c.label() for c in layer.renderer().categories()]
    iface.setActiveLayer(layer)
    # Records come in city clusters: show the first record's city, around the records the push will send.
    first = next(layer.getFeatures()).geometry()
    chosen = sorted(((f.geometry().distance(first), f.id()) for f in layer.getFeatures() if f.hasGeometry()))
    CHOSEN.extend(fid for _, fid in chosen[:SELECTED])
    box = QgsRectangle()
    for feature in layer.getFeatures(QgsFeatureRequest().setFilterFids(CHOSEN)):
        box.combineExtentWith(feature.geometry().boundingBox())
    iface.mapCanvas().setExtent(box.buffered(0.02))
    iface.mapCanvas().refresh()
    # The service changes meanwhile: one record edited, one deleted, one new; Sync brings the layer in line.
    svc = SANDBOX.state.mapalyze
    records = svc.records()
    svc.update_record(records[0]["id"], {"operator": "Edited on Mapalyze"})
    svc.delete_record(records[1]["id"])
    svc.add_record("form_Incident", list(first.asPoint())[:2], {"severity": 2, "description": "New on Mapalyze"})
    tab.sync_button.click()
    wait_until(lambda: not tab.refresher.busy, lambda: synced(tab, layer), "the sync")


def synced(tab, layer):
    report["sync_status"] = tab.status.text()
    report["synced_features"] = layer.featureCount()
    later(1500, lambda: mapalyze_shot(layer))


def mapalyze_shot(layer):
    shoot("mapalyze")
    dock().show_tab("Mapflow")
    later(4000, lambda: mapflow_shot(layer))


def mapflow_shot(layer):
    shoot("mapflow")
    # The records nearest the first one: the same selection whatever the window and canvas size.
    layer.selectByIds(CHOSEN)
    report["selected"] = layer.selectedFeatureCount()
    push = dock().show_tab("Push")
    push.service_combo.setCurrentIndex(push.service_combo.findData("mapiry"))
    push.layer_combo.setLayer(layer)
    push.targets[0].new_radio.setChecked(True)
    push.targets[0].title_edit.setText("Desktop check")
    wait_until(lambda: "will be sent" in push.preview_label.text(), lambda: start_push(push), "the push preview")


def start_push(push):
    report["push_preview"] = push.preview_label.text()
    push.push_button.click()
    report["steps"].append("push clicked")
    wait_until(lambda: push.run is None and "created" in push.status_label.text(), lambda: pushed(push),
               "the push of the selection")


def pushed(push):
    reports = [lyr for lyr in QgsProject.instance().mapLayers().values()
               if lyr.type() == lyr.VectorLayer and "push_status" in lyr.fields().names()]
    statuses = [f["push_status"] for f in reports[0].getFeatures()] if reports else []
    report["push_report"] = {s: statuses.count(s) for s in set(statuses)}
    report["push_report_path"] = reports[0].source() if reports else ""
    created = [m for m in SANDBOX.state.mapiry.get_maps() if m.get("title") == "Desktop check"]
    report["mapiry_locations"] = len(SANDBOX.state.mapiry.locations(created[0]["id"])) if created else 0
    report["push_status_text"] = push.status_label.text()
    later(1000, lambda: push_shot(push))


def push_shot(push):
    shoot("push")
    # The whole layer, nothing selected, to a new map: asked first, with the wait Mapiry's hourly limit makes.
    push.layer_combo.currentLayer().removeSelection()
    SANDBOX.state.mapiry.limits["bulk"] = 0         # and the hourly bulk bucket is used up
    push.targets[0].new_radio.setChecked(True)
    push.targets[0].title_edit.setText("Everything")
    wait_until(lambda: not push.selected_check.isChecked() and "will be sent" in push.preview_label.text(),
               lambda: ask_whole_layer(push), "the whole-layer preview")


def ask_whole_layer(push):
    def answer(tries=0):
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            report["question"] = [box.text(), box.informativeText()]
            shoot("push-question", screen=True)
            box.findChild(type(push.push_button), "answer_push").click()
            started = time.monotonic()
            wait_until(lambda: push.run is not None and "going on at" in push.status_label.text(),
                       lambda: later(6000 - int(1000 * (time.monotonic() - started)) if time.monotonic() - started
                                     < 6 else 0, lambda: cancel(push)),
                       "the push waiting for the hourly limit")
        elif tries < 40:
            QTimer.singleShot(250, guarded(lambda: answer(tries + 1)))
        else:
            report["errors"].append("no question before pushing the whole layer")
            finish()

    iface.messageBar().clearWidgets()
    QTimer.singleShot(250, guarded(answer))
    push.push_button.click()


def cancel(push):
    push.cancel_button.click()      # after more than 5 s: QGIS would show its own "Task failed" for it
    wait_until(lambda: push.run is None, lambda: later(1500, lambda: cancelled(push)), "the cancel")


def cancelled(push):
    report["cancel_status_text"] = push.status_label.text()
    report["bars"]["after_cancel"] = bar_texts()
    shoot("push-cancelled")
    settings = dock().show_tab("Settings")
    box = settings.boxes["mapiry"]
    iface.messageBar().clearWidgets()
    box.test_connection()
    wait_until(lambda: box.run is None, lambda: later(800, lambda: settings_shot(box)), "the connection test")


def settings_shot(box):
    report["settings_status"] = box.status_label.text()
    report["settings_env"] = box.env_label.text()
    report["bars"]["after_test"] = bar_texts()
    shoot("settings")
    # A test that fails after more than 5 s (Mapsemble answers 503 until the retries give up): one message.
    SANDBOX.add_fault("mapsemble", "503", path="^/maps$", count=None)
    failing = dock().settings_tab.boxes["mapsemble"]
    iface.messageBar().clearWidgets()
    started = time.monotonic()
    failing.test_connection()
    wait_until(lambda: failing.run is None, lambda: later(1500, lambda: failed_test(failing, started)),
               "the failing connection test")


def failed_test(box, started):
    report["failed_test_seconds"] = time.monotonic() - started
    report["failed_test_status"] = box.status_label.text()
    report["bars"]["after_failed_test"] = bar_texts()
    finish()


later(2500, start)
