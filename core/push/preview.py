"""What a push would do with a layer, counted before anything is sent (the dock's preview line)."""

from __future__ import annotations

from collections import Counter

from qgis.core import QgsFeatureRequest

from .items import SKIPPED, build_item

PREVIEW_LIMIT = 10_000       # keeps the count under ~0.2 s on the main thread


class Preview:
    """Counts of features to send and skipped (by reason) over the first `checked` features."""

    def __init__(self, to_send=0, skipped=None, checked=0, total=0):
        self.to_send = to_send
        self.skipped = skipped or Counter()
        self.checked = checked
        self.total = total

    def text(self):
        """"247 features will be sent, 3 skipped: no geometry"."""
        n_skipped = sum(self.skipped.values())
        sent = f"{self.to_send} feature{'s' if self.to_send != 1 else ''} will be sent"
        if n_skipped:
            if len(self.skipped) == 1:
                reasons = next(iter(self.skipped))
            else:
                reasons = ", ".join(f"{n} {reason}" for reason, n in self.skipped.most_common(3))
                if len(self.skipped) > 3:
                    reasons += ", …"
            sent += f", {n_skipped} skipped: {reasons}"
        if self.checked < self.total:
            sent += f" (counted over the first {self.checked} of {self.total})"
        return sent


def preview(layer, selected_only, make_payload, limit=PREVIEW_LIMIT):
    """Build each feature's payload as the push would and count the skips (main thread, quick)."""
    if selected_only:
        ids = layer.selectedFeatureIds()
        total = len(ids)
        request = QgsFeatureRequest().setFilterFids(ids[:limit])
    else:
        total = max(0, layer.featureCount())
        request = QgsFeatureRequest().setLimit(limit)
    result = Preview(total=total)
    for feature in layer.getFeatures(request):
        item = build_item(result.checked, feature, make_payload)
        result.checked += 1
        if item.status == SKIPPED:
            result.skipped[item.error] += 1
        else:
            result.to_send += 1
    result.total = max(total, result.checked)
    return result
