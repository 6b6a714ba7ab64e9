"""The Push tab of the dock (filled by its own issue)."""

from __future__ import annotations

from qgis.PyQt.QtWidgets import QLabel, QVBoxLayout, QWidget


class PushTab(QWidget):
    """Placeholder until the Push job lands."""

    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self.iface = iface
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Push selected features to Mapiry, Mapsemble or Mapalyze (issue 4)."))
        layout.addStretch(1)

    def shutdown(self):
        """Nothing to stop yet."""
