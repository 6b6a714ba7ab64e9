"""Is the map still as the last sync left it? One cheap count in the common case of a large map; a full listing when
the map is small (a page or two), when the count moved, when an earlier sync was interrupted, when the last full
check is over a day old, or on the first sync of a link that lost its count.

The count alone misses a feature deleted by someone else while another was added: small maps are therefore always
listed (one or two requests), and large ones at least once a day."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from ...api.errors import MapbridgeError, ServiceError, service_title

SMALL_PAGES = 2                         # a map of at most this many listing pages is listed at every sync
CHECK_EVERY = timedelta(days=1)         # a larger map is listed when its last full check is older than this

UNLINK_HINT = ("Right-click the layer ▸ Unlink from {title} to forget the link, then sync again (to this map or "
               "another one)")


def map_gone(service, map_id, exc=None):
    """The error of a link whose map no longer exists."""
    title = service_title(service)
    return MapbridgeError(f"the map '{map_id}' this layer is synced with no longer exists on {title}",
                          service=service, details=getattr(exc, "details", None),
                          hint=UNLINK_HINT.format(title=title))


def map_emptied(service, map_id, linked):
    """The error of a link whose map holds none of the features synced to it."""
    title = service_title(service)
    return MapbridgeError(
        f"the map '{map_id}' holds none of the {linked:,} features this layer synced to it: it was emptied or "
        f"replaced on {title}. Nothing was sent", service=service, hint=UNLINK_HINT.format(title=title))


class MapCheck:
    """Whether the map still exists, asked once (after the first 404 of a request about one of its features).

    `exists()` answers True or False (raising other errors); it runs through the job's `paced(call, bucket)`."""

    def __init__(self, exists, bucket):
        self.exists_call = exists
        self.bucket = bucket
        self.lock = threading.Lock()
        self.exists = None

    def __call__(self, paced):
        with self.lock:
            if self.exists is None:
                self.exists = bool(paced(self.exists_call, self.bucket))
            return self.exists


def checked_recently(link, now=None):
    """True when the link's last full check of the map is less than CHECK_EVERY old."""
    try:
        when = datetime.fromisoformat((link.checked or "").replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (now or datetime.now(timezone.utc)) - when < CHECK_EVERY


class RemoteState:
    """What the check found: remote ids gone from the map, the listing (when one was needed), the map's size."""

    def __init__(self, total=None, listing=None, missing=frozenset()):
        self.total = total
        self.listing = listing
        self.missing = missing


def check_remote(applier, link, entries, feedback, now_iso):
    """RemoteState of the map; raises the clear error when the map is gone or emptied. Sets link.checked when the
    map was listed (or when nothing was linked yet, so nothing could be missing)."""
    linked = {entry.remote_id for entry in entries.values() if entry.remote_id}
    pending = any(entry.pending for entry in entries.values())
    small = SMALL_PAGES * applier.page_size
    title = service_title(applier.service)
    try:
        if linked and not pending and link.remote_total is not None and link.remote_total <= small:
            # Small the last time: the listing is about as cheap as the count, and it also tells the count.
            return _listed(applier, link, linked, _list(applier), feedback, now_iso)
        total = applier.count()
    except ServiceError as exc:
        if exc.status == 404:
            raise map_gone(applier.service, applier.map_id, exc) from None
        raise
    if linked and total == 0:
        raise map_emptied(applier.service, applier.map_id, len(linked))
    if not linked:
        link.checked = now_iso()
        if not pending:
            return RemoteState(total)
    moved = total is None or link.remote_total is None or total != link.remote_total
    if pending:
        why = "an earlier sync was interrupted"
    elif moved:
        why = "the map changed since the last sync"
    elif total <= small:
        why = None                  # small: always compared, nothing to say
    elif not checked_recently(link):
        why = "its last full check is over a day old"
    else:
        return RemoteState(total)
    if why:
        feedback.pushInfo(f"{title}: {why}; reading the map to compare")
    try:
        listing = _list(applier)
    except ServiceError as exc:
        if exc.status == 404:
            raise map_gone(applier.service, applier.map_id, exc) from None
        raise
    if total is not None and len(listing) < total:
        # Features missing from a short listing would be taken for deleted and sent again: never on a guess.
        raise ServiceError(f"the map {applier.map_id} holds {total:,} features but its listing gave {len(listing):,}; "
                           "nothing was sent", service=applier.service,
                           hint="Run the sync again; if it says so again, the service's listing is incomplete")
    return _listed(applier, link, linked, listing, feedback, now_iso)


def _list(applier):
    return applier.listing() if applier.map_id else []


def _listed(applier, link, linked, listing, feedback, now_iso):
    """RemoteState of a full listing: which linked features are missing (the error when all are)."""
    ids = {applier.remote_id(remote) for remote in listing}
    missing = frozenset(linked - ids)
    if linked and len(missing) == len(linked):
        raise map_emptied(applier.service, applier.map_id, len(linked))
    if missing:
        feedback.pushInfo(f"{service_title(applier.service)}: {len(missing):,} synced features were deleted on "
                          f"the map by someone else; they are created again")
    link.checked = now_iso()
    return RemoteState(len(listing), listing, missing)
