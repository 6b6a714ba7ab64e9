"""The dock's Load: runs `mapbridge:mapalyze_records` in the background, then adds the styled, marked layer."""

from __future__ import annotations

import json
import os

from qgis.core import QgsProject
from qgis.PyQt.QtCore import QCoreApplication, QObject, pyqtSignal

from ...api.errors import MapbridgeError
from ...core.mapalyze import layer as mapalyze_layer, load as mapalyze_load
from ...core.output_folders import default_output_folder
from ...core.service_factory import service_config
from ..background import BackgroundRunner, Outcome

ALGORITHM_ID = "mapbridge:mapalyze_records"


class LoadController(QObject):
    """One load at a time: progress(percent, text) while it runs, finished(Outcome) with the layer as results."""

    progress = pyqtSignal(float, str)
    finished = pyqtSignal(object)

    def __init__(self, parent=None, project=None):
        super().__init__(parent)
        self.project = project
        self.runner = BackgroundRunner(self)
        self.run = None
        self.request = None
        self.form_names = {}     # form id -> name, for the layer name and the legend

    @property
    def busy(self):
        """True while a load runs."""
        return self.run is not None

    def load(self, *, form_id=None, since=None, folder=None, name_suffix=""):
        """Start loading; raises MapbridgeError when it cannot start (bad folder, no token).

        `name_suffix` tells a second copy of a form's layer apart (" (2)")."""
        if self.run is not None:
            raise MapbridgeError("a Mapalyze load is already running", hint="Wait for it or cancel it")
        project = self.project or QgsProject.instance()
        folder = folder or default_output_folder("mapalyze", project)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise MapbridgeError(f"cannot create the output folder {folder}",
                                 hint="Choose another output folder", details=str(exc)) from None
        since = mapalyze_load.validate_since(since)
        path = mapalyze_layer.output_path(folder, form_id)
        self.request = {"form_id": form_id or None, "since": since, "path": path, "suffix": name_suffix,
                        "source_url": mapalyze_load.source_url(service_config("mapalyze").base_url, form_id)}
        params = {"FORM_ID": form_id or "", "SINCE": since or "", "OUTPUT": path}
        label = f"Mapalyze: load records ({form_id or 'all forms'})"
        self.run = self.runner.algorithm(ALGORITHM_ID, params, label, self._finished, on_progress=self.progress.emit)
        return path

    def cancel(self):
        """Stop the running load (the partial file is removed by the job)."""
        if self.run is not None:
            self.run.cancel()

    def shutdown(self):
        """Cancel the running load and let it end on its own, without reporting to this (departing) tab."""
        self.runner.shutdown()
        self.run = None

    def _finished(self, outcome):
        request = self.request
        if not outcome.ok:
            self.run = None
            self.finished.emit(outcome)
            return
        results = outcome.results
        path = results.get("OUTPUT") or request["path"]
        layer_name = os.path.splitext(os.path.basename(path))[0]
        name = mapalyze_layer.display_name(request["form_id"], self.form_names.get(request["form_id"] or ""))
        # Opening a big GeoPackage takes QGIS tens of milliseconds (hundreds the first time): not on the main thread.
        self.run = self.runner.job("Mapalyze: open the loaded layer", lambda feedback: _open(path, layer_name, name),
                                   lambda opened: self._opened(opened, outcome, path), hidden=True)

    def _opened(self, opened, outcome, path):
        request, self.run = self.request, None
        results = outcome.results
        try:
            form_ids = [str(v) for v in json.loads(results.get("FORM_IDS") or "[]")]
        except ValueError:
            form_ids = []
        layer = opened.results if opened.ok else None
        if layer is not None:
            mapalyze_layer.mark(layer, form_id=request["form_id"], newest=results.get("NEWEST") or None,
                                source_url=request["source_url"], watermark=results.get("WATERMARK") or None,
                                since=request["since"] or "")
            mapalyze_layer.apply_default_style(layer, form_ids, self.form_names)
            if request["suffix"]:
                layer.setName(layer.name() + request["suffix"])
            (self.project or QgsProject.instance()).addMapLayer(layer)
        if layer is None:
            error = MapbridgeError(f"the records were saved to {path} but QGIS cannot open it", service="mapalyze",
                                   hint="Open the file from the Browser panel to see what QGIS says")
            self.finished.emit(Outcome(False, None, error))
            return
        count = int(results.get("RECORDS") or layer.featureCount())
        self.finished.emit(Outcome(True, layer, warnings=outcome.warnings,
                                   summary=f"Loaded {count:,} Mapalyze records into “{layer.name()}” ({path})"))


def _open(path, layer_name, name):
    """The loaded GeoPackage as a layer, opened in this worker thread and handed to the main thread (or None)."""
    layer = mapalyze_layer.open_layer(path, layer_name, name)
    if not layer.isValid():
        return None
    layer.moveToThread(QCoreApplication.instance().thread())
    return layer
