"""The model and its optional blocks: a combo of the project's models (no free typing) and one checkbox per option
with its name and price."""

from __future__ import annotations

from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from ...core.mapflow.choices import DEFAULT_MODEL, FALLBACK_MODELS
from ...core.mapflow.models import Model
from .layout import narrow, set_row_visible, wrap_layout, wrapping_policy


class ClickLabel(QLabel):
    """A wrapping label that toggles its checkbox when clicked."""

    def __init__(self, text, box, parent=None):
        super().__init__(text, parent)
        self.box = box
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setSizePolicy(wrapping_policy())

    def mousePressEvent(self, event):  # noqa: N802 - Qt API name
        self.box.toggle()


def option_row(text, parent):
    """(row widget, its checkbox): a checkbox whose words wrap instead of widening the dock."""
    row = QWidget(parent)
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    box = QCheckBox(row)
    label = ClickLabel(text, box, row)
    box.setToolTip(text)
    layout.addWidget(box, 0, Qt.AlignmentFlag.AlignTop)
    layout.addWidget(label, 1)
    return row, box


class ModelPanel(QWidget):
    """Model combo and option checkboxes; `changed` on every choice."""

    changed = pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.models = [Model("", name) for name in FALLBACK_MODELS]
        self.option_boxes = []
        self.prices_shown = True   # credits per km²: not for accounts billed by area
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox(self)
        self.combo.setObjectName("mapflow_model")
        narrow(self.combo)
        form.addRow("Model", self.combo)
        self.options_layout = QVBoxLayout()
        self.options_widget = wrap_layout(self.options_layout, self)
        form.addRow("Options", self.options_widget)
        self.combo.currentIndexChanged.connect(self._model_changed)
        self._fill()

    def set_models(self, models):
        """Show a project's models (the current one kept when it is among them)."""
        if not models:
            return
        self.models = list(models)
        self._fill()

    def _fill(self):
        current = self.combo.currentText()
        self.combo.blockSignals(True)
        self.combo.clear()
        for model in self.models:
            self.combo.addItem(model.name, model.id)
            if model.description:
                self.combo.setItemData(self.combo.count() - 1, model.description, Qt.ItemDataRole.ToolTipRole)
        names = [m.name for m in self.models]
        wanted = current if current in names else (DEFAULT_MODEL if DEFAULT_MODEL in names else names[0])
        self.combo.setCurrentIndex(names.index(wanted))
        self.combo.blockSignals(False)
        self._model_changed()

    def set_prices_shown(self, shown):
        """Show the options' prices in credits (or not: an account billed by area); the options stay as chosen."""
        if shown == self.prices_shown:
            return
        self.prices_shown = shown
        for box in self.option_boxes:
            block = next((b for b in self.model().optional_blocks if b.name == box.property("block")), None)
            if block is not None:
                text = self._option_text(block)
                box.parentWidget().findChild(ClickLabel).setText(text)
                box.setToolTip(text)

    def _option_text(self, block):
        price = f" (+{block.price:g} credits/km²)" if block.price and self.prices_shown else ""
        return f"{block.label}{price}"

    def model(self):
        """The chosen Model."""
        index = self.combo.currentIndex()
        return self.models[index] if 0 <= index < len(self.models) else Model("", DEFAULT_MODEL)

    def select(self, name, options=()):
        """Choose a model by name or id and switch on these options (a duplicated processing); returns what could not
        be copied, in words ([] when all of it was)."""
        missing = []
        index = next((i for i, model in enumerate(self.models) if name in (model.name, model.id)), -1)
        if index >= 0:
            self.combo.setCurrentIndex(index)
        elif name:
            missing.append(f"the copied processing's model '{name}' is not in this project; "
                           f"{self.model().name} is chosen instead")
        wanted = set(options)
        for box in self.option_boxes:
            box.setChecked(box.property("block") in wanted)
        offered = {box.property("block") for box in self.option_boxes}
        lost = sorted(wanted - offered)
        if lost and index >= 0:
            missing.append(f"{self.model().name} no longer offers the copied option(s) {', '.join(lost)}")
        return missing

    def options(self):
        """Names of the optional blocks switched on."""
        return tuple(box.property("block") for box in self.option_boxes if box.isChecked())

    def _model_changed(self):
        for box in self.option_boxes:
            row = box.parentWidget()
            self.options_layout.removeWidget(row)
            row.deleteLater()
        self.option_boxes = []
        model = self.model()
        self.combo.setToolTip(model.description)
        for block in model.optional_blocks:
            row, box = option_row(self._option_text(block), self.options_widget)
            box.setProperty("block", block.name)
            box.setObjectName(f"mapflow_option_{block.name}")
            box.toggled.connect(lambda _checked: self.changed.emit())
            self.options_layout.addWidget(row)
            self.option_boxes.append(box)
        set_row_visible(self.layout(), self.options_widget, bool(self.option_boxes))
        self.changed.emit()
