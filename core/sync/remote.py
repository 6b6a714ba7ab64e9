"""Is the map still as the last sync left it? One cheap count in the common case; a full listing only when the
count moved, when an earlier sync was interrupted, or on the first sync of a link that lost its count."""

from __future__ import annotations

from ...api.errors import MapbridgeError, ServiceError, service_title

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


class RemoteState:
    """What the check found: remote ids gone from the map, the listing (when one was needed), the map's size."""

    def __init__(self, total=None, listing=None, missing=frozenset()):
        self.total = total
        self.listing = listing
        self.missing = missing


def check_remote(applier, link, entries, feedback):
    """RemoteState of the map; raises the clear error when the map is gone or emptied."""
    linked = {entry.remote_id for entry in entries.values() if entry.remote_id}
    pending = any(entry.pending for entry in entries.values())
    try:
        total = applier.count()
    except ServiceError as exc:
        if exc.status == 404:
            raise map_gone(applier.service, applier.map_id, exc) from None
        raise
    if linked and total == 0:
        raise map_emptied(applier.service, applier.map_id, len(linked))
    moved = total is None or link.remote_total is None or total != link.remote_total
    if not pending and not (linked and moved):
        return RemoteState(total)
    why = "an earlier sync was interrupted" if pending else "the map changed since the last sync"
    feedback.pushInfo(f"{service_title(applier.service)}: {why}; reading the map to compare")
    listing = applier.listing()
    ids = {applier.remote_id(remote) for remote in listing}
    missing = frozenset(linked - ids)
    if linked and len(missing) == len(linked):
        raise map_emptied(applier.service, applier.map_id, len(linked))
    if missing:
        feedback.pushInfo(f"{service_title(applier.service)}: {len(missing):,} synced features were deleted on "
                          f"the map by someone else; they are created again")
    return RemoteState(len(listing), listing, missing)
