"""What a background job tells whoever runs it, besides progress and log lines: its typed error and partial results.

Jobs and algorithms only ever get a QgsFeedback; `record_error` / `record_partial` reach a JobFeedback when the
dock runs them (ui/background.py) and do nothing in the toolbox or qgis_process, where the log says it all.
"""

from __future__ import annotations

from qgis.core import QgsProcessingFeedback


class JobFeedback(QgsProcessingFeedback):
    """A Processing feedback that keeps the last log line, warnings, the typed error and partial results."""

    def __init__(self):
        super().__init__()
        self.last_line = ""
        self.warnings = []
        self.fatal = ""         # the text of the error the run ended with, as Processing reported it
        self.error = None       # the MapbridgeError the job ended with (set by record_error)
        self.partial = {}       # results that exist even if the job fails later (e.g. a created map's id)
        self.status = None      # (percent, line) set together by set_status, so bar and text always agree

    def pushInfo(self, info):  # noqa: N802 - QGIS API name
        self.status = None
        self.last_line = info
        super().pushInfo(info)

    def snapshot(self):
        """(percent, line) to show now: a status set with its percent, else the progress and the last log line."""
        status = self.status
        if status is not None:
            return status
        return self.progress(), self.last_line

    def pushWarning(self, warning):  # noqa: N802 - QGIS API name
        self.warnings.append(warning)
        super().pushWarning(warning)

    def reportError(self, error, fatalError=False):  # noqa: N802, N803 - QGIS API name
        if fatalError:
            self.fatal = error
        else:
            self.warnings.append(error)
        super().reportError(error, fatalError)


def record_error(feedback, error):
    """Hand the job's MapbridgeError to the dock (a no-op for any other feedback)."""
    if isinstance(feedback, JobFeedback):
        feedback.error = error


def set_status(feedback, line, percent=None):
    """Say where the job is, with the percent the line describes: the dock shows both together, the log neither."""
    if percent is not None:
        feedback.setProgress(percent)
    if isinstance(feedback, JobFeedback):
        feedback.last_line = line
        feedback.status = (feedback.progress() if percent is None else percent, line)


def record_partial(feedback, key, value):
    """Note a result that already exists whatever happens next (a no-op for any other feedback)."""
    if isinstance(feedback, JobFeedback):
        feedback.partial[key] = value
