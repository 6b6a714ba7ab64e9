"""Small layout helpers shared by the Mapflow tab's panels."""

from __future__ import annotations

from qgis.PyQt.QtWidgets import QComboBox, QWidget


def wrap_layout(layout, parent):
    """A margin-less widget holding a layout (to put a row of widgets into one form row)."""
    widget = QWidget(parent)
    layout.setContentsMargins(0, 0, 0, 0)
    widget.setLayout(layout)
    return widget


def narrow(*combos):
    """Let combo boxes shrink with a narrow dock."""
    for combo in combos:
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(8)
