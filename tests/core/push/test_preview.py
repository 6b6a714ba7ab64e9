"""The push preview line (core/push/preview.py)."""

from __future__ import annotations

from mapbridge.core.push.preview import Preview


def test_preview_text():
    from collections import Counter

    assert Preview(247, Counter({"no geometry": 3}), 250, 250).text() == \
        "247 features will be sent, 3 skipped: no geometry"
    assert Preview(1, Counter(), 1, 1).text() == "1 feature will be sent"
    text = Preview(5, Counter({"no geometry": 2, "no name": 1}), 8, 10).text()
    assert text == "5 features will be sent, 3 skipped: 2 no geometry, 1 no name (counted over the first 8 of 10)"
