"""What a sync does with each feature: read keys and fingerprints, compare with the link, decide.

New keys are created, keys whose fingerprint changed are updated, keys that left the input are deleted, the rest
is unchanged and not sent at all.
"""

from __future__ import annotations

from itertools import islice

from qgis.core import QgsFeature

from ...api.errors import MapbridgeError
from ..push.values import text_value
from .choices import SKIPPED, UNCHANGED
from .items import CREATE, DELETE, RELAYER, UPDATE, SyncItem

CANCEL_EVERY = 256


class KeyReader:
    """The key of a feature: the text of its key field, or its feature id (default)."""

    def __init__(self, fields, key_field=None):
        self.key_field = key_field or None
        self.index = -1
        if self.key_field:
            self.index = fields.lookupField(self.key_field)
            if self.index < 0:
                raise MapbridgeError(f"the key field '{self.key_field}' is not a field of the input layer",
                                     hint="Choose a field of the layer you sync (KEY_FIELD), or none to use the "
                                          "feature ids")

    def __call__(self, feature, values):
        """(key, None) or (None, the reason it has none)."""
        if self.index < 0:
            fid = feature.id()
            if fid < 0:
                return None, "not saved yet (save the layer's edits, then sync)"
            return str(fid), None
        key = text_value(values[self.index])
        if not key:
            return None, f"no key (field '{self.key_field}' is NULL or empty)"
        if "\x00" in key:
            return None, f"the key in field '{self.key_field}' holds a NUL character"
        return key, None


class Scan:
    """Every input feature as a SyncItem with its key, fingerprint and (Mapiry) layer, or skipped with why."""

    def __init__(self, keys, fingerprint, layer_of=None):
        self.keys = keys
        self.fingerprint = fingerprint
        self.layer_of = layer_of

    def __call__(self, features, cancelled=lambda: False):
        # Runs once per input feature on every sync. Features are taken from the source a block at a time: a
        # loop that alternates one fetch and one feature's work runs about a third slower. The common case (a
        # text key) is read in line, the rest through KeyReader, which says why a feature has no key.
        items, seen = [], {}
        append, first_of = items.append, seen.setdefault
        keys, fingerprint, layer_of = self.keys, self.fingerprint, self.layer_of
        key_index = keys.index
        features = iter(features)
        index = 0
        while True:
            if cancelled():
                return None
            block = list(islice(features, CANCEL_EVERY))
            if not block:
                return items
            for feature in block:
                item = SyncItem(index, feature)
                append(item)
                index += 1
                values = feature.attributes()
                key = values[key_index] if key_index >= 0 else None
                key = (key.strip() or None) if type(key) is str and "\x00" not in key else None
                if key is None:
                    key, reason = keys(feature, values)
                    if key is None:
                        item.done(SKIPPED, error=reason)
                        continue
                first = first_of(key, item.index)
                if first != item.index:
                    item.done(SKIPPED, error=f"duplicate key '{key}' (input feature {first + 1} has it too)")
                    continue
                item.key = key
                item.fp = fingerprint(values, feature.geometry())
                if layer_of is not None:
                    item.layer = layer_of(values)


def plan(items, entries, missing=frozenset(), service_title="the service", layers=False):
    """Decide each item's action against the link's entries; returns the delete items (one per entry left over).

    missing: remote ids the link has that are no longer on the map (deleted there by someone else);
    layers: whether the service puts features in layers (then a feature whose layer changed is re-layered).
    """
    keys = set()
    for item in items:
        if item.key is None or item.status is not None:
            continue
        keys.add(item.key)
        entry = entries.get(item.key)
        item.entry = entry
        if entry is None or not entry.remote_id:
            item.action = CREATE
        elif entry.remote_id in missing:
            item.action = CREATE
            item.note = f"it had been deleted on {service_title}; created again"
        elif entry.fp != item.fp:
            item.action = UPDATE
            item.target = entry.remote_id
        elif layers and (entry.layer or None) != (item.layer or None):
            item.action = RELAYER
            item.target = entry.remote_id
        else:
            item.done(UNCHANGED, remote_id=entry.remote_id)
    deletes = []
    for key, entry in entries.items():
        if key in keys or not entry.remote_id:
            continue
        item = SyncItem(0, None)
        item.key, item.entry, item.action, item.target = key, entry, DELETE, entry.remote_id
        item.note = "left the layer; deleted from the map"
        if entry.remote_id in missing:
            item.note, item.absent = f"left the layer; it was already gone from {service_title}", True
        deletes.append(item)
    return deletes


def deleted_rows(deletes, fields, key_field, start):
    """Give each delete item a report row: no geometry, NULL attributes but the key field."""
    index = fields.lookupField(key_field) if key_field else -1
    for offset, item in enumerate(deletes):
        row = QgsFeature(fields)
        if index >= 0:
            row.setAttribute(index, item.key)
        item.feature = row
        item.index = start + offset


class Preview:
    """What a sync would do, counted before it runs (the dock's preview line)."""

    def __init__(self, items, deletes):
        self.create = sum(1 for i in items if i.action == CREATE)
        self.update = sum(1 for i in items if i.action in (UPDATE, RELAYER))
        self.delete = len(deletes) + sum(1 for i in items if i.action == DELETE)
        self.unchanged = sum(1 for i in items if i.status == UNCHANGED)
        self.skipped = {}
        for item in items:
            if item.status == SKIPPED:
                self.skipped[item.error] = self.skipped.get(item.error, 0) + 1

    def text(self):
        """"12 to update, 3 to create, 2 to delete, 4,983 unchanged" (and the skips with their main reason)."""
        parts = [f"{n:,} {what}" for n, what in ((self.update, "to update"), (self.create, "to create"),
                                                 (self.delete, "to delete")) if n]
        parts.append(f"{self.unchanged:,} unchanged")
        skipped = sum(self.skipped.values())
        if skipped:
            reason = max(self.skipped, key=self.skipped.get)
            parts.append(f"{skipped:,} skipped: {reason}" + (", …" if len(self.skipped) > 1 else ""))
        return ", ".join(parts)
