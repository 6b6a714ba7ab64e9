"""Run inside the real QGIS desktop (qgis --code): drive the dock against an in-process sandbox and screenshot it.

At the dock's default width (~400 px): loads every Mapalyze record, syncs the layer after the service changed
some, pushes a selection to a new Mapiry map, asks before a whole-layer push, cancels a push that waits for
Mapiry's hourly limit, tests the Mapiry connection in Settings, then shows each sub-page of the Mapflow tab (New
processing with a drawn AOI, Processings with a running one, the imagery catalog, My imagery with an upload); each
Mapflow sub-page is also grabbed at 350 and 1,200 px into widths/ and checked for clipped widgets. Writes PNGs and
report.json to MAPBRIDGE_DESKTOP_OUT, then quits QGIS.
"""

import json
import os
import sys
import tempfile
import time
import traceback

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsGeometry,
    QgsProject,
    QgsRectangle,
)
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtWidgets import QApplication, QDockWidget, QMessageBox
from qgis.utils import iface, plugins

OUT = os.environ.get("MAPBRIDGE_DESKTOP_OUT", "/tmp/mapbridge-screens")
os.makedirs(OUT, exist_ok=True)
sys.path.insert(0, os.environ["QGIS_PLUGINPATH"])
from mapbridge.sandbox import SandboxServer  # noqa: E402
from mapbridge.tests.ui.fit import clipped  # noqa: E402

SANDBOX = SandboxServer(port=0, records=1500, seed=3, processing_seconds=5).start()
os.environ.update(SANDBOX.env())
report = {"screenshots": [], "errors": [], "steps": [], "bars": {}}
WORK = tempfile.mkdtemp(prefix="mapbridge-screens-")
SELECTED = 20
DOCK_WIDTH = 400          # the dock's default width
CHOSEN = []  # ids of the features the push sends
WIDTHS = (350, 1200)      # also checked, grabbed into widths/
MOSCOW_AOI = "POLYGON((37.612 55.752, 37.628 55.751, 37.631 55.760, 37.619 55.764, 37.610 55.759, 37.612 55.752))"
PAGES = (("new", 0, None), ("processings", 1, None), ("catalog", 2, 0), ("myimagery", 2, 1))


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
    later(500, lambda: push_scene(layer))


def push_scene(layer):
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
    later(500, mapflow_scene)



# -- Mapflow ----------------------------------------------------------------------------------------------------
class SceneAsker:
    """Answers the Mapflow tab's questions like a user who says yes."""

    def yes_no(self, title, text, yes="Yes", no="No"):
        return True

    def text(self, title, label, value=""):
        return "Drone survey"

    def files(self, title):
        return []


def set_dock_width(width):
    """Resize the dock; below the other tabs' minimum the Mapflow tab is checked alone (those tabs are not
    checked here), and the side panels make room for a wide dock."""
    tabs = dock().widget()
    tabs.setMinimumWidth(1 if width < DOCK_WIDTH else 0)
    for name in ("Browser", "Layers"):
        panel = iface.mainWindow().findChild(QDockWidget, name)
        if panel is not None:
            panel.setVisible(width <= DOCK_WIDTH)
    iface.mainWindow().resize(1800 if width > DOCK_WIDTH else 1500, 950)
    QgsApplication.processEvents()
    iface.mainWindow().resizeDocks([dock()], [width], Qt.Orientation.Horizontal)


def mapflow_scene():
    iface.messageBar().clearWidgets()     # the failed connection test's message belongs to the Settings scene
    set_dock_width(DOCK_WIDTH)
    tab = dock().show_tab("Mapflow")
    asker = SceneAsker()
    tab.asker = tab.project_panel.asker = tab.actions.asker = tab.imagery_page.my_imagery.asker = asker
    tab.new_page.folder_widget.setFilePath(WORK)
    mapflow = SANDBOX.state.mapflow
    with mapflow.lock:
        failed = mapflow._new_processing({"name": "Forest north (failed)", "wdName": "🌲 Forest", "geometry": {
            "type": "Polygon", "coordinates": [[[37.5, 55.7], [37.52, 55.7], [37.52, 55.71], [37.5, 55.7]]]}},
            charge=False)
    mapflow.finish(failed["id"], "FAILED")
    wait_until(lambda: "credits" in tab.project_panel.account_label.text(), lambda: draw_aoi(tab), "the account")


def draw_aoi(tab):
    canvas = iface.mapCanvas()
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    transform = QgsCoordinateTransform(wgs84, canvas.mapSettings().destinationCrs(), QgsProject.instance())
    canvas.setExtent(transform.transformBoundingBox(QgsRectangle(37.595, 55.742, 37.645, 55.772)))
    canvas.refresh()
    tab.new_page.aoi_panel.set_drawn(QgsGeometry.fromWkt(MOSCOW_AOI), wgs84)
    heights = next(box for box in tab.new_page.model_panel.option_boxes if box.property("block") == "Heights")
    heights.setChecked(True)
    tab.new_page.name_edit.setText("Buildings of the centre")
    wait_until(lambda: "credits" in tab.new_page.cost_label.text(), lambda: new_shot(tab), "cost")


def page_shot(tab, name, page, part):
    tab.pages.setCurrentIndex(page)
    if part is not None:
        tab.imagery_page.show_part(part)
    QgsApplication.processEvents()
    shoot(f"mapflow-{name}")
    report.setdefault("mapflow_clipped", {})[f"{name}@{DOCK_WIDTH}"] = clipped(tab)


def new_shot(tab):
    page_shot(tab, "new", 0, None)
    report["mapflow_cost"] = tab.new_page.cost_label.text()
    tab.start()
    wait_until(lambda: tab.process_runs and tab.process_runs[-1]["id"], lambda: processings_shot(tab),
             "started processing")


def processings_shot(tab):
    tab.pages.setCurrentIndex(1)
    tab.poller.poll_now()
    running = tab.process_runs[-1]["id"]

    def shown():
        row = tab.processings_page.model.row_by_id(running)
        return row is not None and row["percent"] > 0 and len(tab.processings_page.model.rows) >= 3

    def shot():
        tab.processings_page.select_id(running)
        page_shot(tab, "processings", 1, None)
        report["mapflow_rows"] = [r["status_text"] for r in tab.processings_page.model.rows]
        report["mapflow_status_line"] = tab.new_page.run_label.text()
        catalog_scene(tab)

    wait_until(shown, shot, "running processing in the list")


def catalog_scene(tab):
    tab.pages.setCurrentIndex(2)
    tab.imagery_page.show_part(0)
    tab.imagery_page.catalog.search()
    catalog = tab.imagery_page.catalog

    def shot():
        catalog.table.selectRow(0)
        page_shot(tab, "catalog", 2, 0)
        report["mapflow_catalog_rows"] = catalog.model.rowCount()
        my_imagery_scene(tab)

    wait_until(lambda: catalog.model.rowCount() > 0, shot, "catalog results")


def my_imagery_scene(tab):
    from osgeo import gdal, osr

    path = os.path.join(WORK, "drone_ortho.tif")
    data = gdal.GetDriverByName("GTiff").Create(path, 256, 256, 3, gdal.GDT_Byte)
    data.SetGeoTransform((37.615, 0.00005, 0, 55.760, 0, -0.00003))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    data.SetProjection(srs.ExportToWkt())
    for band in range(1, 4):
        data.GetRasterBand(band).Fill(60 * band)
    data = None
    panel = tab.imagery_page.my_imagery
    if tab.imagery_page.catalog.layer is not None:
        tab.imagery_page.catalog.layer.removeSelection()   # a selected footprint would fill the map yellow
    tab.pages.setCurrentIndex(2)
    tab.imagery_page.show_part(1)

    def upload():
        panel.upload([path])
        wait_until(lambda: panel.upload_run is None and not panel.runner.busy and panel.mosaics, shot, "upload")

    def shot():
        panel.select("image", panel.mosaics[0].images[0].id)
        page_shot(tab, "myimagery", 2, 1)
        report["mapflow_images"] = sum(len(m.images) for m in panel.mosaics)
        report["mapflow_storage"] = panel.storage_bar.format()
        widths(tab, 0, 0)

    wait_until(lambda: panel.loaded and not panel.runner.busy, upload, "My imagery")


def widths(tab, width_index, page_index):
    """Each sub-page at 350 and 1,200 px: grabbed (the dock only) and checked."""
    if width_index >= len(WIDTHS):
        set_dock_width(DOCK_WIDTH)
        finish()
        return
    width = WIDTHS[width_index]
    if page_index == 0:
        set_dock_width(width)
    name, page, part = PAGES[page_index]
    tab.pages.setCurrentIndex(page)
    if part is not None:
        tab.imagery_page.show_part(part)

    def grab():
        folder = os.path.join(OUT, "widths")
        os.makedirs(folder, exist_ok=True)
        dock().grab().save(os.path.join(folder, f"mapflow-{name}-{width}.png"))
        report.setdefault("mapflow_clipped", {})[f"{name}@{width}"] = clipped(tab)
        report.setdefault("dock_widths", {})[str(width)] = dock().width()
        following = (width_index, page_index + 1) if page_index + 1 < len(PAGES) else (width_index + 1, 0)
        widths(tab, *following)

    later(600, grab)


later(2500, start)
