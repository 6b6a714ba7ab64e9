"""Sync with a Mapiry map: DELETE and PUT location by location, bulk-create what is new (100 a request), and put
each location in its layer (PUT memberships; layers created when missing).

New locations go through push's MapiryPush (bulk limit waited for, bad locations isolated, an unknown outcome
checked on the map); the sync tells it which locations are ours instead of letting it list the map first.
"""

from __future__ import annotations


from ...api.errors import MapbridgeError, ServiceError
from ...api.mapiry import BUCKET_GENERAL, MAX_PAGE_SIZE
from ..push.failures import outcome_unknown
from ..push.mapiry import LocationIndex, MapiryPush
from ..push.payloads import MapiryPayloads
from ..push.values import text_value
from .applier import Applier, pending_info
from .choices import CREATED, UPDATED
from .items import CREATE, DELETE, RELAYER, UPDATE
from .mapiry_requests import LocationDeletes, LocationLayers, LocationUpdates, Membership, memberships_done
from .remote import MapCheck
from .sending import SyncJobMixin, send_items


def map_check(client, map_id):
    """The one-time check whether a Mapiry map still exists (GET /maps/:mapId; 404 = gone)."""
    def exists():
        try:
            client.get_map(map_id)
        except ServiceError as exc:
            if exc.status != 404:
                raise
            return False
        return True

    return MapCheck(exists, BUCKET_GENERAL)


class LocationCreates(SyncJobMixin, MapiryPush):
    """Bulk creation of a sync's new locations; the link's locations are never taken for one of them."""

    def __init__(self, client, feedback, map_id, linked):
        super().__init__(client, feedback, map_id=map_id)
        self.claimed = set(linked)


class MapirySync(Applier):
    """A layer kept in step with a Mapiry map."""

    service = "mapiry"
    page_size = MAX_PAGE_SIZE

    def __init__(self, client, feedback, map_id, fields, crs, transform_context, name_field, description_field=None,
                 geometry_mode=0, layer_field=None, new_map_title=None):
        super().__init__(client, feedback, map_id or None)
        self.new_map_title = new_map_title or None
        self.crs = crs
        self.builder = MapiryPayloads(fields, crs, transform_context, name_field, description_field, geometry_mode)
        self.name_field, self.description_field = name_field, description_field or None
        self.geometry_mode = geometry_mode
        self.layer_field = layer_field or None
        self.layer_index = -1
        if self.layer_field:
            self.layer_index = fields.lookupField(self.layer_field)
            if self.layer_index < 0:
                raise MapbridgeError(f"the layer field '{self.layer_field}' is not a field of the input layer",
                                     service=self.service, hint="Choose a field of the layer you sync (LAYER_FIELD)")
        self.uses_layers = self.layer_index >= 0
        self.pacer = MapiryPush(client, feedback, map_id=map_id)
        self.map_check = map_check(client, map_id)

    # -- what shapes a feature's payload ---------------------------------------------------------------
    def fingerprint_settings(self):
        return {"service": self.service, "name": self.name_field, "description": self.description_field,
                "mode": self.geometry_mode, "crs": self.crs.authid() or self.crs.toWkt()}

    def fingerprint_columns(self):
        return [i for i in (self.builder.name_index, self.builder.description_index) if i >= 0]

    def layer_of(self, values):
        """The Mapiry layer a feature belongs in (its LAYER_FIELD value), or None."""
        return text_value(values[self.layer_index]) or None

    # -- the map ----------------------------------------------------------------------------------------
    def paced(self, call):
        return self.pacer.paced(call, BUCKET_GENERAL)

    def count(self):
        if not self.map_id:
            return 0            # the map is made when the first location is sent
        return self.paced(lambda: self.client.count_locations(self.map_id))

    def listing(self):
        return self.pacer._list_locations() if self.map_id else []

    def use_map(self, map_id):
        self.map_id = self.pacer.map_id = map_id
        self.map_check = map_check(self.client, map_id)

    def create_map(self, keeper):
        """Create the map of NEW_MAP_TITLE and note it in the link before anything is sent to it."""
        self.pacer.new_map_title = self.new_map_title
        self.use_map(self.pacer.prepare())
        keeper.link.map_id = self.map_id
        keeper.store.save_link(keeper.link)

    # -- payloads ---------------------------------------------------------------------------------------
    def payload(self, item):
        if item.action == RELAYER:
            return {}
        location = self.builder(item.feature)
        if item.action == UPDATE and self.description_field and "description" not in location:
            location["description"] = None          # a PUT changes only what it names: clear the old one
        return location

    def match_info(self, item):
        return {"name": item.payload["name"], "lat": item.payload["lat"], "lng": item.payload["lng"]}

    def adopt(self, pending, listing, linked):
        index = LocationIndex(loc for loc in listing if self.remote_id(loc) not in linked)
        found = {}
        for entry in pending:
            info = pending_info(entry.pending)
            if not all(k in info for k in ("name", "lat", "lng")):
                continue
            loc_id = index.claim(info)
            if loc_id:
                found[entry.key] = str(loc_id)
        return found

    # -- sending ----------------------------------------------------------------------------------------
    def prepare_to_send(self, keeper):
        if not self.map_id:
            self.create_map(keeper)

    def apply(self, creates, changed, keeper):
        linked = {entry.remote_id for entry in keeper.entries.values() if entry.remote_id}
        deletes = [item for item in changed if item.action == DELETE]
        updates = [item for item in changed if item.action == UPDATE]
        relayers = [item for item in changed if item.action == RELAYER]
        self._send(LocationDeletes(self.client, self.feedback, self.map_id, self.map_check), deletes, keeper)
        self._send(LocationUpdates(self.client, self.feedback, self.map_id, self.map_check), updates, keeper)
        gone = [item for item in updates if item.action == CREATE and item.pending]
        if gone:
            keeper.journal(gone)
            creates = creates + gone
        self._send(LocationCreates(self.client, self.feedback, self.map_id, linked), creates, keeper)
        if self.uses_layers:
            self._set_layers(creates, updates, relayers, keeper)

    def _send(self, job, items, keeper):
        if items:
            send_items(job, items, self.feedback, keeper.flush)

    def _set_layers(self, creates, updates, relayers, keeper):
        """Put created and changed locations in their layer (only where it changed)."""
        owners = [i for i in creates if i.status == CREATED and i.remote_id and i.layer]
        owners += [i for i in updates if i.status == UPDATED and (i.entry.layer or None) != (i.layer or None)]
        owners += [i for i in relayers if i.pending]
        if not owners:
            return
        layer_ids = self.ensure_layers({i.layer for i in owners if i.layer})
        memberships = [Membership(owner, [layer_ids[owner.layer]] if owner.layer else []) for owner in owners]
        try:
            self._send(LocationLayers(self.client, self.feedback, self.map_id, self.map_check), memberships, keeper)
        finally:
            keeper.layers_set([owner for owner in memberships_done(memberships) if owner.action != RELAYER])

    def ensure_layers(self, names):
        """{name: layer id} of the map's layers, created when missing (looked for first after an unknown outcome)."""
        known = self._layers()
        for name in sorted(names - set(known)):
            try:
                created = self.paced(lambda n=name: self.client.create_layer(self.map_id, n))
            except ServiceError as exc:
                if not outcome_unknown(exc):
                    raise
                self.info(f"no answer while creating the layer '{name}'; looking for it on the map")
                known = self._layers()
                if name in known:
                    continue
                created = self.paced(lambda n=name: self.client.create_layer(self.map_id, n))
            if not isinstance(created, dict) or created.get("id") is None:
                raise MapbridgeError(f"the answer to creating the layer '{name}' has no id", service=self.service,
                                     details=str(created)[:500])
            known[name] = str(created["id"])
            self.info(f"created the layer '{name}'")
        return known

    def _layers(self):
        layers = self.paced(lambda: self.client.list_layers(self.map_id))
        return {str(layer.get("name") or "").strip(): str(layer["id"]) for layer in layers
                if layer.get("id") is not None}
