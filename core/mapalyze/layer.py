"""QGIS side of a Mapalyze layer: where it came from (custom properties), its default style, refresh bookkeeping."""

from __future__ import annotations

import os
import re

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsEditorWidgetSetup,
    QgsMarkerSymbol,
    QgsProject,
    QgsRendererCategory,
    QgsSingleSymbolRenderer,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor

from ..qgis_compat import FIELD_LIST, FIELD_MAP, FIELD_STRING_LIST

SERVICE = "mapalyze"
PROP_SERVICE = "mapbridge/service"
PROP_FORM_ID = "mapbridge/form_id"
PROP_NEWEST = "mapbridge/newest"
PROP_WATERMARK = "mapbridge/watermark"   # the server's clock at the last load/refresh/sync (see core/mapalyze/load)
PROP_SINCE = "mapbridge/since"           # the `since` filter the layer was loaded with
PROP_SOURCE_URL = "mapbridge/source_url"
CATEGORY_FIELD = "form_id"
# Distinct colours, no greys (grey is "Other forms"); the biggest form gets the first. After the twelfth colour
# the marker shape changes too.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#17becf", "#e377c2", "#8c564b",
           "#bcbd22", "#393b79", "#ad494a", "#637939")
SHAPES = ("circle", "square", "triangle", "diamond")
OTHER_LABEL = "Other forms"
LIST_WIDGET = "List"    # shows a list value as "a, b" in the attribute table and forms, keeping it a list


def display_name(form_id=None, form_name=None):
    """Name of a Mapalyze layer in the layer tree (the form's name when known)."""
    if not form_id:
        return "Mapalyze records (all forms)"
    return f"Mapalyze records ({form_name or form_id})"


def mark(layer, *, form_id=None, newest=None, source_url=None, watermark=None, since=None):
    """Record where the layer came from in its custom properties (saved with the project; no token)."""
    layer.setCustomProperty(PROP_SERVICE, SERVICE)
    layer.setCustomProperty(PROP_FORM_ID, form_id or "")
    layer.setCustomProperty(PROP_NEWEST, newest or "")
    if watermark is not None:
        layer.setCustomProperty(PROP_WATERMARK, watermark)
    if since is not None:
        layer.setCustomProperty(PROP_SINCE, since)
    if source_url is not None:
        layer.setCustomProperty(PROP_SOURCE_URL, source_url)


def is_mapalyze_layer(layer):
    """True for a vector layer loaded from Mapalyze by Mapbridge."""
    return isinstance(layer, QgsVectorLayer) and layer.customProperty(PROP_SERVICE) == SERVICE


def source_of(layer):
    """(GeoPackage path, layer name) of a layer's data source."""
    uri = layer.source()
    parts = uri.split("|")
    path = parts[0]
    name = None
    for part in parts[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "layername":
            name = value.strip()
    if name is None:
        name = os.path.splitext(os.path.basename(path))[0]
    return path, name


def info(layer):
    """Everything a refresh needs, read on the main thread."""
    path, layer_name = source_of(layer)
    return {
        "path": path,
        "layer_name": layer_name,
        "form_id": layer.customProperty(PROP_FORM_ID) or None,
        "newest": layer.customProperty(PROP_NEWEST) or None,
        "watermark": layer.customProperty(PROP_WATERMARK) or None,
        "since": layer.customProperty(PROP_SINCE) or None,
    }


def layers_of_form(form_id, project=None):
    """The project's Mapalyze layers loaded for this form ("" or None: all forms)."""
    project = project or QgsProject.instance()
    return [layer for layer in project.mapLayers().values()
            if is_mapalyze_layer(layer) and (layer.customProperty(PROP_FORM_ID) or "") == (form_id or "")]


def _symbol(index, outline="#ffffff"):
    symbol = QgsMarkerSymbol.createSimple({"name": SHAPES[(index // len(PALETTE)) % len(SHAPES)], "size": "2.4",
                                           "outline_color": outline, "outline_width": "0.2"})
    symbol.setColor(QColor(PALETTE[index % len(PALETTE)]))
    return symbol


def _other_symbol():
    """A hollow grey ring: unlike every form's filled, coloured marker."""
    return QgsMarkerSymbol.createSimple({"name": "circle", "size": "2.4", "color": "0,0,0,0",
                                         "outline_color": "#8a8a8a", "outline_width": "0.4"})


def apply_default_style(layer, form_ids, names=None):
    """Colour by form (biggest form first, names in the legend), labels off, lists shown as lists.

    A layer of one form: one symbol (the legend is the layer itself). All forms: one category per form; once
    there are several, "Other forms" after them catches forms that arrive later without a category."""
    names = names or {}
    show_lists(layer)
    layer.setLabelsEnabled(False)
    if layer.customProperty(PROP_FORM_ID) or layer.fields().indexOf(CATEGORY_FIELD) < 0:
        layer.setRenderer(QgsSingleSymbolRenderer(_symbol(0)))
        return
    categories = [QgsRendererCategory(form_id, _symbol(i), names.get(form_id) or str(form_id))
                  for i, form_id in enumerate(form_ids)]
    if len(categories) > 1:
        categories.append(QgsRendererCategory("", _other_symbol(), OTHER_LABEL))
    layer.setRenderer(QgsCategorizedSymbolRenderer(CATEGORY_FIELD, categories))


def _our_categories(layer):
    renderer = layer.renderer()
    if isinstance(renderer, QgsCategorizedSymbolRenderer) and renderer.classAttribute() == CATEGORY_FIELD:
        return renderer
    return None


def add_categories(layer, form_ids, names=None):
    """Give forms new to an all-forms layer their own colour (only on our categorized style), before "Other"."""
    renderer = _our_categories(layer)
    if renderer is None:
        return
    names = names or {}
    categories = renderer.categories()      # a copy of every symbol: taken once
    known = {str(cat.value()) for cat in categories}
    used = sum(1 for cat in categories if cat.value() not in ("", None))
    has_other = any(cat.value() in ("", None) for cat in categories)
    count = len(categories)
    for form_id in form_ids:
        if form_id not in known:
            renderer.addCategory(QgsRendererCategory(form_id, _symbol(used), names.get(form_id) or str(form_id)))
            count += 1
            if has_other:       # "Other forms" stays last
                renderer.moveCategory(count - 1, count - 2)
            used += 1
    if used > 1 and not has_other:
        renderer.addCategory(QgsRendererCategory("", _other_symbol(), OTHER_LABEL))


def name_forms(layer, names):
    """Show form names (not ids) in the legend and the layer name, once the names are known."""
    form_id = layer.customProperty(PROP_FORM_ID) or ""
    if form_id and names.get(form_id) and layer.name() == display_name(form_id):
        layer.setName(display_name(form_id, names[form_id]))
    renderer = _our_categories(layer)
    if renderer is None:
        return
    for index, category in enumerate(renderer.categories()):
        name = names.get(str(category.value()))
        if name and category.label() == str(category.value()):
            renderer.updateCategoryLabel(index, name)
    layer.triggerRepaint()


def show_lists(layer):
    """List fields (e.g. photos) shown as "a, b" in the attribute table and forms; the values stay lists."""
    for index, field in enumerate(layer.fields()):
        if field.type() in (FIELD_LIST, FIELD_MAP, FIELD_STRING_LIST) and \
                layer.editorWidgetSetup(index).type() in ("", "TextEdit", "KeyValue"):
            layer.setEditorWidgetSetup(index, QgsEditorWidgetSetup(LIST_WIDGET, {}))


def open_layer(path, layer_name, name):
    """A QgsVectorLayer on one layer of a GeoPackage."""
    return QgsVectorLayer(f"{path}|layername={layer_name}", name, "ogr")


def after_refresh(layer, result, names=None):
    """Show what a refresh or sync wrote: reload the data, update extent, watermark, categories and list fields.

    One reopen of the GeoPackage: layer.reload() reloads the provider's data and updates the fields (calling the
    provider's reloadData() first as well would open the file twice on the main thread)."""
    layer.reload()
    layer.updateExtents()
    if result.newest:
        layer.setCustomProperty(PROP_NEWEST, result.newest)
    if result.watermark:
        layer.setCustomProperty(PROP_WATERMARK, result.watermark)
    add_categories(layer, result.form_ids, names)
    show_lists(layer)
    layer.triggerRepaint()


def output_path(folder, form_id=None):
    """A GeoPackage path in `folder` that does not exist yet: mapalyze_<form>.gpkg, then _2, _3…"""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", form_id or "all_forms").strip("_") or "records"
    base = os.path.join(folder, f"mapalyze_{slug}")
    path, n = base + ".gpkg", 1
    while os.path.exists(path):
        n += 1
        path = f"{base}_{n}.gpkg"
    return path
