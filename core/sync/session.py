"""One sync of one layer: find (or start) its link, check the key, then run the sync against the link's store."""

from __future__ import annotations

import threading
from contextlib import contextmanager

from ...api.errors import CancelledError, MapbridgeError
from .fingerprint import Fingerprinter
from .plan import KeyReader, Scan
from .run import run_sync
from .store import Link, LinkStore


def key_name(key_field):
    """How a key field is named to the user."""
    return f"the field '{key_field}'" if key_field else "the feature id"


def find_link(store, place, service, map_id, key_field, new_map_title=None):
    """The link of this layer to this map (or, without a map id, to the map made for this new map's title)."""
    link = None
    if map_id:
        link = store.find(place.source, service, map_id)
    elif new_map_title:
        for candidate in store.links(place.source):
            if candidate.service == service and candidate.parameters.get("NEW_MAP_TITLE") == new_map_title \
                    and candidate.map_id:
                link = candidate
                break
    if link is None:
        return Link(source=place.source, service=service, map_id=map_id or "", key_field=key_field or "")
    if link.key_field != (key_field or ""):
        raise MapbridgeError(
            f"this layer is synced with map '{link.map_id}' by {key_name(link.key_field)}, not by "
            f"{key_name(key_field)}", service=service,
            hint=f"Sync with KEY_FIELD = {link.key_field or '(none)'}, or unlink the layer (right-click it ▸ Unlink) "
                 f"to start again with another key")
    return link


_LOCKS_GUARD = threading.Lock()
_LOCKS = {}


@contextmanager
def one_at_a_time(place, service, target, feedback):
    """One sync of a layer with a map at a time in this QGIS (a save while the dock syncs waits for it)."""
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault((place.store_path, place.source, service, target), threading.Lock())
    told = False
    while not lock.acquire(timeout=0.2):
        if feedback.isCanceled():
            raise CancelledError()
        if not told:
            feedback.pushInfo("Another sync of this layer with this map is running; waiting for it to end")
            told = True
    try:
        yield
    finally:
        lock.release()


def sync_layer(applier, place, source, features, key_field, parameters, feedback, new_map_title=None):
    """Sync the features of a source with its map; returns (rows, counts, link). Parameters are remembered in the
    link so the same sync can run again from the layer's menu."""
    with one_at_a_time(place, applier.service, applier.map_id or new_map_title, feedback):
        return _sync_layer(applier, place, source, features, key_field, parameters, feedback, new_map_title)


def _sync_layer(applier, place, source, features, key_field, parameters, feedback, new_map_title):
    with LinkStore(place.store_path) as store:
        link = find_link(store, place, applier.service, applier.map_id, key_field, new_map_title)
        if link.map_id and not applier.map_id:
            applier.use_map(link.map_id)
            feedback.pushInfo(f"{applier.title}: syncing with map {link.map_id}, made earlier for "
                              f"'{new_map_title}'")
        link.parameters = {k: v for k, v in parameters.items() if v not in (None, "", [])}
        fingerprint = Fingerprinter(applier.fingerprint_settings(), applier.fingerprint_columns())
        scan = Scan(KeyReader(source.fields(), key_field), fingerprint,
                    applier.layer_of if applier.uses_layers else None)
        feedback.pushInfo(f"{applier.title}: the link is kept {place.describe()}")
        rows, tally = run_sync(applier, store, link, scan, features, feedback, source.fields())
        if link.map_id:
            link.parameters["MAP_ID"] = link.map_id
            link.parameters.update(applier.remembered())
            store.save_link(link)
    return rows, tally, link
