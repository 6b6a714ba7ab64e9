"""Dialogs of the processings list: details, rating with feedback, review (accept or reject)."""

from __future__ import annotations

from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
)

from .layout import wrapped_label


def ok_cancel(dialog):
    """OK and Cancel buttons that accept or reject the dialog."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, dialog)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


class DetailsDialog(QDialog):
    """A processing's details; 'Add AOI as a layer' asks the owner to load its area."""

    aoi_wanted = pyqtSignal(str)   # processing id

    def __init__(self, processing_id, rows, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Mapflow processing")
        self.setObjectName("mapflow_details")
        self.processing_id = processing_id
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.values = {}
        for label, text in rows:
            value = wrapped_label(text, self)
            self.values[label] = value
            form.addRow(f"{label}:", value)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.aoi_button = QPushButton("Add AOI as a layer", self)
        buttons.addButton(self.aoi_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.aoi_button.clicked.connect(lambda: self.aoi_wanted.emit(self.processing_id))
        layout.addWidget(buttons)
        self.resize(420, self.sizeHint().height())


class RateDialog(QDialog):
    """1–5 stars and an optional comment for a finished processing."""

    def __init__(self, name, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Rate the processing")
        layout = QVBoxLayout(self)
        layout.addWidget(wrapped_label(f"How good is the result of '{name}'?", self))
        stars = QHBoxLayout()
        self.group = QButtonGroup(self)
        for value in range(1, 6):
            button = QRadioButton("★" * value, self)
            self.group.addButton(button, value)
            stars.addWidget(button)
        self.group.button(5).setChecked(True)
        layout.addLayout(stars)
        layout.addWidget(QLabel("Feedback (optional):", self))
        self.comment = QPlainTextEdit(self)
        layout.addWidget(self.comment)
        layout.addWidget(ok_cancel(self))

    def answer(self):
        """(stars, comment)."""
        return self.group.checkedId(), self.comment.toPlainText().strip()


class ReviewDialog(QDialog):
    """Accept a processing under review, or reject it saying what is wrong."""

    def __init__(self, name, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Review the processing")
        layout = QVBoxLayout(self)
        layout.addWidget(wrapped_label(f"'{name}' is waiting for your review.", self))
        self.accept_button = QRadioButton("Accept the result", self)
        self.reject_button = QRadioButton("Reject it (say what is wrong)", self)
        self.accept_button.setChecked(True)
        layout.addWidget(self.accept_button)
        layout.addWidget(self.reject_button)
        self.comment = QPlainTextEdit(self)
        layout.addWidget(self.comment)
        layout.addWidget(ok_cancel(self))

    def answer(self):
        """(accept, comment)."""
        return self.accept_button.isChecked(), self.comment.toPlainText().strip()
