"""The Mapalyze tab of the dock (filled by its own issue)."""

from __future__ import annotations

from qgis.PyQt.QtWidgets import QLabel, QVBoxLayout, QWidget


class MapalyzeTab(QWidget):
    """Placeholder until the Mapalyze job lands."""

    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self.iface = iface
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Load Mapalyze field records as layers (issue 3)."))
        layout.addStretch(1)

    def shutdown(self):
        """Nothing to stop yet."""
