"""A QgsTask running one core job with a QgsFeedback (progress, cancel), reporting back on the main thread."""

from __future__ import annotations

import traceback

from qgis.core import QgsApplication, QgsFeedback, QgsTask
from qgis.PyQt.QtCore import QObject, pyqtSignal

from ..api.errors import CancelledError, MapbridgeError


class _Feedback(QgsFeedback):
    """A QgsFeedback that also keeps the job's last log line (core jobs call pushInfo on it)."""

    def __init__(self):
        super().__init__()
        self.last_line = ""

    def pushInfo(self, info):  # noqa: N802 - same name as QgsProcessingFeedback
        self.last_line = info


class JobTask(QgsTask):
    """Runs job(feedback) in the background; the `done` callback gets (ok, result, message) on the main thread.

    `closed` (set when the owner shuts down) drops the callback: the widgets it would touch may be gone."""

    def __init__(self, description, job, done, client=None):
        super().__init__(description, QgsTask.Flag.CanCancel)
        self.job = job
        self.done = done
        self.client = client
        self.feedback = _Feedback()
        self.feedback.progressChanged.connect(self.setProgress)
        self.result = None
        self.error = None
        self.closed = False

    def run(self):
        try:
            self.result = self.job(self.feedback)
            return True
        except MapbridgeError as exc:
            self.error = exc
            return False
        except Exception as exc:  # noqa: BLE001 - reported to the user by finished(), never lost in a thread
            self.error = MapbridgeError(f"{self.description()} failed: {type(exc).__name__}: {exc}",
                                        hint="See the Mapbridge log for details", details=traceback.format_exc())
            return False
        finally:
            if self.client is not None:
                self.client.close()

    def cancel(self):
        self.feedback.cancel()
        super().cancel()

    def finished(self, result):
        if self.closed:
            return
        if result:
            self.done(True, self.result, "")
        else:
            error = self.error if self.error is not None else CancelledError()
            if self.isCanceled() and not isinstance(error, MapbridgeError):
                error = CancelledError()
            self.done(False, error, "")


class JobRunner(QObject):
    """Starts JobTasks and keeps them alive; one signal per job's end."""

    progress = pyqtSignal(float, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.task = None

    @property
    def busy(self):
        """True while a job runs."""
        return self.task is not None

    def start(self, description, job, done, client=None):
        """Run job(feedback) in the task manager; done(ok, result_or_error, "") is called on the main thread."""
        def finish(ok, value, message):
            self.task = None
            done(ok, value, message)

        task = JobTask(description, job, finish, client)
        task.progressChanged.connect(lambda p: None if task.closed else self.progress.emit(float(p),
                                                                                          task.feedback.last_line))
        self.task = task
        QgsApplication.taskManager().addTask(task)
        return task

    def cancel(self):
        """Ask the job to stop at its next check (through its feedback: QgsTask.cancel() on a task QGIS 3.22
        has queued but not started yet can crash QGIS, and a job told through its feedback ends just as well)."""
        if self.task is not None:
            self.task.feedback.cancel()

    def shutdown(self):
        """Cancel the job and never report back (the owner is going away)."""
        if self.task is not None:
            self.task.closed = True
            self.cancel()
            self.task = None
