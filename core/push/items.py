"""The rows of a push: one per input feature, with its payload, outcome and reason."""

from __future__ import annotations

from collections import Counter

from .choices import COUNT_KEYS, CREATED, DELETED, FAILED, NOT_SENT, SKIPPED, UPDATED
from .geometry import SkipFeature

STATUSES = (CREATED, UPDATED, DELETED, SKIPPED, FAILED, NOT_SENT)


class PushItem:
    """One input feature: what is sent for it and what became of it."""

    __slots__ = ("index", "feature", "payload", "status", "remote_id", "error")

    def __init__(self, index, feature, payload=None, status=None, error=None):
        self.index = index
        self.feature = feature
        self.payload = payload
        self.status = status          # None while pending
        self.remote_id = None
        self.error = error

    @property
    def pending(self):
        """True while nothing is known about this feature yet."""
        return self.status is None

    def done(self, status, remote_id=None, error=None):
        """Record the outcome; the payload is not needed any more."""
        if remote_id is not None:
            self.remote_id = str(remote_id)
        self.error = error
        self.payload = None
        self.status = status        # last: the report writer in another thread takes a set status as final

    def __repr__(self):
        return f"PushItem({self.index}, {self.status}, {self.remote_id}, {self.error})"


def build_item(index, feature, make_payload):
    """A PushItem with its payload, or already 'skipped' with the reason."""
    try:
        return PushItem(index, feature, make_payload(feature))
    except SkipFeature as skip:
        return PushItem(index, feature, status=SKIPPED, error=skip.reason)


def mark_not_sent(items, reason):
    """Mark every feature still pending as not sent, with the reason."""
    for item in items:
        if item.pending:
            item.done(NOT_SENT, error=reason)


def counts(items, keys=COUNT_KEYS):
    """{"CREATED": n, ...} over all items (pending ones count as not sent); keys: status → result name."""
    tally = Counter(item.status or NOT_SENT for item in items)
    return {key: tally.get(status, 0) for status, key in keys.items()}


def skip_reasons(items):
    """Counter of skip reasons, reason → count."""
    return Counter(item.error for item in items if item.status == SKIPPED)


def describe_skips(reasons):
    """Why features were skipped, from skip_reasons(): the one reason, or "2 no geometry, 1 no name, …"."""
    if len(reasons) == 1:
        return next(iter(reasons))
    text = ", ".join(f"{n:,} {reason}" for reason, n in reasons.most_common(3))
    return text + (", …" if len(reasons) > 3 else "")


def describe_counts(tally, skipped_why=""):
    """"1,200 created, 40 not sent, 3 skipped" from a counts() dict (zero counts left out); with `skipped_why`
    (describe_skips) the skips come last with their reason, as in the preview: "3 skipped: no geometry"."""
    skipped = tally.get(COUNT_KEYS[SKIPPED]) if skipped_why else 0
    parts = [f"{tally[key]:,} {status.replace('_', ' ')}" for status, key in COUNT_KEYS.items()
             if tally.get(key) and not (skipped and status == SKIPPED)]
    if skipped:
        parts.append(f"{skipped:,} skipped: {skipped_why}")
    return ", ".join(parts) or "nothing to push"
