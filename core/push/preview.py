"""What a push would do with a layer, counted exactly before anything is sent (the dock's preview line).

The count builds every feature's payload as the push would, so it takes a while on big layers: the dock runs it in
the background (count_features with a feature source copied on the main thread), cancellable, with progress.
"""

from __future__ import annotations

from collections import Counter

from qgis.core import QgsFeatureRequest

from ...api.errors import CancelledError
from ..gc_guard import quiet_gc
from .items import SKIPPED, build_item

CHECK_EVERY = 500          # features between checks for cancel and progress


class Preview:
    """Exact counts of the features to send and of those skipped, by reason."""

    def __init__(self, to_send=0, skipped=None, total=0):
        self.to_send = to_send
        self.skipped = skipped or Counter()
        self.total = total

    def text(self):
        """"247 features will be sent, 3 skipped: no geometry"."""
        n_skipped = sum(self.skipped.values())
        sent = f"{self.to_send:,} feature{'s' if self.to_send != 1 else ''} will be sent"
        if n_skipped:
            if len(self.skipped) == 1:
                reasons = next(iter(self.skipped))
            else:
                reasons = ", ".join(f"{n:,} {reason}" for reason, n in self.skipped.most_common(3))
                if len(self.skipped) > 3:
                    reasons += ", …"
            sent += f", {n_skipped:,} skipped: {reasons}"
        return sent


def count_features(source, make_payload, fids=None, feedback=None, total=0):
    """Build each feature's payload as the push would and count the skips, exactly.

    `source`: a layer, or a QgsVectorLayerFeatureSource taken on the main thread (for a worker thread); `fids`:
    only these features (the selection); `total`: the expected number, for progress."""
    request = QgsFeatureRequest()
    if fids is not None:
        request.setFilterFids(list(fids))
        total = len(fids)
    result = Preview(total=total)
    with quiet_gc():        # a full collection would stall the main thread (the dock counts in the background)
        for n, feature in enumerate(source.getFeatures(request), 1):
            if n % CHECK_EVERY == 0 and feedback is not None:
                if feedback.isCanceled():
                    raise CancelledError()
                if total:
                    feedback.setProgress(min(99.0, 100.0 * n / total))
            item = build_item(n, feature, make_payload)
            if item.status == SKIPPED:
                result.skipped[item.error] += 1
            else:
                result.to_send += 1
    result.total = result.to_send + sum(result.skipped.values())
    return result


def preview(layer, selected_only, make_payload):
    """The exact Preview of a layer (or its selection), here and now (tests and small layers)."""
    fids = layer.selectedFeatureIds() if selected_only else None
    return count_features(layer, make_payload, fids, total=max(0, layer.featureCount()))
