"""What a sync would do, counted before it runs (the dock's preview line): the layer against its link, no request."""

from __future__ import annotations

from ..push.geometry import SkipFeature
from .choices import SKIPPED
from .fingerprint import Fingerprinter
from .items import CREATE, DELETE, UPDATE
from .plan import KeyReader, Preview, Scan, plan
from .session import find_link
from .store import LinkStore


def preview_sync(applier, place, fields, features, key_field, new_map_title=None, cancelled=lambda: False):
    """A Preview of syncing these features, or None when cancelled (a job: it may run in a worker thread on a
    feature source's features, and it writes nothing).

    applier: a MapsembleSync or MapirySync made without a client; its payload builder tells which changed
    features would be skipped.
    """
    store = LinkStore(place.store_path).open_readonly()
    try:
        link = find_link(store, place, applier.service, applier.map_id, key_field, new_map_title)
        entries = store.entries(link)
    finally:
        store.close()
    applier.recall(link.parameters)
    scan = Scan(KeyReader(fields, key_field),
                Fingerprinter(applier.fingerprint_settings(), applier.fingerprint_columns()),
                applier.layer_of if applier.uses_layers else None)
    items = scan(features, cancelled)
    if items is None:
        return None
    deletes = plan(items, entries, layers=applier.uses_layers)
    for item in items:
        if item.action not in (CREATE, UPDATE):
            continue
        try:
            applier.builder(item.feature)
        except SkipFeature as skip:
            if item.action == CREATE:
                item.action = None
                item.done(SKIPPED, error=skip.reason)
            else:
                item.action = DELETE        # synced before, not sendable now: it would leave the map
    return Preview(items, deletes)
