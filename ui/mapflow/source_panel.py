"""The imagery of a processing: a provider's basemap (display names, its own zooms), a catalog image, My imagery, or
a custom XYZ/TMS/Quadkey URL with an optional login from the QGIS authentication database."""

from __future__ import annotations

from qgis.core import QgsApplication
from qgis.gui import QgsAuthConfigSelect
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from ...api.errors import MapbridgeError
from ...core.mapflow import sources
from ...core.mapflow.choices import DEFAULT_PROVIDER, DEFAULT_ZOOM, FALLBACK_PROVIDERS
from ...core.mapflow.models import Provider
from .layout import FittingStack, narrow, wrap_layout, wrapped_label

KINDS = ((sources.PROVIDER, "Provider's imagery"), (sources.CATALOG, "Catalog image"),
         (sources.MY_IMAGERY, "My imagery"), (sources.CUSTOM, "Custom tiles (XYZ, TMS, Quadkey)"))
NONE_CHOSEN = {sources.CATALOG: "None chosen: search on the Imagery page and pick an image.",
               sources.MY_IMAGERY: "None chosen: pick a mosaic or image on the Imagery page."}
MISSING = {sources.CATALOG: ("no catalog image is chosen", "Search the catalog on the Imagery page and pick one"),
           sources.MY_IMAGERY: ("no mosaic or image of My imagery is chosen", "Pick one on the Imagery page")}


class SourcePanel(QWidget):
    """Chooses the imagery; source() returns a core Source (raises when incomplete); `changed` on every change."""

    changed = pyqtSignal()
    show_tiles = pyqtSignal(object)   # a custom Source to preview as a layer

    def __init__(self, parent=None):
        super().__init__(parent)
        self.providers = [Provider(name) for name in FALLBACK_PROVIDERS]
        self.chosen = {sources.CATALOG: None, sources.MY_IMAGERY: None}
        self.prices_shown = True   # zoom prices in credits: not for accounts billed by area
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.kind_combo = QComboBox(self)
        self.kind_combo.setObjectName("mapflow_source_kind")
        for key, label in KINDS:
            self.kind_combo.addItem(label, key)
        form.addRow("Imagery", self.kind_combo)
        self.stack = FittingStack(self)
        self.stack.addWidget(self._provider_page())
        self.stack.addWidget(self._chosen_page(sources.CATALOG))
        self.stack.addWidget(self._chosen_page(sources.MY_IMAGERY))
        self.stack.addWidget(self._custom_page())
        form.addRow(self.stack)
        narrow(self.kind_combo)
        self.kind_combo.currentIndexChanged.connect(self._kind_changed)
        self._fill_providers()

    # -- pages -----------------------------------------------------------------------------------
    def _provider_page(self):
        page = QWidget(self)
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.provider_form = form
        self.provider_combo = QComboBox(page)
        self.provider_combo.setObjectName("mapflow_provider")
        self.zoom_combo = QComboBox(page)
        self.zoom_combo.setObjectName("mapflow_zoom")
        narrow(self.provider_combo, self.zoom_combo)
        form.addRow("Provider", self.provider_combo)
        form.addRow("Zoom", self.zoom_combo)
        self.provider_combo.currentIndexChanged.connect(self._provider_changed)
        self.zoom_combo.currentIndexChanged.connect(lambda _index: self.changed.emit())
        return page

    def _chosen_page(self, kind):
        page = QWidget(self)
        row = QHBoxLayout(page)
        row.setContentsMargins(0, 0, 0, 0)
        label = wrapped_label(NONE_CHOSEN[kind], page, f"mapflow_{kind}_label")
        clear = QToolButton(page)
        clear.setIcon(QgsApplication.getThemeIcon("/mIconClearText.svg"))
        clear.setToolTip("Forget the chosen imagery")
        clear.clicked.connect(lambda: self.set_chosen(kind, None))
        row.addWidget(label, 1)
        row.addWidget(clear)
        setattr(self, f"{kind}_label", label)
        setattr(self, f"{kind}_clear", clear)
        return page

    def _custom_page(self):
        page = QWidget(self)
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.custom_form = form
        self.url_edit = QLineEdit(page)
        self.url_edit.setObjectName("mapflow_custom_url")
        self.url_edit.setPlaceholderText("https://…/{z}/{x}/{y}.png")
        self.url_type = QComboBox(page)
        self.url_type.addItems(sources.CUSTOM_TYPES)
        self.url_crs = QComboBox(page)
        self.url_crs.addItems([c.upper() for c in sources.CUSTOM_CRS])
        self.url_zoom = QSpinBox(page)
        self.url_zoom.setRange(0, 22)
        self.url_zoom.setSpecialValueText("service default")
        self.url_zoom.setValue(DEFAULT_ZOOM)
        narrow(self.url_type, self.url_crs)
        self.auth_select = QgsAuthConfigSelect(page)
        self.auth_select.setObjectName("mapflow_custom_login")
        self.tiles_button = QToolButton(page)
        self.tiles_button.setText("Show")
        self.tiles_button.setToolTip("Add these tiles to the map to check them")
        url_row = QHBoxLayout()
        url_row.addWidget(self.url_edit, 1)
        url_row.addWidget(self.tiles_button)
        form.addRow("URL", wrap_layout(url_row, page))
        form.addRow("Type", self.url_type)
        form.addRow("CRS", self.url_crs)
        form.addRow("Zoom", self.url_zoom)
        form.addRow("Login", self.auth_select)
        self.url_problem = wrapped_label("", page, "mapflow_custom_problem")
        form.addRow(self.url_problem)
        for signal in (self.url_edit.textChanged, self.url_type.currentIndexChanged, self.url_crs.currentIndexChanged,
                       self.url_zoom.valueChanged, self.auth_select.selectedConfigIdChanged):
            signal.connect(self._custom_changed)
        self.tiles_button.clicked.connect(self._show_custom_tiles)
        return page

    # -- providers ---------------------------------------------------------------------------------
    def set_providers(self, providers):
        """The account's data providers (display names shown, names sent)."""
        if providers:
            self.providers = list(providers)
            self._fill_providers()

    def _fill_providers(self):
        current = self.provider_combo.currentData() or DEFAULT_PROVIDER
        self.provider_combo.blockSignals(True)
        self.provider_combo.clear()
        for provider in self.providers:
            self.provider_combo.addItem(provider.label, provider.name)
        index = self.provider_combo.findData(current)
        self.provider_combo.setCurrentIndex(max(0, index))
        self.provider_combo.blockSignals(False)
        self._provider_changed()

    def set_prices_shown(self, shown):
        """Show the zooms' prices in credits (or not: an account billed by area)."""
        if shown != self.prices_shown:
            self.prices_shown = shown
            self._fill_providers()

    def provider(self):
        """The chosen Provider."""
        index = self.provider_combo.currentIndex()
        return self.providers[index] if 0 <= index < len(self.providers) else Provider(DEFAULT_PROVIDER)

    def _provider_changed(self):
        provider = self.provider()
        current = self.zoom_combo.currentData()
        zooms = provider.zooms or [DEFAULT_ZOOM]
        self.zoom_combo.blockSignals(True)
        self.zoom_combo.clear()
        for zoom in zooms:
            price = provider.prices.get(zoom)
            self.zoom_combo.addItem(f"{zoom}" + (f" ({price:g} credits/km²)" if price and self.prices_shown else ""),
                                    zoom)
        wanted = current if current in zooms else (provider.default_zoom() or DEFAULT_ZOOM)
        self.zoom_combo.setCurrentIndex(max(0, self.zoom_combo.findData(wanted)))
        self.zoom_combo.blockSignals(False)
        self.changed.emit()

    # -- kinds -------------------------------------------------------------------------------------
    def kind(self):
        """The chosen kind of source."""
        return self.kind_combo.currentData()

    def set_kind(self, kind):
        """Show a kind of source."""
        self.kind_combo.setCurrentIndex(self.kind_combo.findData(kind))

    def _kind_changed(self):
        self.stack.setCurrentIndex(self.kind_combo.currentIndex())
        self.changed.emit()

    def set_chosen(self, kind, source):
        """Use a catalog image or My imagery Source (None forgets it)."""
        self.chosen[kind] = source
        label = getattr(self, f"{kind}_label")
        label.setText(source.describe() if source is not None else NONE_CHOSEN[kind])
        getattr(self, f"{kind}_clear").setEnabled(source is not None)
        if source is not None:
            self.set_kind(kind)
        self.changed.emit()

    def set_source(self, source):
        """Show a Source (a duplicated processing's); a custom source's password is typed again. Returns what could not
        be copied, in words ([] when all of it was)."""
        missing = []
        if source.kind == sources.PROVIDER:
            index = self.provider_combo.findData(source.provider)
            if index >= 0:
                self.provider_combo.setCurrentIndex(index)
            else:
                missing.append(f"the copied processing's imagery provider '{source.provider}' is not offered to "
                               f"your account; {self.provider().label} is chosen instead")
            if source.zoom:
                zoom_index = self.zoom_combo.findData(source.zoom)
                if zoom_index >= 0:
                    self.zoom_combo.setCurrentIndex(zoom_index)
                elif index >= 0:
                    missing.append(f"{self.provider().label} does not offer the copied zoom {source.zoom}; zoom "
                                   f"{self.zoom_combo.currentData()} is chosen instead")
            self.set_kind(sources.PROVIDER)
        elif source.kind == sources.CUSTOM:
            self.url_edit.setText(source.url)
            self.url_type.setCurrentText(source.url_type)
            self.url_crs.setCurrentText(source.crs.upper())
            self.url_zoom.setValue(source.zoom or 0)
            self.set_kind(sources.CUSTOM)
        else:
            self.set_chosen(source.kind, source)
        return missing

    def _custom_changed(self, *args):
        problem = sources.custom_url_problem(self.url_edit.text().strip(), self.url_type.currentText()) \
            if self.url_edit.text().strip() else ""
        self.url_problem.setText(problem[:1].upper() + problem[1:] + "." if problem else "")
        self.url_problem.setVisible(bool(problem))
        self.changed.emit()

    def authcfg(self):
        """The chosen login's authentication configuration id ('' for none)."""
        return self.auth_select.configId() if self.kind() == sources.CUSTOM else ""

    def _custom_source(self):
        return sources.custom_source(self.url_edit.text(), self.url_type.currentText(), self.url_zoom.value() or None,
                                     self.url_crs.currentText().lower())

    def _show_custom_tiles(self):
        try:
            self.show_tiles.emit(self._custom_source())
        except MapbridgeError:
            self._custom_changed()

    def source(self):
        """The chosen Source; raises MapbridgeError when it is not complete."""
        kind = self.kind()
        if kind == sources.PROVIDER:
            provider = self.provider()
            return sources.provider_source(provider.name, self.zoom_combo.currentData(), provider.label)
        if kind == sources.CUSTOM:
            return self._custom_source()
        chosen = self.chosen[kind]
        if chosen is None:
            message, hint = MISSING[kind]
            raise MapbridgeError(message, service="mapflow", hint=hint)
        return chosen
