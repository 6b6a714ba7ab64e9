"""The one way the dock runs work in the background: a Processing algorithm or a plain job, ending in an Outcome.

Every run reports progress (percent, last log line) while it goes and ends with exactly one Outcome on the main
thread: ok and results, or the MapbridgeError (cancelled or not), plus partial results and warnings. Nothing is
ever read back out of a message. Runs cancel through their feedback only (QgsTask.cancel() on a task QGIS 3.22
has queued but not started can crash it); a run whose owner goes away is detached and ends quietly.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any

from qgis.core import (
    QgsApplication,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProject,
    QgsTask,
)
from qgis.PyQt.QtCore import QObject, QTimer

from ..api.errors import CancelledError, MapbridgeError
from ..core.feedback import JobFeedback
from ..core.log import log_exception

# Runs whose owner went away stay referenced until their task ends: the task still uses their feedback.
_DETACHED = set()
POLL_MS = 200


@dataclass
class Outcome:
    """How a background run ended."""

    ok: bool
    results: Any = None             # the job's return value, or the algorithm's results dict
    error: MapbridgeError | None = None
    partial: dict = field(default_factory=dict)    # what exists despite a failure, e.g. {"MAP_ID": ...}
    warnings: list = field(default_factory=list)   # problems the run reported without failing
    summary: str = ""               # one line for the user about a success, when the owner words one

    @property
    def message(self):
        """The line to show: the summary, or the error's message."""
        return self.error.user_message() if self.error is not None else self.summary

    @property
    def cancelled(self):
        """True when the run stopped because the user cancelled it."""
        return isinstance(self.error, CancelledError)


class _JobTask(QgsTask):
    """Runs job(feedback) in a worker thread; keeps its return value or its error."""

    def __init__(self, description, job, feedback, client, hidden):
        flags = QgsTask.Flag.CanCancel
        if hidden and hasattr(QgsTask.Flag, "Hidden"):   # QGIS >= 3.26: kept out of the task bar
            flags = flags | QgsTask.Flag.Hidden
        super().__init__(description, flags)
        self.job = job
        self.feedback = feedback
        self.client = client
        self.value = None
        self.error = None
        feedback.progressChanged.connect(self.setProgress)

    def run(self):
        try:
            self.value = self.job(self.feedback)
            return True
        except MapbridgeError as exc:
            self.error = exc
        except Exception as exc:  # noqa: BLE001 - a bug becomes a message; its traceback goes to the log once
            self.error = MapbridgeError(f"{self.description()} failed: {type(exc).__name__}: {exc}",
                                        hint="See the Mapbridge log for details and please report it",
                                        details=traceback.format_exc())
        finally:
            if self.client is not None:
                self.client.close()
        return False

    def cancel(self):
        self.feedback.cancel()
        super().cancel()


class Run(QObject):
    """One background run: cancel() it; its owner's on_done gets the Outcome."""

    def __init__(self, description, on_done, on_progress, parent):
        super().__init__(parent)
        self.description = description
        self.on_done = on_done
        self.on_progress = on_progress
        self.feedback = JobFeedback()
        self.task = None
        self.context = None
        self.done = False
        self._last = None
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)

    @property
    def busy(self):
        """True until the outcome is known."""
        return not self.done

    def cancel(self):
        """Ask the run to stop at its next check."""
        if not self.done:
            self.feedback.cancel()

    def detach(self):
        """Cancel and drop the callbacks: the owner is going away, the run must not call into it."""
        self.on_done = self.on_progress = None
        if not self.done:
            self.setParent(None)
            _DETACHED.add(self)
            self.cancel()

    def take_layer(self, layer_id_or_path):
        """An output layer produced in this run's context (temporary outputs), or None."""
        return self.context.takeResultLayer(layer_id_or_path) if self.context is not None else None

    def _start(self, task):
        self.task = task
        QgsApplication.taskManager().addTask(task)
        self._timer.start()

    def _poll(self):
        state = (self.feedback.progress(), self.feedback.last_line)
        if state != self._last and self.on_progress is not None:
            self._last = state
            self.on_progress(*state)

    def _finish(self, outcome):
        if self.done:
            return
        self.done = True
        self._timer.stop()
        self._poll()
        self.task = None
        _DETACHED.discard(self)
        if outcome.error is not None and not outcome.cancelled and not getattr(outcome.error, "logged", False):
            log_exception(outcome.error)
        on_done, self.on_done, self.on_progress = self.on_done, None, None
        try:
            if on_done is not None:
                on_done(outcome)
        finally:
            # No cycle keeps the context alive until a late garbage collection: a QgsProcessingContext freed
            # after QGIS has shut down crashes it.
            self.context = None


class BackgroundRunner(QObject):
    """Starts runs for one owner (a tab, a panel) and detaches them all when the owner shuts down."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.runs = []
        self.closed = False

    @property
    def busy(self):
        """True while any run of this owner is going."""
        return any(run.busy for run in self.runs)

    def job(self, description, job, on_done, *, on_progress=None, client=None, hidden=False):
        """Run job(feedback) in a QgsTask; on_done(Outcome) on the main thread. The client is closed after."""
        run = self._new(description, on_done, on_progress)
        task = _JobTask(description, job, run.feedback, client, hidden)
        task.taskCompleted.connect(lambda: run._finish(Outcome(True, task.value, partial=dict(run.feedback.partial),
                                                               warnings=list(run.feedback.warnings))))
        task.taskTerminated.connect(lambda: run._finish(self._failed(run, task.error)))
        run._start(task)
        return run

    def algorithm(self, algorithm_id, parameters, description, on_done, *, on_progress=None, project=None):
        """Run a Mapbridge Processing algorithm (the same one the toolbox runs); on_done(Outcome)."""
        algorithm = QgsApplication.processingRegistry().createAlgorithmById(algorithm_id)
        if algorithm is None:
            raise MapbridgeError(f"the Processing algorithm {algorithm_id} is not available",
                                 hint="Reload the Mapbridge plugin")
        run = self._new(description, on_done, on_progress)
        run.context = QgsProcessingContext()
        run.context.setProject(project or QgsProject.instance())
        # The constructor calls prepareAlgorithm() here, on the main thread (auth DB, settings, proxy).
        task = QgsProcessingAlgRunnerTask(algorithm, parameters, run.context, run.feedback)
        task.setDescription(description)
        task.executed.connect(lambda ok, results: run._finish(self._executed(run, ok, results)))
        if task.isCanceled():       # prepareAlgorithm failed: report it like any other failure
            QTimer.singleShot(0, lambda: run._finish(self._executed(run, False, {})))
            run.task = task
            return run
        run._start(task)
        return run

    def shutdown(self):
        """Detach and cancel every run; none of them calls back any more."""
        self.closed = True
        for run in self.runs:
            run.detach()
        self.runs = []

    # -- internals -------------------------------------------------------------------------------
    def _new(self, description, on_done, on_progress):
        if self.closed:
            raise MapbridgeError("the Mapbridge panel is closing", hint="Open it again")
        run = Run(description, None, on_progress, self)

        def done(outcome):
            if run in self.runs:
                self.runs.remove(run)
            on_done(outcome)

        run.on_done = done
        self.runs.append(run)
        return run

    @staticmethod
    def _failed(run, error):
        feedback = run.feedback
        if error is None:
            error = CancelledError()
        elif feedback.isCanceled() and not isinstance(error, CancelledError):
            # A job told to stop may still raise what it met on the way (a closed connection): the user cancelled.
            error = CancelledError(service=error.service)
        return Outcome(False, None, error, dict(feedback.partial), list(feedback.warnings))

    @staticmethod
    def _executed(run, ok, results):
        feedback = run.feedback
        if ok:
            return Outcome(True, dict(results or {}), partial=dict(feedback.partial),
                           warnings=list(feedback.warnings))
        error = feedback.error
        if error is None:           # a QgsProcessingException of QGIS itself (e.g. an output it cannot create)
            text = feedback.fatal or "the job failed; see the Mapbridge log"
            error = CancelledError(text) if feedback.isCanceled() else MapbridgeError(text)
        elif feedback.isCanceled() and not isinstance(error, CancelledError):
            error = CancelledError(error.message, service=error.service)
        return Outcome(False, dict(results or {}), error, dict(feedback.partial), list(feedback.warnings))
