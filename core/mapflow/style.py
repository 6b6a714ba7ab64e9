"""Default styles of Mapflow layers: buildings filled by height, other results and catalog footprints plain."""

from __future__ import annotations

from qgis.core import (
    QgsClassificationJenks,
    QgsFeatureRequest,
    QgsFillSymbol,
    QgsGradientColorRamp,
    QgsRuleBasedRenderer,
    QgsSingleSymbolRenderer,
)
from qgis.PyQt.QtGui import QColor

from ..qgis_compat import geometry_type, request_flag

HEIGHT_FIELD = "building_height"
HEIGHT_CLASSES = 5
# Light yellow (low) to dark red (tall); features without a height are grey.
LOW_COLOR, HIGH_COLOR, UNKNOWN_COLOR = QColor(255, 237, 160), QColor(189, 0, 38), QColor(160, 160, 160)
PLAIN_COLORS = {"forest": QColor(49, 163, 84), "road": QColor(99, 99, 99), "default": QColor(255, 127, 0)}


def _fill(color, alpha=200):
    outline = QColor(color).darker(160)
    return QgsFillSymbol.createSimple({"color": f"{color.red()},{color.green()},{color.blue()},{alpha}",
                                       "outline_color": outline.name(), "outline_width": "0.2"})


def _plain_color(layer):
    names = {f.name().lower() for f in layer.fields()}
    if "height_class" in names or "forest" in layer.name().lower():
        return PLAIN_COLORS["forest"]
    if "width_m" in names or "road" in layer.name().lower():
        return PLAIN_COLORS["road"]
    return PLAIN_COLORS["default"]


def height_values(layer, limit=20000):
    """Non-null building heights of a layer (a sample of at most `limit`), for the classes."""
    index = layer.fields().indexOf(HEIGHT_FIELD)
    # Qgis.FeatureRequestFlag from 3.36 (QGIS 4); QgsFeatureRequest.Flag before.
    request = QgsFeatureRequest().setFlags(request_flag("NoGeometry")).setSubsetOfAttributes([index])
    values = []
    for feature in layer.getFeatures(request):
        value = feature.attribute(index)
        if value is not None and not (hasattr(value, "isNull") and value.isNull()):
            try:
                values.append(float(value))
            except (TypeError, ValueError):
                continue
        if len(values) >= limit:
            break
    return values


def height_renderer(layer):
    """Fill by building_height in Jenks classes (nulls excluded) with a grey 'height unknown' rule; None if none."""
    values = height_values(layer)
    if not values:
        return None
    lowest, highest = min(values), max(values)
    uppers = {r.upperBound() for r in QgsClassificationJenks().classes(values, HEIGHT_CLASSES)} \
        if highest > lowest else set()
    bounds = [lowest] + sorted(u for u in uppers if u > lowest) if uppers else [lowest, highest]
    ramp = QgsGradientColorRamp(LOW_COLOR, HIGH_COLOR)
    root = QgsRuleBasedRenderer.Rule(None)
    count = max(1, len(bounds) - 1)
    for i in range(count):
        low, high = bounds[i], bounds[i + 1]
        color = ramp.color(i / max(1, count - 1))
        expression = (f'"{HEIGHT_FIELD}" >= {low!r} AND "{HEIGHT_FIELD}" <= {high!r}' if i == 0
                      else f'"{HEIGHT_FIELD}" > {low!r} AND "{HEIGHT_FIELD}" <= {high!r}')
        root.appendChild(QgsRuleBasedRenderer.Rule(_fill(color), 0, 0, expression, f"{low:.0f}–{high:.0f} m"))
    unknown = QgsRuleBasedRenderer.Rule(_fill(UNKNOWN_COLOR, 150), 0, 0, "", "Height unknown")
    unknown.setIsElse(True)
    root.appendChild(unknown)
    return QgsRuleBasedRenderer(root)


def apply_default_style(layer):
    """Give a Mapflow result a clear style: buildings by height when present, otherwise a plain fill."""
    if layer is None or not layer.isValid() or layer.geometryType() != geometry_type("Polygon"):
        return False
    renderer = None
    if layer.fields().indexOf(HEIGHT_FIELD) >= 0:
        renderer = height_renderer(layer)
    if renderer is None:
        renderer = QgsSingleSymbolRenderer(_fill(_plain_color(layer)))
    layer.setRenderer(renderer)
    layer.triggerRepaint()
    return True


def apply_footprint_style(layer):
    """Catalog footprints: outlines only, so the imagery below stays visible."""
    if layer is None or not layer.isValid():
        return False
    symbol = QgsFillSymbol.createSimple({"color": "0,0,0,0", "outline_color": "31,120,180", "outline_width": "0.5"})
    layer.setRenderer(QgsSingleSymbolRenderer(symbol))
    layer.triggerRepaint()
    return True
