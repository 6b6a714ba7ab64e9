"""The rows of a sync: one per input feature and one per remote feature deleted, with what was done to each."""

from __future__ import annotations

from collections import Counter

from ..push.items import PushItem, mark_not_sent
from ..push.items import counts as push_counts
from .choices import COUNT_KEYS, CREATED, DELETED, FAILED, SKIPPED, UNCHANGED, UPDATED

CREATE, UPDATE, RELAYER, DELETE = "create", "update", "relayer", "delete"
ARRIVED = (CREATED, UPDATED, DELETED)


class SyncItem(PushItem):
    """A PushItem that knows its key, what the sync does with it, and the fingerprint it will leave behind."""

    __slots__ = ("key", "action", "fp", "layer", "entry", "target", "note", "attempted", "uncertain", "absent")

    def __init__(self, index, feature, payload=None, status=None, error=None):
        super().__init__(index, feature, payload, status, error)
        self.key = None
        self.action = None          # CREATE, UPDATE, RELAYER, DELETE or None (nothing to send)
        self.fp = None
        self.layer = None           # Mapiry: the layer this feature belongs in
        self.entry = None           # the link's Entry of this key, if any
        self.target = None          # the remote id an update or delete is about
        self.note = None            # said in the report when it arrives (e.g. "it had been deleted on the service")
        self.attempted = False      # a request carrying it has been sent
        self.uncertain = False      # whether it arrived is not known (a check of an unknown outcome failed)
        self.absent = False         # a delete whose feature was not on the map any more

    def done(self, status, remote_id=None, error=None):
        if error is None and status in ARRIVED:
            error = self.note
        super().done(status, remote_id, error)

    def __repr__(self):
        return f"SyncItem({self.index}, {self.key!r}, {self.action}, {self.status}, {self.remote_id}, {self.error})"


not_sent = mark_not_sent


def counts(items):
    """{"CREATED": n, "UPDATED": n, …, "NOT_SENT": n} over all items (pending ones count as not sent)."""
    return push_counts(items, COUNT_KEYS)


def describe_counts(tally, with_unchanged=False):
    """"3 updated, 1 deleted" (zero counts left out; unchanged ones too unless asked), or "no change (4,983
    unchanged)"."""
    unchanged = tally.get(COUNT_KEYS[UNCHANGED], 0)
    parts = [f"{tally[key]:,} {status.replace('_', ' ')}" for status, key in COUNT_KEYS.items()
             if status != UNCHANGED and tally.get(key)]
    if not parts:
        return f"no change ({unchanged:,} unchanged)"
    if with_unchanged and unchanged:
        parts.append(f"{unchanged:,} unchanged")
    return ", ".join(parts)


def skip_reasons(items):
    """Counter of skip reasons, reason → count."""
    return Counter(item.error for item in items if item.status == SKIPPED)


def failed_reasons(items):
    """Counter of failure reasons, reason → count."""
    return Counter(item.error for item in items if item.status == FAILED)


def report_counts(layer):
    """{"CREATED": n, …} read back from a sync report layer (for a run whose results were lost to a cancel)."""
    tally = dict.fromkeys(COUNT_KEYS.values(), 0)
    index = layer.fields().lookupField("push_status")
    if index >= 0:
        for feature in layer.getFeatures():
            key = COUNT_KEYS.get(feature.attributes()[index])
            if key:
                tally[key] += 1
    return tally
