"""The one place that turns results and exceptions into what the user sees (message bar + log tab)."""

from __future__ import annotations

from qgis.core import Qgis
from qgis.PyQt.QtWidgets import QMessageBox

from ..api.errors import LEVEL_WARNING, MapbridgeError
from ..core.log import TAG, log, log_exception

MESSAGE_SECONDS = 8
QUESTION_NAME = "MapbridgeQuestion"     # object name of every question box (tests answer them by it)


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


def ask(parent, title, text, answers, informative=""):
    """Ask before doing something big; returns the key of the answer chosen, or None (closed, Esc).

    `answers`: [(key, button text)], the first is the default, a key "cancel" is the escape button."""
    box = QMessageBox(parent)
    box.setObjectName(QUESTION_NAME)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    if informative:
        box.setInformativeText(informative)
    keys = {}
    for n, (key, label) in enumerate(answers):
        role = QMessageBox.ButtonRole.RejectRole if key == "cancel" else QMessageBox.ButtonRole.AcceptRole
        button = box.addButton(label, role)
        button.setObjectName(f"answer_{key}")
        keys[button] = key
        if n == 0:
            box.setDefaultButton(button)
        if key == "cancel":
            box.setEscapeButton(button)
    box.exec()
    return keys.get(box.clickedButton())
