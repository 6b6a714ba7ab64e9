"""The checkable list of attributes to send (binary fields shown but never sent)."""

from __future__ import annotations

from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QListWidget, QListWidgetItem

from ...core.push.values import is_binary_field


class FieldChecklist(QListWidget):
    """One checkable row per field of the layer; all checked by default."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("PushFields")
        self.setMaximumHeight(120)

    def set_layer(self, layer):
        """Show the layer's fields, all checked (binary ones disabled)."""
        self.clear()
        if layer is None:
            return
        for field in layer.fields():
            item = QListWidgetItem(field.name(), self)
            binary = is_binary_field(field)
            flags = item.flags() | Qt.ItemFlag.ItemIsUserCheckable
            if binary:
                flags &= ~Qt.ItemFlag.ItemIsEnabled
                item.setToolTip("Binary fields are never sent")
            item.setFlags(flags)
            item.setCheckState(Qt.CheckState.Unchecked if binary else Qt.CheckState.Checked)

    def checked_names(self):
        """Names of the checked fields, or None when every sendable field is checked (the default: all)."""
        names, all_checked = [], True
        for i in range(self.count()):
            item = self.item(i)
            if not item.flags() & Qt.ItemFlag.ItemIsEnabled:
                continue
            if item.checkState() == Qt.CheckState.Checked:
                names.append(item.text())
            else:
                all_checked = False
        return None if all_checked else names

    def set_checked(self, names):
        """Check exactly these fields."""
        for i in range(self.count()):
            item = self.item(i)
            if item.flags() & Qt.ItemFlag.ItemIsEnabled:
                item.setCheckState(Qt.CheckState.Checked if item.text() in names else Qt.CheckState.Unchecked)
