"""The New processing sub-page: AOI, model and options, imagery, name and results folder; the cost and every problem
shown live before Start; a confirmed start through the one start sequence and mapbridge:mapflow_process."""

from __future__ import annotations

import os
from datetime import datetime

from qgis.core import QgsSettings
from qgis.gui import QgsCollapsibleGroupBox, QgsFileWidget
from qgis.PyQt.QtCore import QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import QFormLayout, QHBoxLayout, QLineEdit, QPushButton

from ...api.errors import MapbridgeError
from ...core import settings_keys
from ...core.mapflow import sources
from ...core.mapflow import start as start_sequence
from ...core.mapflow.account import price_preview
from ...core.mapflow.checks import Problem, problems
from ...core.output_folders import default_output_folder
from ...core.service_factory import client_for
from ..background import BackgroundRunner
from .aoi_panel import AoiPanel
from .layout import ScrollPage, align_forms, wrap_layout, wrapped_label
from .model_panel import ModelPanel
from .source_panel import SourcePanel

ESTIMATE_DELAY_MS = 500


def safe_name(text):
    """A file-name-safe version of a processing name."""
    cleaned = "".join(c if c.isalnum() or c in "-_ " else "_" for c in text).strip().replace(" ", "_")
    return cleaned[:60] or "mapflow"


def algorithm_parameters(choice, aoi_path, output, authcfg=""):
    """mapbridge:mapflow_process's parameters for a planned choice (the same algorithm as the toolbox)."""
    source = choice.source
    params = {"AOI": aoi_path, "NAME": choice.name, "MODEL": choice.model, "PROJECT_ID": choice.project_id,
              "OPTIONS": ",".join(choice.options), "ZOOM": int(source.zoom or 0), "OUTPUT": output}
    if source.kind == sources.PROVIDER:
        params["PROVIDER"] = source.provider
    elif source.kind == sources.CATALOG:
        params.update(PROVIDER=source.provider, IMAGE_ID=",".join(source.image_ids))
    elif source.kind == sources.MY_IMAGERY:
        params.update({"MOSAIC_ID": source.mosaic_id} if source.mosaic_id
                      else {"MY_IMAGE_IDS": ",".join(source.image_ids)})
    else:
        params.update(SOURCE_URL=source.url, SOURCE_TYPE=source.url_type, SOURCE_CRS=source.crs)
        if authcfg:
            params["SOURCE_AUTHCFG"] = authcfg
    return params


def cost_key(body):
    """What of a create body the cost depends on: all but the name and the per-plan marker in `meta`.

    The notes: ask again when the AOI, model, options, source or zoom change (the name is not among them); the body
    itself is sent whole, as the docs say (`exactly the create body`)."""
    key = {k: v for k, v in body.items() if k != "name"}
    key["meta"] = {k: v for k, v in (body.get("meta") or {}).items() if k != start_sequence.MARKER_KEY}
    return key


class NewProcessingPage(ScrollPage):
    """The form; `start_wanted` is handled by the tab (which knows the account, the project and the runs)."""

    inputs_changed = pyqtSignal()

    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.account = None       # as the picked project sees it
        self.models = []
        self.project_id = ""
        self.cost = None
        self.cost_note = ""
        self.cost_for = None      # the body the cost was asked for
        self.refusal = ""         # the last refusal of a start (cleared when anything changes)
        self.not_copied = []      # what of a duplicated processing could not be copied (model, provider, zoom)
        self.runner = BackgroundRunner(self)
        self.cost_run = None
        self._build()
        self.estimate_timer = QTimer(self)
        self.estimate_timer.setSingleShot(True)
        self.estimate_timer.setInterval(ESTIMATE_DELAY_MS)
        self.estimate_timer.timeout.connect(self.estimate)
        for signal in (self.aoi_panel.changed, self.model_panel.changed, self.source_panel.changed):
            signal.connect(self._inputs_changed)
        source = self.source_panel   # `activated`: the user's own pick (not a refill or an account refresh)
        for combo in (self.model_panel.combo, source.kind_combo, source.provider_combo, source.zoom_combo):
            combo.activated.connect(self._choice_made)

    def _build(self):
        content = self.content
        self.aoi_panel = AoiPanel(self.iface, self.inner)
        content.addWidget(self.aoi_panel)
        self.model_panel = ModelPanel(self.inner)
        content.addWidget(self.model_panel)
        self.source_panel = SourcePanel(self.inner)
        content.addWidget(self.source_panel)
        more = QgsCollapsibleGroupBox("Name and results folder", self.inner)
        more.setObjectName("mapflow_more")
        form = QFormLayout(more)
        self.name_edit = QLineEdit(more)
        self.name_edit.setObjectName("mapflow_name")
        self.name_edit.setPlaceholderText("optional: the model and the time")
        form.addRow("Name", self.name_edit)
        self.folder_widget = QgsFileWidget(more)
        self.folder_widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.folder_widget.setFilePath(QgsSettings().value(settings_keys.MAPFLOW_OUTPUT_FOLDER, "", type=str)
                                       or default_output_folder("mapflow"))
        form.addRow("Results", self.folder_widget)
        content.addWidget(more)
        summary = QFormLayout()
        self.cost_label = wrapped_label("", self.inner, "mapflow_cost")
        summary.addRow("Cost", self.cost_label)
        content.addLayout(summary)
        self.problems_label = wrapped_label("", self.inner, "mapflow_problems")
        self.problems_label.setStyleSheet("color: #b00020;")
        content.addWidget(self.problems_label)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start processing…", self.inner)
        self.start_button.setObjectName("mapflow_start")
        self.stop_button = QPushButton("Stop waiting", self.inner)
        self.stop_button.setObjectName("mapflow_stop")
        self.stop_button.setToolTip("Stop following the processing here; it goes on at Mapflow")
        self.stop_button.setVisible(False)
        buttons.addWidget(self.start_button, 1)
        buttons.addWidget(self.stop_button)
        content.addWidget(wrap_layout(buttons, self.inner))
        self.run_label = wrapped_label("", self.inner, "mapflow_run")
        content.addWidget(self.run_label)
        self.finish()
        align_forms([self.aoi_panel.layout(), self.model_panel.layout(), self.source_panel.layout(),
                     self.source_panel.provider_form, self.source_panel.custom_form, summary])
        self.folder_widget.fileChanged.connect(
            lambda path: QgsSettings().setValue(settings_keys.MAPFLOW_OUTPUT_FOLDER, path))
        self.name_edit.textChanged.connect(lambda _text: self._inputs_changed())

    # -- what the tab tells the page ------------------------------------------------------------
    def set_account(self, account):
        """The account as the picked project sees it (limits, balance, providers)."""
        self.account = account
        self.source_panel.set_providers(account.providers if account is not None else [])
        self.model_panel.set_prices_shown(self.billed_in_credits())
        self.source_panel.set_prices_shown(self.billed_in_credits())
        self._show_cost(self.cost, self.cost_note)   # "of N left" follows the balance
        self._inputs_changed()

    def set_project(self, project_id, models):
        """The picked project and its models."""
        self.project_id = project_id
        self.models = list(models or [])
        self.model_panel.set_models(self.models)
        self._inputs_changed()

    def fill(self, form, geometry):
        """Refill the form from a duplicated processing; geometry: its AOI (WGS84 QgsGeometry)."""
        from qgis.core import QgsCoordinateReferenceSystem

        from .aoi_panel import DRAWN_POLYGON

        self.name_edit.setText(form["name"])
        missing = self.model_panel.select(form["model"], form["options"])
        missing += self.source_panel.set_source(form["source"])
        self.aoi_panel.set_source(DRAWN_POLYGON)
        self.aoi_panel.set_drawn(geometry, QgsCoordinateReferenceSystem("EPSG:4326"))
        self.not_copied = missing   # shown until the user picks the model or the imagery themselves
        self.show_problems()
        return missing

    # -- choices -----------------------------------------------------------------------------------
    def choice(self):
        """The form's choices (raises MapbridgeError when the imagery is incomplete)."""
        model = self.model_panel.model()
        source = self.source_panel.source()
        return start_sequence.Choice(name=self.name_edit.text(), model=model.name, provider=source.provider,
                                     zoom=source.zoom or 0, project_id=self.project_id,
                                     options=self.model_panel.options(), source=source)

    def output_path(self, name, suffix=""):
        """A new GeoPackage path in the results folder."""
        folder = self.folder_widget.filePath() or default_output_folder("mapflow")
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise MapbridgeError(f"the results folder {folder} cannot be created ({exc.strerror})",
                                 hint="Choose another results folder on the New processing page") from None
        stem = f"{safe_name(name)}{suffix}_{datetime.now():%Y%m%d_%H%M%S}"
        return os.path.join(folder, stem + ".gpkg")

    # -- live estimate -----------------------------------------------------------------------------
    def _choice_made(self, _index=None):
        """The user picked the model or imagery: what a copy could not take over no longer applies."""
        self.not_copied = []
        self.show_problems()

    def _inputs_changed(self):
        self.refusal = ""   # a refusal was about the choices as they were
        self.inputs_changed.emit()
        self.show_problems()
        self.estimate_timer.start()

    def current_problems(self):
        """[Problem] of the form as it is: the AOI, the imagery, the account's limits and balance, the cost."""
        found = []
        aoi = self.aoi_panel.aoi
        if self.aoi_panel.aoi_error:
            found.append(Problem(self.aoi_panel.aoi_error))
        source = None
        try:
            source = self.source_panel.source()
        except MapbridgeError as exc:
            found.append(Problem(exc.message, exc.hint or ""))
        account = self.account
        if account is not None:
            found += problems(account, aoi, source, self.models, self.model_panel.model().name,
                              self.model_panel.options(), self.cost)
        if self.cost_note and self.cost is None and aoi is not None:
            found.append(Problem(self.cost_note.rstrip("."), blocking=False))
        found += [Problem(text, "Check the choice before Start", blocking=False) for text in self.not_copied]
        if self.refusal:
            found.append(Problem(self.refusal.rstrip(".")))
        return found

    def show_problems(self):
        """Show the problems; Start is enabled only without blocking ones."""
        found = self.current_problems()
        self.problems_label.setText("\n".join(p.sentence() for p in found))
        self.problems_label.setVisible(bool(found))
        self.start_button.setEnabled(not any(p.blocking for p in found))

    def estimate(self):
        """Ask the service the cost of exactly what would be sent (in the background)."""
        aoi = self.aoi_panel.aoi
        try:
            choice = self.choice()
        except MapbridgeError:
            choice = None
        if aoi is None or choice is None or not self.billed_in_credits():
            self.cost_for = None
            self._show_cost(None, "")   # AREA/NONE accounts: the cost preview means nothing (mapflow-notes)
            return
        body = start_sequence.request_body(choice, aoi, self.project_id, self.models)[0]
        priced = cost_key(body)
        if priced == self.cost_for:
            return
        if self.cost_run is not None and self.cost_run.busy:
            self.estimate_timer.start()
            return
        try:
            client = client_for("mapflow")
            client.config.require_token()
        except MapbridgeError:
            return
        self.cost_label.setText("asking Mapflow…")
        self.cost_run = self.runner.job("Mapbridge: Mapflow cost", lambda feedback: price_preview(client, body),
                                        lambda outcome: self._costed(priced, outcome), client=client, hidden=True)

    def _costed(self, priced, outcome):
        if not outcome.ok:
            self._show_cost(None, outcome.error.message)
            return
        self.cost_for = priced
        self._show_cost(*outcome.results)

    def billed_in_credits(self):
        """True unless the account is known to be billed by area or not at all (the cost is in credits then)."""
        kind = self.account.billing_type.upper() if self.account is not None else ""
        return kind not in ("AREA", "NONE")

    def _show_cost(self, cost, note):
        self.cost, self.cost_note = cost, note
        self.cost_label.setText(self.cost_text())
        self.show_problems()

    def cost_text(self):
        """The cost line in the account's own unit: credits, or processing area for AREA accounts."""
        account, aoi = self.account, self.aoi_panel.aoi
        kind = account.billing_type.upper() if account is not None else ""
        if kind == "AREA":
            if aoi is None:
                return "—"
            left = account.remaining_area_m2
            return f"{aoi.area_km2:.2f} km² of processing area" + (f" of {left / 1e6:.2f} km² left"
                                                                     if left is not None else "")
        if kind == "NONE":
            return "nothing (no billing on this account)"
        if self.cost is None:
            return "—" if not self.cost_note else "not known"
        balance = f" of {account.remaining_credits:g} left" if kind == "CREDITS" and \
            account.remaining_credits is not None else ""
        return f"{self.cost:g} credits{balance}"

    def refused(self, message):
        """A start was refused (shown until the choices change)."""
        self.refusal = message
        self.show_problems()

    def shutdown(self):
        """Stop the estimate and the drawing tool."""
        self.estimate_timer.stop()
        self.runner.shutdown()
        self.aoi_panel.shutdown()
