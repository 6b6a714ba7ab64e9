"""The push preview (core/push/preview.py): exact counts, cancellable, in a form the dock can run in the background."""

from __future__ import annotations

from collections import Counter

import pytest
from qgis.core import QgsProject, QgsVectorLayerFeatureSource

from mapbridge.api.errors import CancelledError
from mapbridge.core.push.payloads import MapiryPayloads
from mapbridge.core.push.preview import Preview, count_features, preview
from mapbridge.tests.processing.push_helpers import memory_layer


def test_preview_text_has_thousands_separators_and_no_sampling():
    assert Preview(247, Counter({"no geometry": 3})).text() == "247 features will be sent, 3 skipped: no geometry"
    assert Preview(1, Counter()).text() == "1 feature will be sent"
    text = Preview(12021, Counter({"no geometry": 2000, "no name": 1})).text()
    assert text == "12,021 features will be sent, 2,001 skipped: 2,000 no geometry, 1 no name"


def big_layer(n):
    rows = [(f"POINT({i % 360 - 180} {i % 170 - 85})" if i % 10 else None, [f"Place {i}" if i % 7 else ""])
            for i in range(n)]
    return memory_layer("Point", "EPSG:4326", ["name:string"], rows, name="big")


def test_every_feature_is_counted_from_a_source_copied_for_another_thread():
    layer = big_layer(12021)
    payloads = MapiryPayloads(layer.fields(), layer.crs(), QgsProject.instance().transformContext(), "name")
    result = count_features(QgsVectorLayerFeatureSource(layer), payloads, total=layer.featureCount())
    no_geometry = sum(1 for i in range(12021) if i % 10 == 0 and i % 7)
    no_name = sum(1 for i in range(12021) if i % 7 == 0)
    assert result.total == 12021
    assert result.skipped["no name (field 'name' is NULL or empty)"] == no_name
    assert sum(result.skipped.values()) == no_geometry + no_name
    assert result.to_send == 12021 - no_geometry - no_name
    layer.selectByIds(list(range(1, 101)))
    assert preview(layer, True, payloads).total == 100


def test_counting_stops_when_cancelled():
    from qgis.core import QgsFeedback

    layer = big_layer(5000)
    payloads = MapiryPayloads(layer.fields(), layer.crs(), QgsProject.instance().transformContext(), "name")
    feedback = QgsFeedback()
    feedback.cancel()
    with pytest.raises(CancelledError):
        count_features(layer, payloads, feedback=feedback, total=5000)
