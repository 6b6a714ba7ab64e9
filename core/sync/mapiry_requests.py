"""Mapiry's one-location requests of a sync (PUT and DELETE of a location, PUT of its layer memberships), sent
through push's job machinery: a few in flight, general rate limit waited for, retries; all of them may be sent
again safely. A 404 about the location (not the map) means someone else deleted it."""

from __future__ import annotations

from ...api.errors import ServiceError
from ...api.mapiry import BUCKET_GENERAL
from ..push.items import PushItem
from ..push.job import PushJob
from ..push.mapiry import BUCKET_NAMES
from .choices import CREATED, DELETED, FAILED, UPDATED
from .items import CREATE
from .remote import map_gone

IN_FLIGHT = 4               # one-location requests are small: a few at once while the rate limit leaves room


class LocationRequests(PushJob):
    """One request per location; subclasses say which and what an answer or a missing location means."""

    service = "mapiry"
    nouns = ("location", "locations")
    batch_size = 1
    max_in_flight = IN_FLIGHT
    send_buckets = (BUCKET_GENERAL,)
    bucket_names = BUCKET_NAMES

    def __init__(self, client, feedback, map_id, map_check):
        super().__init__(client, feedback)
        self.map_id = map_id
        self.map_check = map_check

    def call(self, item):
        """The client call for one item."""
        raise NotImplementedError

    def location_gone(self, item):
        """The location was not found on the map (the map itself is there)."""
        raise NotImplementedError

    def request(self, batch, attempt, split):
        item = batch[0]
        item.attempted = True
        return self.paced(lambda: self.call(item), BUCKET_GENERAL)

    def rate_state(self, bucket):
        return self.client.rate_limit(bucket)

    def resend_is_safe(self, batch):
        return True

    def keys(self, batch):
        return [item.target for item in batch]

    def handle_error(self, batch, exc, attempt, split=False):
        if isinstance(exc, ServiceError) and exc.status == 404 and self.map_check(self.paced):
            for item in batch:
                self.location_gone(item)
            self.advance(len(batch))
            return
        super().handle_error(batch, exc, attempt, split)

    def fatal_error(self, exc):
        if isinstance(exc, ServiceError) and exc.status == 404:
            return map_gone(self.service, self.map_id, exc)
        return exc


class LocationUpdates(LocationRequests):
    """PUT /maps/:mapId/locations/:locId with the feature's location fields."""

    null_refused = False        # the service refused a null description once: "" clears it from then on

    def call(self, item):
        payload = item.payload
        if self.null_refused and payload.get("description", "") is None:
            payload["description"] = ""
        try:
            return self.client.update_location(self.map_id, item.target, payload)
        except ServiceError as exc:
            # Assumption: the docs do not say how a description is cleared; null is sent first (a partial update's
            # usual way), and when refused as invalid (400) the empty text instead.
            if exc.status != 400 or payload.get("description", "") is not None:
                raise
            self.null_refused = True
            payload["description"] = ""
            return self.client.update_location(self.map_id, item.target, payload)

    def mark_done(self, batch, answer):
        for item in batch:
            item.done(UPDATED, remote_id=item.target)

    def location_gone(self, item):
        # Created again with the creates that follow (its status stays open until then).
        item.note = "it had been deleted on Mapiry; created again"
        item.action, item.target = CREATE, None
        if item.payload.get("description", "") is None:
            del item.payload["description"]


class LocationDeletes(LocationRequests):
    """DELETE /maps/:mapId/locations/:locId."""

    def call(self, item):
        return self.client.delete_location(self.map_id, item.target)

    def mark_done(self, batch, answer):
        for item in batch:
            item.done(DELETED, remote_id=item.target)

    def location_gone(self, item):
        item.note, item.absent = "it was already gone from Mapiry", True
        item.done(DELETED, remote_id=item.target)


class Membership(PushItem):
    """The layer membership of one synced location (its owner: the SyncItem of the feature)."""

    __slots__ = ("owner", "target", "attempted")

    def __init__(self, owner, layer_ids):
        super().__init__(owner.index, None, list(layer_ids))
        self.owner = owner
        self.target = owner.remote_id or owner.target
        self.attempted = False


class LocationLayers(LocationRequests):
    """PUT /maps/:mapId/locations/:locId/layers: the location's layers become exactly the given ones."""

    def call(self, item):
        return self.client.set_location_layers(self.map_id, item.target, item.payload)

    def mark_done(self, batch, answer):
        for item in batch:
            item.done(UPDATED, remote_id=item.target)

    def location_gone(self, item):
        item.done(FAILED, error="the location is no longer on the map")


def memberships_done(memberships):
    """Settle each owner from its membership: re-layered ones by the outcome, others get a note when it failed."""
    arrived = []
    for membership in memberships:
        owner, ok = membership.owner, membership.status == UPDATED
        if ok:
            arrived.append(owner)
        reason = membership.error or "not sent"
        if owner.pending:           # only its layer changed: the membership is the whole update
            if ok:
                owner.done(UPDATED, remote_id=owner.target)
            elif membership.status == FAILED:
                owner.done(FAILED, error=f"not put in layer '{owner.layer}': {reason}"
                           if owner.layer else f"not taken out of its layer: {reason}")
        elif not ok and owner.status in (CREATED, UPDATED):
            note = f"not put in layer '{owner.layer}': {reason}; the next sync tries again"
            owner.error = f"{owner.error}; {note}" if owner.error else note
    return arrived

