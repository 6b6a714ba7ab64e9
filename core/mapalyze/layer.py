"""QGIS side of a Mapalyze layer: where it came from (custom properties), its default style, refresh bookkeeping."""

from __future__ import annotations

import os
import re
import zlib

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsMarkerSymbol,
    QgsProject,
    QgsRendererCategory,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor

SERVICE = "mapalyze"
PROP_SERVICE = "mapbridge/service"
PROP_FORM_ID = "mapbridge/form_id"
PROP_NEWEST = "mapbridge/newest"
PROP_SOURCE_URL = "mapbridge/source_url"
CATEGORY_FIELD = "form_id"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#7f7f7f")


def display_name(form_id=None):
    """Name of a Mapalyze layer in the layer tree."""
    return f"Mapalyze records ({form_id})" if form_id else "Mapalyze records (all forms)"


def mark(layer, *, form_id=None, newest=None, source_url=None):
    """Record where the layer came from in its custom properties (saved with the project; no token)."""
    layer.setCustomProperty(PROP_SERVICE, SERVICE)
    layer.setCustomProperty(PROP_FORM_ID, form_id or "")
    layer.setCustomProperty(PROP_NEWEST, newest or "")
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
    }


def _color(form_id):
    return QColor(PALETTE[zlib.crc32(str(form_id).encode("utf-8")) % len(PALETTE)])


def _symbol(color):
    symbol = QgsMarkerSymbol.createSimple({"name": "circle", "size": "2.2", "outline_color": "#ffffff",
                                           "outline_width": "0.2"})
    symbol.setColor(color)
    return symbol


def apply_default_style(layer, form_ids):
    """Colour by form (one category per form id, then "other"), labels off."""
    if layer.fields().indexOf(CATEGORY_FIELD) < 0:
        layer.setLabelsEnabled(False)
        return
    categories = [QgsRendererCategory(form_id, _symbol(_color(form_id)), str(form_id)) for form_id in form_ids]
    categories.append(QgsRendererCategory("", _symbol(QColor("#9e9e9e")), "Other"))
    layer.setRenderer(QgsCategorizedSymbolRenderer(CATEGORY_FIELD, categories))
    layer.setLabelsEnabled(False)


def add_categories(layer, form_ids):
    """Give new form ids their own category after a refresh (only on our categorized style)."""
    renderer = layer.renderer()
    if not isinstance(renderer, QgsCategorizedSymbolRenderer) or renderer.classAttribute() != CATEGORY_FIELD:
        return
    known = {str(cat.value()) for cat in renderer.categories()}
    for form_id in form_ids:
        if form_id not in known:
            renderer.addCategory(QgsRendererCategory(form_id, _symbol(_color(form_id)), str(form_id)))


def open_layer(path, layer_name, name):
    """A QgsVectorLayer on one layer of a GeoPackage."""
    return QgsVectorLayer(f"{path}|layername={layer_name}", name, "ogr")


def add_loaded_layer(path, layer_name, *, form_id, newest, source_url, form_ids, project=None):
    """Open a freshly loaded GeoPackage, style and mark it, add it to the project; returns the layer."""
    layer = open_layer(path, layer_name, display_name(form_id))
    if not layer.isValid():
        return None
    mark(layer, form_id=form_id, newest=newest, source_url=source_url)
    apply_default_style(layer, form_ids)
    (project or QgsProject.instance()).addMapLayer(layer)
    return layer


def after_refresh(layer, result):
    """Show the appended records: reload the data, update extent, newest and categories."""
    provider = layer.dataProvider()
    provider.reloadData()
    layer.reload()
    layer.updateFields()
    layer.updateExtents()
    if result.newest:
        layer.setCustomProperty(PROP_NEWEST, result.newest)
    add_categories(layer, result.form_ids)
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
