"""The top of the Mapflow tab: the project picker (new, refresh) and the account's balance and limits, shown once and
read again after every start and finish."""

from __future__ import annotations

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QToolButton, QWidget

from ...api.errors import MapbridgeError
from ...core.mapflow.account import account_overview, create_project, read_balance
from ...core.mapflow.tracked import current_project_id, set_current_project_id
from ...core.service_factory import client_for
from ..background import BackgroundRunner
from ..notify import show_error, show_success
from .layout import narrow, wrap_layout, wrapped_label


class ProjectPanel(QWidget):
    """Project combo (+ new, refresh) and the account line; reads the account in the background."""

    account_loaded = pyqtSignal(object)  # Account (as the picked project sees it)
    account_failed = pyqtSignal(str)  # the message shown; the list still works with the saved project
    project_changed = pyqtSignal(str, list)  # project id ('' = default), its models ([Model], may be empty)

    def __init__(self, iface, asker, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.asker = asker
        self.account = None
        self.projects = []
        self.started = False
        self.runner = BackgroundRunner(self)
        self.balance_run = None
        self._build()

    def _build(self):
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.project_combo = QComboBox(self)
        self.project_combo.setObjectName("mapflow_project")
        self.new_project_button = QToolButton(self)
        self.new_project_button.setIcon(QgsApplication.getThemeIcon("/symbologyAdd.svg"))
        self.new_project_button.setToolTip("Create a new Mapflow project…")
        self.refresh_button = QToolButton(self)
        self.refresh_button.setIcon(QgsApplication.getThemeIcon("/mActionRefresh.svg"))
        self.refresh_button.setToolTip("Read the account, its projects and models again")
        row.addWidget(self.project_combo, 1)
        row.addWidget(self.new_project_button)
        row.addWidget(self.refresh_button)
        form.addRow("Project", wrap_layout(row, self))
        self.account_label = wrapped_label("Open to read the account.", self, "mapflow_account")
        form.addRow("Account", self.account_label)
        narrow(self.project_combo)
        self.project_combo.currentIndexChanged.connect(self._project_changed)
        self.new_project_button.clicked.connect(self.new_project)
        self.refresh_button.clicked.connect(self.refresh)

    def project_id(self):
        """The picked project id ('' until the account is read: the default project)."""
        return self.project_combo.currentData() or ""

    def project(self):
        """The picked project's entry {id, label, models, raw}, or None."""
        return next((p for p in self.projects if p["id"] == self.project_id()), None)

    def account_for_project(self):
        """The account as the picked project sees it (a shared project's owner limits), or None."""
        if self.account is None:
            return None
        project = self.project()
        return self.account.with_project(project["raw"]) if project else self.account

    def refresh(self):
        """Read the account, the default project and the project list in the background."""
        self.started = True
        try:
            client = client_for("mapflow")
            client.config.require_token()
        except MapbridgeError as exc:
            self._failed(exc.user_message())
            return
        self.account_label.setText("Reading the account…")
        self.runner.job("Mapbridge: Mapflow account", lambda feedback: account_overview(client), self._account_read,
                        client=client, hidden=True)

    def refresh_balance(self):
        """Read the balance and limits again (after a start or a finish)."""
        if not self.started or (self.balance_run is not None and self.balance_run.busy):
            return
        try:
            client = client_for("mapflow")
            client.config.require_token()
        except MapbridgeError:
            return
        project_id = self.project_id()
        self.balance_run = self.runner.job("Mapbridge: Mapflow balance",
                                           lambda feedback: read_balance(client, project_id),
                                           self._balance_read, client=client, hidden=True)

    def _balance_read(self, outcome):
        if not outcome.ok:
            return
        account, project = outcome.results
        for entry in self.projects:
            if project is not None and entry["id"] == project.get("id"):
                entry["raw"] = project   # its owner limits, as fresh as the account's
        self._show_account(account)

    def _show_account(self, account):
        self.account = account
        shown = self.account_for_project()
        self.account_label.setText(f"{shown.balance_text()} · {shown.limit_text()}")
        self.account_loaded.emit(shown)

    def _failed(self, message):
        self.account_label.setText(message)
        self.account_failed.emit(message)

    def _account_read(self, outcome):
        if not outcome.ok:
            self._failed(outcome.message)
            return
        result = outcome.results
        self.projects = result["projects"]
        wanted = current_project_id()
        self.project_combo.blockSignals(True)
        self.project_combo.clear()
        for project in self.projects:
            self.project_combo.addItem(project["label"], project["id"])
        index = self.project_combo.findData(wanted) if wanted else 0
        self.project_combo.setCurrentIndex(max(0, index))
        self.project_combo.blockSignals(False)
        self._show_account(result["account"])
        self._project_changed()

    def _project_changed(self):
        project_id = self.project_id()
        set_current_project_id(project_id)
        if self.account is not None:
            self._show_account(self.account)
        project = self.project()
        self.project_changed.emit(project_id, list((project or {}).get("models") or []))

    def new_project(self):
        """Create a Mapflow project and pick it."""
        name = self.asker.text("New Mapflow project", "Name of the new project:")
        if not name:
            return
        try:
            client = client_for("mapflow")
            client.config.require_token()
        except MapbridgeError as exc:
            show_error(self.iface, exc)
            return
        self.runner.job("Mapbridge: new Mapflow project", lambda feedback: create_project(client, name),
                        self._project_created, client=client)

    def _project_created(self, outcome):
        if not outcome.ok:
            show_error(self.iface, outcome.error)
            return
        result = outcome.results
        set_current_project_id(result["id"])
        show_success(self.iface, f"Mapflow project '{result.get('name', '')}' created.")
        self.refresh()

    def shutdown(self):
        """Cancel the background calls (their answers are dropped)."""
        self.runner.shutdown()
