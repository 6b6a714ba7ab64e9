"""Settings tab: per service a base URL, a token (kept in the auth database) and Test connection."""

from __future__ import annotations

import os

from qgis.core import QgsSettings
from qgis.PyQt.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..api import config as api_config
from ..api.errors import MapbridgeError, service_title
from ..core import credentials, settings_keys
from ..core.service_factory import client_for
from .background import BackgroundRunner
from .notify import show_error, show_message

OK_STYLE = "color: #1a7f37;"
FAIL_STYLE = "color: #b42318;"


class ServiceSettingsBox(QGroupBox):
    """URL, token and connection test of one service."""

    def __init__(self, iface, service, parent=None):
        super().__init__(service_title(service), parent)
        self.iface = iface
        self.service = service
        self.runner = BackgroundRunner(self)
        self.run = None
        self.setObjectName(f"settings_{service}")
        form = QFormLayout(self)

        self.url_edit = QLineEdit(self)
        self.url_edit.setObjectName(f"{service}_url")
        self.url_edit.setPlaceholderText(api_config.DEFAULT_URLS[service])
        self.url_edit.setClearButtonEnabled(True)
        form.addRow("Base URL", self.url_edit)

        self.token_edit = QLineEdit(self)
        self.token_edit.setObjectName(f"{service}_token")
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Token", self.token_edit)

        row = QHBoxLayout()
        self.test_button = QPushButton("Test connection", self)
        self.test_button.setObjectName(f"{service}_test")
        self.test_button.clicked.connect(self.test_connection)
        self.clear_button = QPushButton("Forget token", self)
        self.clear_button.clicked.connect(self.forget_token)
        row.addWidget(self.test_button)
        row.addWidget(self.clear_button)
        row.addStretch(1)
        form.addRow(row)

        self.status_label = QLabel("", self)
        self.status_label.setObjectName(f"{service}_status")
        self.status_label.setWordWrap(True)
        form.addRow(self.status_label)

        self.env_label = QLabel("", self)
        self.env_label.setWordWrap(True)
        self.env_label.setStyleSheet("color: #6b7280;")
        form.addRow(self.env_label)
        self.load()

    def load(self):
        """Show the stored URL and whether a token is stored (never the token itself)."""
        self.url_edit.setText(QgsSettings().value(settings_keys.service_url(self.service), "", type=str) or "")
        self.token_edit.clear()
        has_token = bool(credentials.authcfg_id(self.service))
        self.token_edit.setPlaceholderText(
            "stored in the QGIS authentication database" if has_token else "paste your API token"
        )
        overrides = [v for v in (api_config.url_env_var(self.service), api_config.token_env_var(self.service))
                     if os.environ.get(v)]
        self.env_label.setText(("Overridden by " + ", ".join(overrides)) if overrides else "")
        self.env_label.setVisible(bool(overrides))

    def validate(self):
        """Raise ConfigurationError when the typed URL or token is not acceptable."""
        url = self.url_edit.text().strip()
        if url:
            api_config.check_base_url(self.service, url)
        api_config.check_token(self.service, self.token_edit.text().strip())

    def save(self):
        """Store the URL in QgsSettings and a newly typed token in the auth database."""
        self.validate()
        url = self.url_edit.text().strip()
        if url:
            QgsSettings().setValue(settings_keys.service_url(self.service), url)
        else:
            QgsSettings().remove(settings_keys.service_url(self.service))
        token = self.token_edit.text().strip()
        if token:
            credentials.store_token(self.service, token)
        self.load()

    def forget_token(self):
        """Delete the stored token."""
        credentials.clear_token(self.service)
        self.load()
        self.set_status("Token removed.", ok=True)

    def set_status(self, text, ok):
        """Show the outcome of the last action next to the service."""
        self.status_label.setText(text)
        self.status_label.setStyleSheet(OK_STYLE if ok else FAIL_STYLE)

    def test_connection(self):
        """Save, then call the service's cheapest endpoint in the background."""
        try:
            self.save()
            client = client_for(self.service, timeout=(5.0, 15.0))
            client.config.require_token()
        except MapbridgeError as exc:
            self.set_status(exc.user_message(), ok=False)
            show_error(self.iface, exc)
            return
        self.test_button.setEnabled(False)
        self.set_status("Testing…", ok=True)
        self.run = self.runner.job(f"Mapbridge: test {service_title(self.service)} connection",
                                   lambda feedback: client.ping(), self._tested, client=client)

    def _tested(self, outcome):
        self.test_button.setEnabled(True)
        self.run = None
        if outcome.ok:
            self.set_status(f"Connected: {outcome.results}.", ok=True)
            show_message(self.iface, f"{service_title(self.service)}: connection OK ({outcome.results}).")
        else:
            self.set_status(show_error(self.iface, outcome.error), ok=False)


class SettingsTab(QWidget):
    """All four services' settings, with one Save button."""

    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self.iface = iface
        outer = QVBoxLayout(self)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        inner = QWidget(scroll)
        layout = QVBoxLayout(inner)
        self.boxes = {}
        for service in api_config.SERVICES:
            box = ServiceSettingsBox(iface, service, inner)
            self.boxes[service] = box
            layout.addWidget(box)
        note = QLabel(
            "Tokens are kept in the QGIS authentication database, never in project files or settings. "
            "Requests use the proxy from QGIS ▸ Options ▸ Network.", inner)
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addStretch(1)
        scroll.setWidget(inner)
        outer.addWidget(scroll)
        self.save_button = QPushButton("Save", self)
        self.save_button.setObjectName("settings_save")
        self.save_button.clicked.connect(self.save)
        outer.addWidget(self.save_button)

    def save(self):
        """Save every service's settings, or none when one of them is invalid."""
        try:
            for box in self.boxes.values():
                box.validate()
            for box in self.boxes.values():
                box.save()
        except MapbridgeError as exc:
            show_error(self.iface, exc)
            return False
        show_message(self.iface, "Settings saved.")
        return True

    def shutdown(self):
        """Let a running connection test end (it is short) without touching these widgets."""
        for box in self.boxes.values():
            box.runner.shutdown()
