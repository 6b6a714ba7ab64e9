"""Mapflow processing bodies and service messages (core/mapflow/processings.py)."""

from __future__ import annotations

from mapbridge.core.mapflow.processings import message_text, processing_body


def test_body_and_message_shapes():
    body = processing_body("n", "🌲 Forest", {"type": "Polygon"}, project_id="p", provider="Maxar SecureWatch",
                           zoom=17)
    assert body == {"name": "n", "wdName": "🌲 Forest", "geometry": {"type": "Polygon"}, "projectId": "p",
                    "params": {"sourceParams": {"dataProvider": {"providerName": "Maxar SecureWatch", "zoom": 17}}}}
    image = processing_body("n", "m", {}, provider="Maxar", image_id="abc")
    assert image["params"] == {"sourceParams": {"imagerySearch": {"dataProvider": "Maxar", "imageIds": ["abc"]}}}
    assert message_text({"code": "x.y", "parameters": {"message": "Bad", "a": 1}}) == "Bad [x.y] (a: 1)"
    assert message_text("plain") == "plain"
