"""Small layout helpers shared by the Mapflow tab's pages: rows that wrap, narrow combos, scrolling pages."""

from __future__ import annotations

from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)


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
        combo.setSizePolicy(QSizePolicy.Policy.Expanding, combo.sizePolicy().verticalPolicy())


class ButtonGrid(QWidget):
    """Buttons in equal columns, as many columns as fit their texts (up to `columns`): they wrap to more rows
    instead of widening the dock or cutting their words."""

    def __init__(self, buttons, parent=None, columns=3):
        super().__init__(parent)
        self.buttons = list(buttons)
        self.most = max(1, columns)
        self.columns = 0
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        for button in self.buttons:
            button.setParent(self)
            button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._arrange(self.most)

    def needed_width(self, columns):
        """The width `columns` columns need to show every text whole."""
        widest = max(button.sizeHint().width() for button in self.buttons)
        return columns * widest + (columns - 1) * max(0, self.grid.horizontalSpacing())

    def _arrange(self, columns):
        if columns == self.columns:
            return
        self.columns = columns
        for button in self.buttons:
            self.grid.removeWidget(button)
        for column in range(self.grid.columnCount()):
            self.grid.setColumnStretch(column, 0)
        for index, button in enumerate(self.buttons):
            self.grid.addWidget(button, index // columns, index % columns)
        for column in range(columns):
            self.grid.setColumnStretch(column, 1)

    def minimumSizeHint(self):  # noqa: N802 - Qt API name
        hint = super().minimumSizeHint()
        hint.setWidth(self.needed_width(1))
        return hint

    def resizeEvent(self, event):  # noqa: N802 - Qt API name
        width = event.size().width()
        columns = next((c for c in range(self.most, 0, -1) if self.needed_width(c) <= width), 1)
        self._arrange(columns)
        super().resizeEvent(event)


def button_grid(buttons, parent, columns=2):
    """Buttons in up to `columns` equal columns that wrap (see ButtonGrid)."""
    return ButtonGrid(buttons, parent, columns)


def wrapping_policy():
    """A wrapped label's size policy: any width, the height that width needs (height-for-width kept)."""
    policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    policy.setHeightForWidth(True)
    return policy


def wrapped_label(text, parent, name=""):
    """A label that wraps at any width and never forces the page wider."""
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setSizePolicy(wrapping_policy())
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if name:
        label.setObjectName(name)
    return label


class ScrollPage(QScrollArea):
    """A sub-page that scrolls vertically only; its content follows the viewport's width."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.inner = QWidget(self)
        self.inner.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.content = QVBoxLayout(self.inner)
        self.setWidget(self.inner)

    def finish(self):
        """Push the content to the top."""
        self.content.addStretch(1)


def set_row_visible(form, field, visible):
    """Show or hide a form row (its label too)."""
    field.setVisible(visible)
    label = form.labelForField(field)
    if label is not None:
        label.setVisible(visible)


def fit_table_columns(table, keys, priority, width_of, stretch_key, minimum_stretch):
    """Show as many of a table's columns as fit its width, in order of priority; `stretch_key` takes the rest and
    is always shown. Returns the keys shown."""
    available = table.viewport().width()
    used = minimum_stretch
    shown = {stretch_key}
    widths = {}
    for key in priority:
        widths[key] = width_of(key)
        if used + widths[key] <= available:
            shown.add(key)
            used += widths[key]
    header = table.horizontalHeader()
    for number, key in enumerate(keys):
        table.setColumnHidden(number, key not in shown)
        if key in shown and key != stretch_key:
            header.resizeSection(number, widths[key])
    return [key for key in keys if key in shown]


def align_forms(forms):
    """Give the labels of several form layouts one width, so stacked panels line up."""
    labels = []
    for form in forms:
        for row in range(form.rowCount()):
            item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            if item is not None and item.widget() is not None:
                labels.append(item.widget())
    width = max((label.sizeHint().width() for label in labels), default=0)
    for label in labels:
        label.setMinimumWidth(width)


class FittingStack(QStackedWidget):
    """A stacked widget as tall as its current page (not its tallest)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.currentChanged.connect(self._fit)

    def addWidget(self, widget):  # noqa: N802 - Qt API name
        index = super().addWidget(widget)
        self._fit()
        return index

    def sizeHint(self):  # noqa: N802 - Qt API name
        page = self.currentWidget()
        return page.sizeHint() if page is not None else super().sizeHint()

    def minimumSizeHint(self):  # noqa: N802 - Qt API name
        page = self.currentWidget()
        return page.minimumSizeHint() if page is not None else super().minimumSizeHint()

    def _fit(self, *args):
        for index in range(self.count()):
            page = self.widget(index)
            vertical = QSizePolicy.Policy.Preferred if index == self.currentIndex() else QSizePolicy.Policy.Ignored
            page.setSizePolicy(QSizePolicy.Policy.Preferred, vertical)
            if index == self.currentIndex():
                page.adjustSize()
        self.updateGeometry()
