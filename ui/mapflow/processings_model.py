"""The processings table of the Mapflow tab: a model over processing dicts and a progress-bar delegate."""

from __future__ import annotations

from qgis.PyQt.QtCore import QAbstractTableModel, QModelIndex, Qt
from qgis.PyQt.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionProgressBar

from ...core.mapflow.processings import messages_text

COLUMNS = ("Name", "Model", "Status", "Progress", "Created")
PROGRESS_COLUMN = 3
ID_ROLE = Qt.ItemDataRole.UserRole + 1


class ProcessingsModel(QAbstractTableModel):
    """Rows of processings (newest first)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows = []

    def rowCount(self, parent=QModelIndex()):  # noqa: N802 - Qt API name
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):  # noqa: N802 - Qt API name
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 - Qt API name
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = index.column()
        if role == ID_ROLE:
            return row["id"]
        if role == Qt.ItemDataRole.DisplayRole:
            values = (row["name"], row["model"], row["status"], row["percent"], row["created"])
            return values[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row['id']}\n{messages_text(row)}".strip()
        return None

    def set_rows(self, rows):
        """Replace the rows, keeping the order given."""
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def row_by_id(self, processing_id):
        """The row dict of an id, or None."""
        return next((r for r in self.rows if r["id"] == processing_id), None)


class ProgressDelegate(QStyledItemDelegate):
    """Draws the Progress column as a progress bar."""

    def paint(self, painter, option, index):
        value = index.data(Qt.ItemDataRole.DisplayRole)
        if index.column() != PROGRESS_COLUMN or value is None:
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum, bar.maximum = 0, 100
        bar.progress = int(round(float(value)))
        bar.text = f"{bar.progress}%"
        bar.textVisible = True
        QApplication.style().drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)
