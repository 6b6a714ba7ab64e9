"""Every question the Mapflow tab asks the user, in one object that tests replace."""

from __future__ import annotations

from qgis.PyQt.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMessageBox

from .dialogs import RateDialog, ReviewDialog


class Asker:
    """Modal questions (confirmations, names, ratings, files)."""

    def __init__(self, parent):
        self.parent = parent

    def yes_no(self, title, text, yes="Yes", no="No"):
        """True when the user picks `yes` (the default is `no`)."""
        box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, self.parent)
        yes_button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        no_button = box.addButton(no, QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(no_button)
        box.exec()
        return box.clickedButton() is yes_button

    def text(self, title, label, value=""):
        """A line of text, or None when cancelled."""
        text, ok = QInputDialog.getText(self.parent, title, label, QLineEdit.EchoMode.Normal, value)
        return text.strip() if ok and text.strip() else None

    def rating(self, name):
        """(stars 1–5, comment) for a finished processing, or None."""
        dialog = RateDialog(name, self.parent)
        return dialog.answer() if dialog.exec() else None

    def review(self, name):
        """(accept, comment) for a processing under review, or None."""
        dialog = ReviewDialog(name, self.parent)
        return dialog.answer() if dialog.exec() else None

    def files(self, title):
        """GeoTIFF files to upload, or []."""
        paths, _ = QFileDialog.getOpenFileNames(self.parent, title, "", "GeoTIFF (*.tif *.tiff *.TIF *.TIFF)")
        return paths
