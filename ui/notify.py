"""The one place that turns results and exceptions into what the user sees (message bar + log tab)."""

from __future__ import annotations

from qgis.core import Qgis

from ..api.errors import LEVEL_WARNING, MapbridgeError
from ..core.log import TAG, log, log_exception

MESSAGE_SECONDS = 8


def show_error(iface, exc):
    """Show an exception as a one-line message naming the service and what to do."""
    message = log_exception(exc)
    level = Qgis.MessageLevel.Critical
    if isinstance(exc, MapbridgeError) and exc.level == LEVEL_WARNING:
        level = Qgis.MessageLevel.Warning
    if iface is not None:
        iface.messageBar().pushMessage(TAG, message, level, MESSAGE_SECONDS)
    return message


def show_outcome(iface, outcome):
    """Show how a background run ended (success, warnings, cancel or error); returns the line shown."""
    if outcome.error is not None:
        return show_error(iface, outcome.error)
    message = outcome.summary
    if outcome.warnings:
        message = f"{message} {outcome.warnings[-1]}".strip()
        return show_message(iface, message, Qgis.MessageLevel.Warning)
    return show_success(iface, message)


def show_message(iface, message, level=Qgis.MessageLevel.Info):
    """Show a short message in the message bar and the log tab."""
    log(message, level)
    if iface is not None:
        iface.messageBar().pushMessage(TAG, message, level, MESSAGE_SECONDS)
    return message


def show_success(iface, message):
    """Report a finished job."""
    return show_message(iface, message, Qgis.MessageLevel.Success)
