"""The Mapflow tab of the dock (filled by its own issue)."""

from __future__ import annotations

from qgis.PyQt.QtWidgets import QLabel, QVBoxLayout, QWidget


class MapflowTab(QWidget):
    """Placeholder until the Mapflow job lands."""

    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self.iface = iface
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Run Mapflow AI detection on an area (issue 5)."))
        layout.addStretch(1)

    def shutdown(self):
        """Nothing to stop yet."""
