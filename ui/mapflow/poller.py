"""Background polling of the picked project's processings (and of tracked ones elsewhere), driven by a QTimer."""

from __future__ import annotations

from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal

from ...api.errors import ConfigurationError, MapbridgeError, ServiceError
from ...core.mapflow.account import default_project_id
from ...core.mapflow.processings import FINAL
from ...core.mapflow.tracked import TrackedProcessings, auto_load_results, persist_runs
from ...core.service_factory import client_for
from ..mapflow_background import BackgroundCalls
from .processings_model import row_of

PAGE_LIMIT = 100
FAST_SECONDS, SLOW_SECONDS, IDLE_SECONDS = 2.0, 30.0, 120.0
# Statuses that need no more polling (NOT_FOUND: the processing was deleted on the service).
DONE = FINAL + ("NOT_FOUND",)


def poll_round(client, project_id, tracked):
    """One round in the worker: the project's page plus the unfinished tracked processings not on it."""
    try:
        if not project_id:
            project_id = default_project_id(client)
        page = client.processings_page(project_id, limit=PAGE_LIMIT)
        results = [p for p in page.get("results") or [] if isinstance(p, dict) and p.get("id")]
        seen = {str(p["id"]) for p in results}
        extra = []
        for item in tracked:
            if item["id"] in seen or item.get("status") in DONE:
                continue
            try:
                extra.append(client.processing(item["id"]))
            except ServiceError as exc:
                if exc.status != 404:
                    raise
                extra.append(dict(item, status="NOT_FOUND", percent=0))
        return {"projectId": project_id, "results": results, "extra": extra}
    finally:
        client.close()


class ProcessingsPoller(QObject):
    """Polls in QgsTasks (one per round) so the UI never waits; backs off while processings run."""

    updated = pyqtSignal(str, list)  # project id, rows for the table
    ready = pyqtSignal(dict)  # a tracked processing finished OK and its result is not loaded yet
    failed = pyqtSignal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.project_id = ""
        self.store = TrackedProcessings()
        self.calls = BackgroundCalls()
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.poll_now)
        self.wait = FAST_SECONDS
        self.last_error = ""

    def start(self, project_id=""):
        """Poll the project now and keep polling."""
        self.project_id = project_id or ""
        self.wait = FAST_SECONDS
        self.poll_now()

    def hurry(self):
        """Poll soon again (a processing was just started)."""
        self.wait = FAST_SECONDS
        self.timer.start(int(FAST_SECONDS * 1000))

    def poll_now(self):
        """Start one round unless one is running."""
        self.timer.stop()
        if self.calls.busy() or self.calls.closed:
            return
        try:
            client = client_for("mapflow")
            client.config.require_token()
        except ConfigurationError as exc:
            # No token, or the master password was refused: do not ask again every round.
            self._report(exc.user_message())
            return
        except MapbridgeError as exc:
            self._report(exc.user_message())
            self._schedule(running=False)
            return
        persist_runs(self.store)  # what running algorithms did since the last round
        project_id, tracked = self.project_id, self.store.all()
        self.calls.call("Mapbridge: Mapflow processings",
                        lambda task: poll_round(client, project_id, tracked), self._polled, hidden=True)

    def _polled(self, exception, result=None):
        if exception is not None or not result:
            self._report(exception.user_message() if isinstance(exception, MapbridgeError) else str(exception))
            self._schedule(running=True)
            return
        self.last_error = ""
        # Saved and read in one step: a run that has written its result is either still claiming it or noted loaded.
        claimed = persist_runs(self.store)
        hidden = self.store.hidden()
        project_id = result["projectId"]
        rows = [row_of(p) for p in result["results"] if str(p["id"]) not in hidden]
        by_id = {r["id"]: r for r in rows}
        for answer in result["extra"]:
            by_id.setdefault(str(answer.get("id")), row_of(answer))
        for item in self.store.all():
            row = by_id.get(item["id"])
            if row is None:
                continue
            if (row["status"], row["percent"]) != (item.get("status"), item.get("percent")):
                self.store.upsert(item["id"], status=row["status"], percent=row["percent"])
            if row["status"] == "OK" and not item.get("loaded") and item["id"] not in claimed:
                self.ready.emit(dict(row, output=item.get("output") or ""))
        shown = list(rows)
        for item in self.store.all():
            if item["id"] not in {r["id"] for r in shown} and item.get("projectId") in ("", None, project_id):
                shown.append(by_id.get(item["id"]) or row_of(item))
        auto_load = auto_load_results()
        # Keep polling while something runs, or while a finished result still waits to be loaded.
        running = any(r["status"] not in DONE for r in by_id.values()) or any(
            item.get("status") not in DONE or (item.get("status") == "OK" and not item.get("loaded") and auto_load)
            for item in self.store.all())
        self.updated.emit(project_id, shown)
        self._schedule(running)

    def _report(self, message):
        if message and message != self.last_error:
            self.last_error = message
            self.failed.emit(message)

    def _schedule(self, running):
        if self.calls.closed:
            return
        if running:
            seconds = self.wait
            self.wait = min(SLOW_SECONDS, self.wait * 1.5)
        else:
            seconds = IDLE_SECONDS
        self.timer.start(int(seconds * 1000))

    def shutdown(self):
        """Stop the timer and cancel a running round."""
        self.timer.stop()
        self.calls.shutdown()
