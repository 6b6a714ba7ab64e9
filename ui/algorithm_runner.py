"""Run a Mapbridge Processing algorithm from the dock in a QgsProcessingAlgRunnerTask (one job, two doors)."""

from __future__ import annotations

from qgis.core import (
    QgsApplication,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProject,
)
from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal

from ..api.errors import MapbridgeError

# Runs whose owner went away (dock closed, plugin unloaded) stay referenced until their task ends:
# the task still uses their context and feedback.
_DETACHED = set()


class _LogFeedback(QgsProcessingFeedback):
    """Keeps the algorithm's log lines so the dock can show the last one and the error text."""

    def __init__(self):
        super().__init__()
        self.lines = []
        self.errors = []

    def pushInfo(self, info):  # noqa: N802 - QGIS API name
        self.lines.append(info)
        super().pushInfo(info)

    def reportError(self, error, fatalError=False):  # noqa: N802, N803 - QGIS API name
        self.errors.append(error)
        super().reportError(error, fatalError)


class AlgorithmRun(QObject):
    """One background run: signals progress (0-100, last log line) and finished(ok, results, error text)."""

    progress = pyqtSignal(float, str)
    finished = pyqtSignal(bool, dict, str)

    POLL_MS = 200

    def __init__(self, algorithm_id, parameters, description, parent=None, project=None):
        super().__init__(parent)
        registry = QgsApplication.processingRegistry()
        algorithm = registry.createAlgorithmById(algorithm_id)
        if algorithm is None:
            raise MapbridgeError(f"the Processing algorithm {algorithm_id} is not available",
                                 hint="Reload the Mapbridge plugin")
        self.context = QgsProcessingContext()
        self.context.setProject(project or QgsProject.instance())
        self.feedback = _LogFeedback()
        self.task = None
        self.done = False
        # The constructor calls prepareAlgorithm() here, on the main thread (auth DB, settings, proxy).
        self.task = QgsProcessingAlgRunnerTask(algorithm, parameters, self.context, self.feedback)
        self.task.setDescription(description)
        self.task.executed.connect(self._executed)
        self._timer = QTimer(self)
        self._timer.setInterval(self.POLL_MS)
        self._timer.timeout.connect(self._poll)

    def start(self):
        """Hand the task to the QGIS task manager (it shows in the task bar with progress and cancel)."""
        if self.task.isCanceled():
            # prepareAlgorithm failed: report it like any other failure.
            QTimer.singleShot(0, lambda: self._executed(False, {}))
            return self
        QgsApplication.taskManager().addTask(self.task)
        self._timer.start()
        return self

    def cancel(self):
        """Ask the algorithm to stop at its next check."""
        if self.task is not None and not self.done:
            # Through the feedback only: QgsTask.cancel() on a task still queued can crash QGIS 3.22 when the
            # manager starts it; the algorithm checks the feedback between steps and stops just as fast.
            self.feedback.cancel()

    def detach_and_cancel(self):
        """Cancel and outlive the owning widget: call from shutdown() so the task never uses freed objects."""
        if self.done:
            return
        for signal in (self.progress, self.finished):
            try:
                signal.disconnect()  # the owner's slots must not run after it is gone
            except TypeError:
                pass  # nothing was connected
        self.setParent(None)
        _DETACHED.add(self)
        self.cancel()

    def take_layer(self, layer_id_or_path):
        """The output layer produced in this run's context (temporary outputs), or None."""
        return self.context.takeResultLayer(layer_id_or_path)

    def _poll(self):
        last = self.feedback.lines[-1] if self.feedback.lines else ""
        self.progress.emit(self.feedback.progress(), last)

    def _executed(self, ok, results):
        if self.done:
            return
        self.done = True
        self._timer.stop()
        self._poll()
        error = ""
        if not ok:
            if self.feedback.isCanceled():
                error = "Cancelled. " + (self.feedback.errors[-1] if self.feedback.errors else "")
            else:
                error = self.feedback.errors[-1] if self.feedback.errors else "The job failed; see the Mapbridge log."
        self.finished.emit(bool(ok), dict(results or {}), error.strip())
        self.task = None
        _DETACHED.discard(self)


def run_algorithm(algorithm_id, parameters, description, parent=None):
    """Start an algorithm in the background and return its AlgorithmRun (connect before events run)."""
    try:
        return AlgorithmRun(algorithm_id, parameters, description, parent).start()
    except QgsProcessingException as exc:
        raise MapbridgeError(str(exc)) from None
