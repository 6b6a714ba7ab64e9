"""The Mapflow tab: the project and account on top, then three sub-pages (New processing · Processings · Imagery).

It wires the pages together, starts processings through the one start sequence and mapbridge:mapflow_process, keeps
the list and the balance current, and resumes tracked processings without asking for the master password at start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from datetime import datetime

from qgis.core import QgsGeometry, QgsProject
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QDockWidget, QTabWidget, QVBoxLayout, QWidget

from ...api.errors import MapbridgeError
from ...core import credentials
from ...core.mapflow import sources
from ...core.mapflow import start as start_sequence
from ...core.mapflow.aoi import save_aoi_geojson
from ...core.mapflow.catalog import geometry_of
from ...core.mapflow.manage import delete_many
from ...core.mapflow.processings import status_text
from ...core.mapflow.tiles import raster_tiles_layer
from ...core.mapflow.tracked import (
    TrackedProcessings,
    auto_load_results,
    current_project_id,
    is_current_project,
    project_key,
    unwatch_project,
    watch_project,
)
from ...core.service_factory import client_for
from ..background import BackgroundRunner
from ..notify import show_error, show_message, show_success
from .asker import Asker
from .imagery_page import ImageryPage
from .new_page import NewProcessingPage, algorithm_parameters
from .poller import ProcessingsPoller
from .processing_actions import ProcessingActions
from .processings_page import ProcessingsPage
from .project_panel import ProjectPanel
from .results import ResultLoader

NEW, PROCESSINGS, IMAGERY = 0, 1, 2


class MapflowTab(QWidget):
    """Dock tab of Mapflow: project and account, New processing, Processings, Imagery."""

    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.closed = False
        self.asker = Asker(self)
        self.store = TrackedProcessings()
        self.runner = BackgroundRunner(self)
        self.process_runs = []   # [{name, run, id, aoi_path, qgis_project}]
        # AOI files handed to mapflow_process (inputs only: no project layer uses them); removed in shutdown().
        self.work_folder = tempfile.mkdtemp(prefix="mapbridge-mapflow-aoi-")
        watch_project()
        self._build()
        self._wire()
        # Nothing is read at QGIS start unless it needs no master password (see _resume_if_ready).
        QTimer.singleShot(0, self._resume_if_ready)
        self._watch_dock()

    # -- building -----------------------------------------------------------------------------
    def _build(self):
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.project_panel = ProjectPanel(self.iface, self.asker, self)
        layout.addWidget(self.project_panel)
        self.pages = QTabWidget(self)
        self.pages.setObjectName("mapflow_pages")
        self.pages.setDocumentMode(True)
        self.pages.tabBar().setExpanding(True)
        self.pages.tabBar().setUsesScrollButtons(False)
        self.new_page = NewProcessingPage(self.iface, self.pages)
        self.processings_page = ProcessingsPage(self.pages)
        self.imagery_page = ImageryPage(self.iface, self.new_page.aoi_panel.current_aoi, self.asker, self.pages)
        self.pages.addTab(self.new_page, "New")
        self.pages.addTab(self.processings_page, "Processings")
        self.pages.addTab(self.imagery_page, "Imagery")
        self.pages.setTabToolTip(NEW, "Start a new processing")
        self.pages.setTabToolTip(PROCESSINGS, "The project's processings and their results")
        self.pages.setTabToolTip(IMAGERY, "The imagery catalog and your own imagery")
        layout.addWidget(self.pages, 1)
        self.poller = ProcessingsPoller(self)
        self.results = ResultLoader(self.iface, self.new_page.output_path, self)
        self.actions = ProcessingActions(self.iface, self.processings_page, self.results, self.asker, self)

    def _wire(self):
        panel, page, new = self.project_panel, self.processings_page, self.new_page
        panel.account_loaded.connect(self._account_loaded)
        panel.account_failed.connect(lambda message: self.poller.start(current_project_id()))
        panel.project_changed.connect(self._project_changed)
        self.poller.updated.connect(self._processings_updated)
        self.poller.ready.connect(self._result_ready)
        self.poller.finished.connect(lambda ids: panel.refresh_balance())
        self.poller.failed.connect(page.status_label.setText)
        page.query_changed.connect(self.poller.set_query)
        self.actions.changed.connect(self._list_changed)
        self.actions.duplicated.connect(self.fill_from)
        self.results.status.connect(page.status_label.setText)
        new.start_button.clicked.connect(self.start)
        new.stop_button.clicked.connect(self.stop_waiting)
        new.source_panel.show_tiles.connect(self._show_custom_tiles)
        catalog, my_imagery = self.imagery_page.catalog, self.imagery_page.my_imagery
        catalog.images_chosen.connect(lambda source: self._use_source(sources.CATALOG, source))
        catalog.searched.connect(self._search_results)
        my_imagery.source_chosen.connect(lambda source: self._use_source(sources.MY_IMAGERY, source))

    # -- start-up -------------------------------------------------------------------------------
    @property
    def started(self):
        """True once the account has been asked for."""
        return self.project_panel.started

    def _waiting(self):
        """Tracked processings still running, or finished with a result not loaded yet."""
        return self.store.waiting()

    def _resume_if_ready(self):
        """At QGIS start: follow tracked processings only when that asks the user nothing."""
        if not self.closed and not self.started and self._waiting() and credentials.token_without_prompt("mapflow"):
            self.begin()

    def _watch_dock(self):
        widget = self.parentWidget()
        while widget is not None and not isinstance(widget, QDockWidget):
            widget = widget.parentWidget()
        self.dock = widget
        if widget is not None:
            widget.visibilityChanged.connect(self._dock_visibility)

    def _dock_visibility(self, visible):
        """The dock was shown: tracked processings resume when that asks nothing, or when the user opened it.

        Re-opening a dock left open last time (at QGIS start) is not the user asking: no master-password prompt then.
        """
        if not visible or self.closed or self.started or not self._waiting():
            return
        if credentials.token_without_prompt("mapflow") or getattr(self.dock, "opened_by_user", False):
            self.begin()
        else:
            self.project_panel.account_label.setText(
                "Tracked processings wait until you ask: press ⟳ (it may ask for the QGIS master password).")

    def showEvent(self, event):  # noqa: N802 - Qt API name
        """Read the account the first time the tab is shown."""
        super().showEvent(event)
        if not self.started and not self.closed:
            self.begin()

    def begin(self):
        """Read the account and projects; the list follows the picked project."""
        self.project_panel.refresh()

    def refresh_account(self):
        """Read the account, its projects and models again (in the background)."""
        self.project_panel.refresh()

    # -- what the account and list say ---------------------------------------------------------------
    def _account_loaded(self, account):
        self.new_page.set_account(account)
        self.imagery_page.catalog.set_providers(account.search_providers)

    def _project_changed(self, project_id, models):
        self.new_page.set_project(project_id, models)
        self.poller.start(project_id)

    def _processings_updated(self, project_id, rows, total):
        self.processings_page.show_rows(rows, total)
        self.show_run_status()

    def _result_ready(self, row):
        """A tracked processing finished OK: load it here, or offer it when another project is open."""
        if not auto_load_results() or row["id"] in self.results.loading:
            return
        if is_current_project(row.get("qgisProject")):
            self.results.load(row["id"], row.get("name") or row["id"])
        else:
            self.results.offer(row)

    def _list_changed(self):
        self.poller.hurry()
        self.project_panel.refresh_balance()

    # -- pages talking to each other -----------------------------------------------------------------
    def _use_source(self, kind, source):
        self.new_page.source_panel.set_chosen(kind, source)
        self.pages.setCurrentIndex(NEW)

    def _search_results(self, ids):
        """A chosen catalog image that a new search no longer finds is forgotten."""
        chosen = self.new_page.source_panel.chosen[sources.CATALOG]
        if chosen is not None and not set(chosen.image_ids) <= set(ids):
            self.new_page.source_panel.set_chosen(sources.CATALOG, None)
            self.imagery_page.catalog.status.setText(self.imagery_page.catalog.status.text()
                                                     + " The image chosen before is not among them: forgotten.")

    def fill_from(self, form):
        """Fill the New processing page from a duplicated processing (its AOI drawn on the map)."""
        parts = [geometry_of(g) for g in form["geometries"]]
        geometry = QgsGeometry.unaryUnion(parts) if len(parts) > 1 else parts[0]
        self.new_page.fill(form, geometry)
        self.pages.setCurrentIndex(NEW)
        show_message(self.iface, f"The New page holds a copy ('{form['name']}'); check it and press Start.")

    def _show_custom_tiles(self, source):
        layer = raster_tiles_layer(source.url, "Custom imagery tiles", kind=source.url_type,
                                   authcfg=self.new_page.source_panel.auth_select.configId())
        if layer.isValid():
            QgsProject.instance().addMapLayer(layer)

    # -- starting a processing ------------------------------------------------------------------
    def start(self):
        """Plan in the background (the same start sequence as the algorithm), ask, then run mapflow_process."""
        new = self.new_page
        try:
            aoi = new.aoi_panel.current_aoi()
            choice = new.choice()
            client = client_for("mapflow")
            client.config.require_token()
        except MapbridgeError as exc:
            new.run_label.setText(show_error(self.iface, exc))
            return None
        new.start_button.setEnabled(False)
        new.run_label.setText("Checking the area, limits and cost…")
        return self.runner.job("Mapbridge: Mapflow cost", lambda feedback: start_sequence.plan(client, aoi, choice),
                               self._planned, client=client)

    def _planned(self, outcome):
        new = self.new_page
        if not outcome.ok:
            message = show_error(self.iface, outcome.error)
            new.run_label.setText("")
            new.refused(message)
            self.project_panel.refresh_balance()   # the refusal may come from changed limits: live checks use them
            return
        new.show_problems()
        planned = outcome.results
        if not self.confirm(planned.confirmation_text()):
            new.run_label.setText("Not started.")
            return
        self.launch(planned)

    def confirm(self, text):
        """Ask before anything is spent."""
        return self.asker.yes_no("Start a Mapflow processing", text, "Start", "Cancel")

    def launch(self, planned):
        """Run mapbridge:mapflow_process in the background (the same algorithm as the toolbox)."""
        new, choice = self.new_page, planned.choice
        info = {"name": choice.name, "id": None, "percent": 0.0, "qgis_project": project_key()}
        try:
            info["aoi_path"] = save_aoi_geojson(planned.aoi, os.path.join(
                self.work_folder, f"aoi_{datetime.now():%H%M%S%f}.geojson"))
            params = algorithm_parameters(choice, info["aoi_path"], new.output_path(choice.name),
                                          new.source_panel.authcfg())
            info["run"] = self.runner.algorithm(
                "mapbridge:mapflow_process", params, f"Mapflow: {choice.name}",
                lambda outcome: self._run_finished(info, outcome),
                on_progress=lambda percent, line: self._run_progress(info, percent))
        except MapbridgeError as exc:
            new.run_label.setText(show_error(self.iface, exc))
            return None
        self.process_runs.append(info)
        new.stop_button.setVisible(True)
        new.run_label.setText(f"Starting '{choice.name}'…")
        self.poller.hurry()
        return info["run"]

    def _run_progress(self, info, percent):
        """The running algorithm's status read: the list row and the status line show the same number."""
        processing_id = info["run"].feedback.partial.get("PROCESSING_ID")
        if processing_id and info["id"] is None:
            info["id"] = processing_id
            self.project_panel.refresh_balance()   # the credits were spent when it was created
            self.poller.hurry()
        if percent is not None:
            info["percent"] = float(percent)
        if info["id"]:
            self.processings_page.model.update_progress(info["id"], "IN_PROGRESS", info["percent"])
        self.show_run_status()

    def show_run_status(self):
        """The status line of the last started processing, in the list's words."""
        running = [info for info in self.process_runs if info["run"].busy]
        if not running:
            return
        info = running[-1]
        row = self.processings_page.model.row_by_id(info["id"]) if info["id"] else None
        words = row["status_text"] if row is not None else (
            status_text("IN_PROGRESS", info["percent"]) if info["id"] else "creating the processing")
        more = f" (and {len(running) - 1} more)" if len(running) > 1 else ""
        self.new_page.run_label.setText(f"'{info['name']}': {words}{more}")

    def stop_waiting(self):
        """Stop following the running processings here (they go on at Mapflow)."""
        for info in self.process_runs:
            info["run"].cancel()

    def _run_finished(self, info, outcome):
        new = self.new_page
        self.process_runs = [i for i in self.process_runs if i is not info]
        new.stop_button.setVisible(any(i["run"].busy for i in self.process_runs))
        with contextlib.suppress(OSError):  # already gone: the folder is removed in shutdown() anyway
            os.remove(info["aoi_path"])
        processing_id = outcome.partial.get("PROCESSING_ID") or (outcome.results or {}).get("PROCESSING_ID")
        self.project_panel.refresh_balance()
        self.poller.hurry()
        if outcome.cancelled:
            self._stopped(info, processing_id)
            return
        if not outcome.ok:
            new.run_label.setText(show_error(self.iface, outcome.error))
            return
        results = outcome.results
        layers = results.get("LAYERS") or [results.get("OUTPUT")]
        if is_current_project(info["qgis_project"]):
            self.results.add_layers(layers, info["name"], processing_id)
        else:
            self.results.offer({"id": processing_id, "name": info["name"]}, layers)
        new.run_label.setText(f"'{info['name']}' finished: {results.get('FEATURE_COUNT', 0)} features.")

    def _stopped(self, info, processing_id):
        """Stopping the wait does not stop the processing: say so, and offer to delete it."""
        new, name = self.new_page, info["name"]
        if not processing_id:
            new.run_label.setText(show_message(self.iface, f"'{name}' was not started; nothing was spent."))
            return
        later = ("its result loads here when it finishes" if auto_load_results()
                 else "its result can be loaded from the Processings page")
        text = (f"Stopped waiting for '{name}'. The processing itself keeps running on Mapflow (its credits are "
                f"spent) and {later}.\n\nDelete it on Mapflow instead?")
        if not self.asker.yes_no("Mapflow processing still running", text, "Delete it", "Keep it running"):
            new.run_label.setText(show_message(self.iface, f"'{name}' keeps running on Mapflow; {later}."))
            return
        try:
            client = client_for("mapflow")
            client.config.require_token()
        except MapbridgeError as exc:
            new.run_label.setText(show_error(self.iface, exc))
            return
        new.run_label.setText(f"Deleting '{name}' on Mapflow…")
        self.runner.job("Mapbridge: delete a Mapflow processing",
                        lambda feedback: delete_many(client, [processing_id], feedback),
                        lambda outcome: self._deleted_after_stop(name, processing_id, outcome), client=client)

    def _deleted_after_stop(self, name, processing_id, outcome):
        if not outcome.ok or outcome.results.failed:
            error = outcome.error or MapbridgeError(outcome.results.summary(), service="mapflow")
            self.new_page.run_label.setText(show_error(self.iface, error))
            return
        self.store.remove(processing_id)
        self.new_page.run_label.setText(show_success(self.iface, f"'{name}' was deleted on Mapflow."))
        self._list_changed()

    # -- shutdown -------------------------------------------------------------------------------------
    def shutdown(self):
        """Stop timers, cancel tasks and runs, unset the map tool, remove rubber bands and temporary files."""
        self.closed = True
        self.runner.shutdown()
        self.project_panel.shutdown()
        self.poller.shutdown()
        self.actions.shutdown()
        self.results.shutdown()
        self.new_page.shutdown()
        self.imagery_page.shutdown()
        self.process_runs = []  # detached by the runner: processings keep running on Mapflow, tracked next time
        unwatch_project()
        shutil.rmtree(self.work_folder, ignore_errors=True)
