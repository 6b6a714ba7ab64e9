"""The "Mapbridge" tab of the QGIS log panel."""

from __future__ import annotations

import traceback

from qgis.core import Qgis, QgsMessageLog

from ..api.errors import LEVEL_WARNING, MapbridgeError
from ..api.scrub import scrub

TAG = "Mapbridge"


def log(message, level=Qgis.MessageLevel.Info):
    """Write one line to the Mapbridge log tab (scrubbed of every known secret)."""
    QgsMessageLog.logMessage(scrub(message), TAG, level)


def log_exception(exc):
    """Log an error with its details (once per error); return the one-line user message."""
    if isinstance(exc, MapbridgeError):
        message = exc.user_message()
        if not exc.logged:
            level = Qgis.MessageLevel.Warning if exc.level == LEVEL_WARNING else Qgis.MessageLevel.Critical
            log(message + (f"\nDetails: {exc.details}" if exc.details else ""), level)
            exc.logged = True   # shown again (message bar, dock) it is not logged twice
        return message
    message = f"Unexpected error: {type(exc).__name__}: {exc}"
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    log(f"{message}\n{trace}", Qgis.MessageLevel.Critical)
    return message
