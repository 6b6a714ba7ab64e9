"""The processings table: status in words and colours, numbers as numbers, a progress bar while running."""

from __future__ import annotations

from qgis.PyQt.QtCore import QAbstractTableModel, QModelIndex, Qt
from qgis.PyQt.QtGui import QBrush, QColor, QFont
from qgis.PyQt.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionProgressBar

from ...core.mapflow.processings import FAILED, FINAL, RUNNING, messages_text, status_text

# (key, title): the keys are the service's sort keys (listing.SORT_KEYS).
COLUMNS = (("name", "Name"), ("status", "Status"), ("created", "Created"), ("area", "Area km²"),
           ("cost", "Cost"), ("model", "Model"))
STATUS_COLUMN = 1
ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
COLOURS = {"OK": QColor(26, 127, 55), "FAILED": QColor(190, 30, 30), "CANCELLED": QColor(120, 120, 120),
           "REFUNDED": QColor(120, 120, 120), "NOT_FOUND": QColor(120, 120, 120)}
RUNNING_COLOUR = QColor(30, 90, 180)


class ProcessingsModel(QAbstractTableModel):
    """Rows of processings in the service's order (it sorts and pages)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows = []

    def rowCount(self, parent=QModelIndex()):  # noqa: N802 - Qt API name
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):  # noqa: N802 - Qt API name
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 - Qt API name
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        key = COLUMNS[index.column()][0]
        if role == ID_ROLE:
            return row["id"]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row, key)
        if role == SORT_ROLE:
            return {"area": row.get("area_km2"), "cost": row.get("cost"), "status": row["percent"]}.get(
                key, self.text(row, key))
        if role == Qt.ItemDataRole.TextAlignmentRole and key in ("area", "cost"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and key == "status":
            colour = RUNNING_COLOUR if row["status"] in RUNNING else COLOURS.get(row["status"])
            return QBrush(colour) if colour is not None else None
        if role == Qt.ItemDataRole.FontRole and row["status"] == "NOT_FOUND":
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [row["name"], self.text(row, "status"), f"Model: {row['model']}", f"Id: {row['id']}"]
            messages = messages_text(row)
            return "\n".join(lines + ([messages] if messages and row["status"] not in FAILED else []))
        return None

    @staticmethod
    def text(row, key):
        """A cell's text."""
        if key == "status":
            return row.get("status_text") or status_text(row["status"], row["percent"], row.get("messages"))
        if key == "area":
            return "" if row.get("area_km2") is None else f"{row['area_km2']:.2f}"
        if key == "cost":
            return "" if row.get("cost") is None else f"{row['cost']:g}"
        return str(row.get(key) or "")

    def set_rows(self, rows):
        """Replace the rows; a running processing's percentage never goes back (two sources report it)."""
        before = {r["id"]: r for r in self.rows}
        merged = []
        for row in rows:
            old = before.get(row["id"])
            if old is not None and old["status"] == row["status"] and row["status"] in RUNNING \
                    and old["percent"] > row["percent"]:
                row = dict(row, percent=old["percent"], status_text=status_text(row["status"], old["percent"]))
            merged.append(row)
        self.beginResetModel()
        self.rows = merged
        self.endResetModel()

    def update_progress(self, processing_id, status, percent):
        """A running algorithm's fresher status of one processing (the list and the status line agree)."""
        for number, row in enumerate(self.rows):
            if row["id"] == processing_id:
                if row["status"] in FINAL or (row["status"] == status and status in RUNNING
                                              and percent < row["percent"]):
                    return row   # the list knows better: it has finished, or it is further on
                row.update(status=status, percent=percent, status_text=status_text(status, percent,
                                                                                    row.get("messages")))
                self.dataChanged.emit(self.index(number, 0), self.index(number, len(COLUMNS) - 1))
                return row
        return None

    def row_by_id(self, processing_id):
        """The row dict of an id, or None."""
        return next((r for r in self.rows if r["id"] == processing_id), None)


class StatusDelegate(QStyledItemDelegate):
    """Draws a running processing's status as a progress bar with its words on it."""

    def paint(self, painter, option, index):
        model = index.model()
        row = model.rows[index.row()] if index.isValid() and index.row() < len(model.rows) else None
        if row is None or row["status"] not in RUNNING or row["status"] == "UNPROCESSED":
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum, bar.maximum = 0, 100
        bar.progress = int(round(float(row["percent"])))
        bar.text = model.text(row, "status")
        bar.textVisible = True
        QApplication.style().drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)
