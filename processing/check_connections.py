"""Algorithm `mapbridge:check_connections`: call each configured service once and report."""

from __future__ import annotations

from qgis.core import QgsProcessingOutputNumber, QgsProcessingOutputString

from ..api.errors import MapbridgeError, service_title
from .base import MapbridgeAlgorithm


class CheckConnectionsAlgorithm(MapbridgeAlgorithm):
    """Tell which services answer with the configured URL and token."""

    group_id = "settings"
    group_name = "Settings"
    help_text = ("Calls the cheapest endpoint of Mapalyze, Mapflow, Mapiry and Mapsemble with the configured "
                 "base URL and token and reports which ones answer. Services without a token are skipped.")
    REPORT = "REPORT"
    CONNECTED = "CONNECTED"

    def name(self):
        return "check_connections"

    def displayName(self):  # noqa: N802 - QGIS API name
        return "Check service connections"

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addOutput(QgsProcessingOutputString(self.REPORT, "Report"))
        self.addOutput(QgsProcessingOutputNumber(self.CONNECTED, "Services connected"))

    def prepareAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API name
        from ..api.config import SERVICES
        from ..core.service_factory import client_for

        self.clients, self.errors = {}, {}
        for service in SERVICES:
            try:
                self.clients[service] = client_for(service, timeout=(5.0, 15.0))
            except MapbridgeError as exc:
                self.errors[service] = exc.user_message()
        return True

    def run_job(self, parameters, context, feedback):
        from ..api.config import SERVICES

        lines, connected = [], 0
        for i, service in enumerate(SERVICES):
            if feedback.isCanceled():
                break
            title = service_title(service)
            client = self.clients.get(service)
            if client is None:
                lines.append(f"{title}: not configured: {self.errors[service]}")
            elif not client.config.token:
                lines.append(f"{title}: skipped, no token set")
            else:
                try:
                    found = client.probe()       # the same proof as Settings ▸ Test connection
                    about = "; ".join(part for part in ("token accepted", found.access, found.account) if part)
                    lines.append(f"{title}: OK ({about}) at {client.config.base_url}")
                    lines.extend(f"{title}: WARNING: {warning}" for warning in found.warnings)
                    connected += 1
                except MapbridgeError as exc:
                    lines.append(f"{title}: FAILED: {exc.user_message()}")
            feedback.pushInfo(lines[-1])
            feedback.setProgress(100 * (i + 1) / len(SERVICES))
        return {self.REPORT: "\n".join(lines), self.CONNECTED: connected}
