"""The default style of a Mapflow result (core/mapflow/style.py)."""

from __future__ import annotations

from qgis.core import QgsGeometry, QgsRectangle

from mapbridge.core.qgis_compat import FIELD_DOUBLE, make_field


def test_default_style_classes_heights_without_nulls():
    from qgis.core import QgsFeature, QgsVectorLayer

    from mapbridge.core.mapflow.style import apply_default_style

    layer = QgsVectorLayer("Polygon?crs=EPSG:4326", "buildings", "memory")
    layer.dataProvider().addAttributes([make_field("building_height", FIELD_DOUBLE)])
    layer.updateFields()
    features = []
    for i, height in enumerate([None, 3.0, 4.0, 5.0, 10.0, 20.0, 30.0, 44.0, 45.0, None]):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromRect(QgsRectangle(i, 0, i + 0.5, 0.5)))
        feature.setAttribute(0, height)
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    assert apply_default_style(layer)
    rules = layer.renderer().rootRule().children()
    labels = [r.label() for r in rules]
    assert labels[-1] == "Height unknown" and rules[-1].isElse()
    assert labels[0].startswith("3–") and labels[-2].endswith("–45 m") and "0–0 m" not in labels
