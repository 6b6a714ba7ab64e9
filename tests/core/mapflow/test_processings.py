"""Mapflow processing bodies and service messages (core/mapflow/processings.py)."""

from __future__ import annotations

from mapbridge.core.mapflow.processings import message_text, processing_body


def test_body_and_message_shapes():
    body = processing_body("n", "🌲 Forest", {"type": "Polygon"}, project_id="p", provider="Maxar SecureWatch",
                           zoom=17)
    assert body == {"name": "n", "wdName": "🌲 Forest", "geometry": {"type": "Polygon"}, "projectId": "p",
                    "params": {"sourceParams": {"dataProvider": {"providerName": "Maxar SecureWatch", "zoom": 17}}},
                    "meta": {"source-app": "qgis", "source": "mapbridge"}}
    image = processing_body("n", "m", {}, provider="Maxar", image_id="abc", model_id="wd-1", blocks=[])
    assert image["params"] == {"sourceParams": {"imagerySearch": {"dataProvider": "maxar", "imageIds": ["abc"]}}}
    assert image["wdId"] == "wd-1" and "wdName" not in image and image["blocks"] == []
    assert message_text({"code": "x.y", "parameters": {"message": "Bad", "a": 1}}) == "Bad [x.y] (a: 1)"
    assert message_text("plain") == "plain"
