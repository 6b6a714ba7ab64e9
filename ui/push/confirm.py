"""The question before a big push: how many features go where, and how long the service's rate limits make it take."""

from __future__ import annotations

from ...core.push.estimate import estimate
from ..notify import ask

ASK_ABOVE = 300     # more features than this always asks; a whole layer (no selection used) asks whatever its size


def needs_asking(preview, whole_layer):
    """True for a push of the whole layer, or of more than a few hundred features."""
    return preview.to_send > 0 and (whole_layer or preview.to_send > ASK_ABOVE)


def question(preview, layer, target, whole_layer):
    """(text, informative text) of the question."""
    n = preview.to_send
    features = f"{n:,} feature{'s' if n != 1 else ''}"
    text = f"Push {'all ' if whole_layer and n > 1 else ''}{features} of “{layer.name()}” to {target.describe()}?"
    notes = []
    if whole_layer:
        notes.append("Nothing is selected, so the whole layer goes." if layer.selectedFeatureCount() == 0
                     else "“Selected features only” is off: the whole layer goes, not the selection.")
    skipped = sum(preview.skipped.values())
    if skipped:
        reasons = preview.text().split("skipped: ", 1)[-1]
        notes.append(f"{skipped:,} more {'is' if skipped == 1 else 'are'} skipped: {reasons}.")
    notes.append(estimate(target.service, n, target.plan()))
    return text, " ".join(notes)


def confirm(parent, preview, layer, target, whole_layer):
    """Ask when needs_asking(); True to go on."""
    if not needs_asking(preview, whole_layer):
        return True
    text, informative = question(preview, layer, target, whole_layer)
    answer = ask(parent, "Mapbridge – Push", text, [("push", f"Push {preview.to_send:,}"), ("cancel", "Cancel")],
                 informative=informative)
    return answer == "push"
