"""The checkable list of attributes to send (binary fields shown but never sent; a file's row id unticked)."""

from __future__ import annotations

from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QListWidget, QListWidgetItem

from ...core.push.values import is_binary_field


class FieldChecklist(QListWidget):
    """One checkable row per field of the layer; what the push sends by default is ticked."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("PushFields")
        self.setMaximumHeight(120)
        self.defaults = None        # the names ticked by default (what the algorithm sends without FIELDS)

    def set_layer(self, layer, defaults=None):
        """Show the layer's fields, `defaults` ticked (None: all; binary ones disabled)."""
        self.clear()
        self.defaults = None if defaults is None else set(defaults)
        if layer is None:
            return
        for field in layer.fields():
            item = QListWidgetItem(field.name(), self)
            binary = is_binary_field(field)
            flags = item.flags() | Qt.ItemFlag.ItemIsUserCheckable
            if binary:
                flags &= ~Qt.ItemFlag.ItemIsEnabled
                item.setToolTip("Binary fields are never sent")
            elif self.defaults is not None and field.name() not in self.defaults:
                item.setToolTip("Not sent unless ticked: it numbers the file's rows or names the record, it is not "
                                "data of the feature")
            item.setFlags(flags)
            ticked = not binary and (self.defaults is None or field.name() in self.defaults)
            item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)

    def checked_names(self):
        """Names of the ticked fields, or None when exactly the defaults are ticked (the algorithm's default)."""
        names, enabled = [], []
        for i in range(self.count()):
            item = self.item(i)
            if not item.flags() & Qt.ItemFlag.ItemIsEnabled:
                continue
            enabled.append(item.text())
            if item.checkState() == Qt.CheckState.Checked:
                names.append(item.text())
        default = set(enabled) if self.defaults is None else self.defaults & set(enabled)
        return None if set(names) == default else names

    def set_checked(self, names):
        """Check exactly these fields."""
        for i in range(self.count()):
            item = self.item(i)
            if item.flags() & Qt.ItemFlag.ItemIsEnabled:
                item.setCheckState(Qt.CheckState.Checked if item.text() in names else Qt.CheckState.Unchecked)
