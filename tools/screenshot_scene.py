"""Run inside the real QGIS desktop (qgis --code): drive the dock against an in-process sandbox and screenshot it.

Loads Mapalyze records, pushes a selection from the Push tab, shows Settings, then each sub-page of the Mapflow tab
(New processing with a drawn AOI, Processings with a running one, the imagery catalog, My imagery with an upload)
at the default dock width; each Mapflow sub-page is also grabbed at 350 and 1,200 px into widths/ and checked for
clipped widgets. Writes PNGs and report.json to MAPBRIDGE_DESKTOP_OUT, then quits QGIS.
"""

import json
import os
import sys
import tempfile
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
from qgis.PyQt.QtWidgets import QDockWidget
from qgis.utils import iface, plugins

OUT = os.environ.get("MAPBRIDGE_DESKTOP_OUT", "/tmp/mapbridge-screens")
os.makedirs(OUT, exist_ok=True)
sys.path.insert(0, os.environ["QGIS_PLUGINPATH"])
from mapbridge.sandbox import SandboxServer  # noqa: E402
from mapbridge.tests.ui.fit import clipped  # noqa: E402

SANDBOX = SandboxServer(port=0, records=1500, seed=3, processing_seconds=5).start()
os.environ.update(SANDBOX.env())
report = {"screenshots": [], "errors": [], "steps": []}
WORK = tempfile.mkdtemp(prefix="mapbridge-screens-")
SELECTED = 20
CHOSEN = []  # ids of the features the push sends
DOCK_WIDTH = 400          # the dock's default width
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
    QTimer.singleShot(500, guarded(lambda: push_scene(layer)))


def push_scene(layer):
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
    QTimer.singleShot(500, guarded(mapflow_scene))


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
    wait_for(lambda: "credits" in tab.project_panel.account_label.text(), lambda: draw_aoi(tab), "the account")


def wait_for(condition, then, what, tries=0):
    if condition():
        QTimer.singleShot(300, guarded(then))
    elif tries > 60:
        report["errors"].append(f"Mapflow scene: no {what} after 30 s")
        finish()
    else:
        QTimer.singleShot(500, guarded(lambda: wait_for(condition, then, what, tries + 1)))


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
    wait_for(lambda: "credits" in tab.new_page.cost_label.text(), lambda: new_shot(tab), "cost")


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
    wait_for(lambda: tab.process_runs and tab.process_runs[-1]["id"], lambda: processings_shot(tab),
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

    wait_for(shown, shot, "running processing in the list")


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

    wait_for(lambda: catalog.model.rowCount() > 0, shot, "catalog results")


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
        wait_for(lambda: panel.upload_run is None and not panel.runner.busy and panel.mosaics, shot, "upload")

    def shot():
        panel.select("image", panel.mosaics[0].images[0].id)
        page_shot(tab, "myimagery", 2, 1)
        report["mapflow_images"] = sum(len(m.images) for m in panel.mosaics)
        report["mapflow_storage"] = panel.storage_bar.format()
        widths(tab, 0, 0)

    wait_for(lambda: panel.loaded and not panel.runner.busy, upload, "My imagery")


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

    QTimer.singleShot(600, guarded(grab))


QTimer.singleShot(2500, guarded(start))
