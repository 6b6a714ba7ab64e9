"""Short background calls of the Mapflow tab: one QgsTask.fromFunction each, answered on the main thread."""

from __future__ import annotations

from qgis.core import QgsApplication, QgsTask

from ..api.errors import MapbridgeError
from ..core.log import log_exception


def _flags(hidden):
    """Hidden tasks (QGIS ≥ 3.26) keep frequent polling out of the task bar."""
    flags = QgsTask.Flag.CanCancel
    if hidden and hasattr(QgsTask.Flag, "Hidden"):
        flags = flags | QgsTask.Flag.Hidden
    return flags


class BackgroundCalls:
    """Runs functions in QgsTasks and calls back on the main thread; shutdown() cancels them all."""

    def __init__(self):
        self.tasks = set()
        self.closed = False

    def call(self, description, function, callback, hidden=False):
        """Run function(task) in the background; callback(exception, result) runs on the main thread."""
        if self.closed:
            return None
        holder = {}

        def finished(exception, result=None):
            self.tasks.discard(holder.get("task"))
            if self.closed:
                return
            if exception is not None and not isinstance(exception, MapbridgeError) \
                    and str(exception) != "Task canceled":
                log_exception(exception)
            try:
                callback(exception, result)
            except Exception as exc:  # noqa: BLE001 - QGIS swallows errors of on_finished: log them instead
                log_exception(exc)

        task = QgsTask.fromFunction(description, function, on_finished=finished, flags=_flags(hidden))
        holder["task"] = task
        self.tasks.add(task)
        QgsApplication.taskManager().addTask(task)
        return task

    def busy(self):
        """True while any call is running."""
        return bool(self.tasks)

    def shutdown(self):
        """Cancel every running call and drop their callbacks."""
        self.closed = True
        for task in list(self.tasks):
            try:
                task.cancel()
            except RuntimeError:
                # The C++ task was already deleted by the task manager.
                continue
        self.tasks.clear()
