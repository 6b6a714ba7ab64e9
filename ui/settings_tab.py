"""Settings tab: per service a base URL, a token (kept in the auth database) and Test connection.

Test connection tries what is typed (or stored) without saving it, and passes only when the service proves both
that the URL is its API and that the token is accepted (api/probe.py). Environment overrides are shown as such.
"""

from __future__ import annotations

import os

from qgis.core import Qgis, QgsSettings
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
from ..api.clients import make_client
from ..api.errors import MapbridgeError, service_title
from ..core import credentials, settings_keys
from ..core.proxy_settings import read_qgis_proxy
from ..core.service_factory import stored_url
from .background import BackgroundRunner
from .notify import show_error, show_message

OK_STYLE = "color: #1a7f37;"
WARN_STYLE = "color: #b54708;"
FAIL_STYLE = "color: #b42318;"
STYLES = {"ok": OK_STYLE, "warn": WARN_STYLE, "fail": FAIL_STYLE}


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

    def env_url(self):
        """The base URL set by MAPBRIDGE_<SERVICE>_URL, or ''."""
        return (os.environ.get(api_config.url_env_var(self.service)) or "").strip()

    def env_token(self):
        """True when MAPBRIDGE_<SERVICE>_TOKEN sets the token."""
        return bool(os.environ.get(api_config.token_env_var(self.service)))

    def load(self):
        """Show the URL in use and whether a token is stored (never the token itself); overrides say so."""
        url_var, token_var = api_config.url_env_var(self.service), api_config.token_env_var(self.service)
        env_url = self.env_url()
        self.url_edit.setReadOnly(bool(env_url))
        self.url_edit.setClearButtonEnabled(not env_url)
        if env_url:
            self.url_edit.setText(env_url)
            self.url_edit.setCursorPosition(0)
            self.url_edit.setToolTip(f"Set by the environment variable {url_var}: this is the URL in use")
        else:
            self.url_edit.setText(stored_url(self.service))
            self.url_edit.setToolTip("Empty: the public API")
        self.token_edit.clear()
        self.token_edit.setEnabled(not self.env_token())
        if self.env_token():
            self.token_edit.setPlaceholderText(f"from the environment ({token_var})")
        else:
            has_token = bool(credentials.authcfg_id(self.service))
            self.token_edit.setPlaceholderText(
                "stored in the QGIS authentication database" if has_token else "paste your API token")
        notes = []
        if env_url:
            notes.append(f"Uses {env_url} from {url_var}.")
        if self.env_token():
            notes.append(f"The token comes from the environment ({token_var}).")
        self.env_label.setText(" ".join(notes))
        self.env_label.setVisible(bool(notes))

    def validate(self):
        """Raise ConfigurationError when the typed URL or token is not acceptable."""
        url = self.url_edit.text().strip()
        if url and not self.env_url():
            api_config.check_base_url(self.service, url)
        api_config.check_token(self.service, self.token_edit.text().strip())

    def save(self):
        """Store the URL in QgsSettings and a newly typed token in the auth database (overrides are left alone)."""
        self.validate()
        if not self.env_url():
            url = self.url_edit.text().strip()
            if url:
                QgsSettings().setValue(settings_keys.service_url(self.service), url)
            else:
                QgsSettings().remove(settings_keys.service_url(self.service))
        token = self.token_edit.text().strip()
        if token and not self.env_token():
            credentials.store_token(self.service, token)
        self.load()

    def trial_config(self):
        """The URL and token Test connection tries: what is in force or typed; nothing is saved."""
        url = self.env_url() or self.url_edit.text().strip() or api_config.DEFAULT_URLS[self.service]
        if self.env_token():
            token = os.environ[api_config.token_env_var(self.service)]
        else:
            # A token typed to try; else the stored one (the master password may be asked: the user asked).
            token = self.token_edit.text().strip() or credentials.load_token(self.service)
        return api_config.resolve(self.service, url, token, environ={})

    def forget_token(self):
        """Delete the stored token."""
        credentials.clear_token(self.service)
        self.load()
        self.set_status("Token removed.", ok=True)

    def set_status(self, text, ok):
        """Show the outcome of the last action next to the service (ok: True, False or "warn")."""
        self.status_label.setText(text)
        self.status_label.setStyleSheet(STYLES["warn" if ok == "warn" else "ok" if ok else "fail"])

    def test_connection(self):
        """Try the URL and token in force or typed (nothing is saved) in the background; one message says how."""
        try:
            config = self.trial_config()
            config.require_token()
            client = make_client(config, read_qgis_proxy(), timeout=(5.0, 15.0))
        except MapbridgeError as exc:
            self.set_status(show_error(self.iface, exc), ok=False)
            return
        self.test_button.setEnabled(False)
        self.set_status(f"Testing {config.base_url}…", ok=True)
        self.run = self.runner.job(f"Mapbridge: test the {service_title(self.service)} connection",
                                   lambda feedback: client.probe(), self._tested, client=client, hidden=True)

    def _tested(self, outcome):
        self.test_button.setEnabled(True)
        self.run = None
        if not outcome.ok:
            self.set_status(show_error(self.iface, outcome.error), ok=False)
            return
        result = outcome.results
        text = result.summary()
        if self.token_edit.text().strip() and not self.env_token():
            text += " Save keeps this token."
        self.set_status(text, ok="warn" if result.warnings else True)
        show_message(self.iface, text, Qgis.MessageLevel.Warning if result.warnings else Qgis.MessageLevel.Success)


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
