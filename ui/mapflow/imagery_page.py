"""The Imagery sub-page: the imagery catalog search, or My imagery (the user's own uploads), one at a time."""

from __future__ import annotations

from qgis.PyQt.QtWidgets import QButtonGroup, QHBoxLayout, QPushButton

from .catalog_panel import CatalogPanel
from .layout import FittingStack, ScrollPage, wrap_layout
from .my_imagery_panel import MyImageryPanel

CATALOG, MY_IMAGERY = 0, 1


class ImageryPage(ScrollPage):
    """Two toggles over a stack: Catalog and My imagery (read when first shown)."""

    def __init__(self, iface, get_aoi, asker, parent=None):
        super().__init__(parent)
        toggles = QHBoxLayout()
        self.group = QButtonGroup(self)
        self.stack = FittingStack(self.inner)
        for number, title in ((CATALOG, "Catalog"), (MY_IMAGERY, "My imagery")):
            button = QPushButton(title, self.inner)
            button.setCheckable(True)
            button.setObjectName(f"mapflow_imagery_toggle_{number}")
            self.group.addButton(button, number)
            toggles.addWidget(button, 1)
        self.content.addWidget(wrap_layout(toggles, self.inner))
        self.catalog = CatalogPanel(iface, get_aoi, self.stack)
        self.my_imagery = MyImageryPanel(iface, asker, self.stack)
        self.stack.addWidget(self.catalog)
        self.stack.addWidget(self.my_imagery)
        self.content.addWidget(self.stack, 1)
        self.group.button(CATALOG).setChecked(True)
        self.group.idClicked.connect(self.show_part)

    def show_part(self, number):
        """Show the catalog or My imagery (My imagery is read the first time)."""
        self.group.button(number).setChecked(True)
        self.stack.setCurrentIndex(number)
        if number == MY_IMAGERY and not self.my_imagery.loaded:
            self.my_imagery.refresh()

    def shutdown(self):
        """Stop both parts."""
        self.catalog.shutdown()
        self.my_imagery.shutdown()
