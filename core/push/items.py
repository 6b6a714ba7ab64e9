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


def describe_counts(tally):
    """"1,200 created, 3 skipped, 40 not sent" from a counts() dict (zero counts left out)."""
    parts = [f"{tally[key]:,} {status.replace('_', ' ')}" for status, key in COUNT_KEYS.items() if tally.get(key)]
    return ", ".join(parts) or "nothing to push"
