"""Background polling of the shown page of processings (and of tracked ones elsewhere), driven by a QTimer."""

from __future__ import annotations

from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal

from ...api.errors import ConfigurationError, MapbridgeError
from ...core.mapflow.listing import DONE, ListQuery, list_round, merge_round
from ...core.mapflow.tracked import TrackedProcessings, auto_load_results, persist_runs
from ...core.service_factory import client_for
from ..background import BackgroundRunner

# Seconds between rounds: fast after a change, growing while processings run (the official client polls every
# 6 s), slow when nothing runs.
FAST_SECONDS, SLOW_SECONDS, IDLE_SECONDS = 2.0, 30.0, 120.0


class ProcessingsPoller(QObject):
    """Polls in QgsTasks (one per round) so the UI never waits; backs off while processings run."""

    updated = pyqtSignal(str, list, int)  # project id, rows for the table, total on the service
    ready = pyqtSignal(dict)  # a tracked processing finished OK and its result is not loaded yet
    finished = pyqtSignal(list)  # ids of tracked processings that reached a final status in this round
    failed = pyqtSignal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.project_id = ""
        self.query = ListQuery()
        self.store = TrackedProcessings()
        self.runner = BackgroundRunner(self)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.poll_now)
        self.wait = FAST_SECONDS
        self.last_error = ""
        self.again = False

    def start(self, project_id=""):
        """Poll the project now and keep polling."""
        self.project_id = project_id or ""
        self.wait = FAST_SECONDS
        self.poll_now()

    def set_query(self, query):
        """Show another page, filter or sort (polled now)."""
        self.query = query
        self.wait = FAST_SECONDS
        self.poll_now()

    def hurry(self):
        """Poll soon again (a processing was just started or changed)."""
        self.wait = FAST_SECONDS
        self.timer.start(int(FAST_SECONDS * 1000))

    def poll_now(self):
        """Start one round (or one right after the running one)."""
        self.timer.stop()
        if self.runner.closed:
            return
        if self.runner.busy:
            self.again = True
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
        project_id, tracked, query = self.project_id, self.store.all(), self.query
        self.runner.job("Mapbridge: Mapflow processings",
                        lambda feedback: list_round(client, project_id, tracked, query), self._polled,
                        client=client, hidden=True)

    def _polled(self, outcome):
        if self.again:
            self.again = False
            self.poll_now()
            return
        if not outcome.ok:
            self._report(outcome.message)
            self._schedule(running=True)
            return
        self.last_error = ""
        # Saved and read in one step: a run that has written its result is either still claiming it or noted loaded.
        claimed = persist_runs(self.store)
        project_id, shown, updates, ready, running = merge_round(
            outcome.results, self.store.all(), claimed, self.store.hidden(), auto_load_results())
        finished = []
        for processing_id, values in updates.items():
            before = self.store.get(processing_id) or {}
            if values["status"] in DONE and before.get("status") not in DONE:
                finished.append(processing_id)
            self.store.upsert(processing_id, **values)
        self.updated.emit(project_id, shown, outcome.results["total"])
        for row in ready:
            self.ready.emit(row)
        if finished:
            self.finished.emit(finished)
        self._schedule(running)

    def _report(self, message):
        if message and message != self.last_error:
            self.last_error = message
            self.failed.emit(message)

    def _schedule(self, running):
        if self.runner.closed:
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
        self.runner.shutdown()
