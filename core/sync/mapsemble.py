"""Sync with a Mapsemble map: DELETE what left, PUT what changed, POST what is new, in batches.

Sending goes through push's MapsemblePush (batches, two requests in flight, retries, checks after an unknown
outcome); the sync tells it which features are ours instead of letting it list the whole map first.
A 404 to a PUT or DELETE is about the map or about some of its features (the docs do not say which, nor whether a
service refuses a whole batch for one missing feature): the map is looked up once, then the batch is split until
the missing features are found; a PUT of one becomes a create, a DELETE of one counts as deleted.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from ...api.errors import ServiceError
from ...api.mapsemble import MAX_PAGE_SIZE
from ..push.choices import METHOD_CREATE, METHOD_DELETE, METHOD_REPLACE
from ..push.failures import short
from ..push.job import pending
from ..push.mapsemble import BUCKET, MapsemblePush, count_of, fingerprint, ids_of
from ..push.payloads import MapsemblePayloads
from ..push.values import sendable_field_names
from .applier import Applier, pending_info
from .choices import CREATED, DELETED, FAILED, UPDATED
from .items import CREATE, DELETE, UPDATE
from .remote import MapCheck, map_gone
from .sending import SyncJobMixin, send_items


REMEMBERED_REMOTE_FIELD = "remote_field"      # lower case: no algorithm parameter has this name


def map_check(client, map_id):
    """The one-time check whether a Mapsemble map still exists."""
    def exists():
        try:
            client.get_map(map_id)
        except ServiceError as exc:
            if exc.status not in (404, 405, 501):
                raise
            # Assumption: GET /maps/{id} is not in the docs (its 404 may mean no such route); the list of maps
            # decides.
            return any(isinstance(entry, dict) and str(entry.get("id")) == map_id for entry in client.list_maps())
        return True

    return MapCheck(exists, BUCKET)


class MapsembleWrites(SyncJobMixin, MapsemblePush):
    """One phase of a Mapsemble sync (POST, PUT or DELETE) about features the sync already knows."""

    def __init__(self, client, feedback, map_id, method, map_info, remote_key, linked, check):
        super().__init__(client, feedback, map_id, method)
        self.map_info = map_info
        self.remote_key = remote_key
        self.map_check = check
        # The features of the link stand for the map as it was: no listing of the whole map before sending.
        self.snapshot = {"ids": set(linked), "remote": {}}
        self.snapshot_taken = True

    def existed(self, item):
        """Updates and deletes are about the linked feature; creates about none."""
        return getattr(item, "target", None)

    def fatal_error(self, exc):
        if isinstance(exc, ServiceError) and exc.status == 404:
            return map_gone(self.service, self.map_id, exc)
        return exc

    def handle_error(self, batch, exc, attempt, split=False):
        """A 404 to a PUT or DELETE: the map is gone (the clear error), or features of the batch are."""
        if not (isinstance(exc, ServiceError) and exc.status == 404 and self.verb in ("PUT", "DELETE")):
            super().handle_error(batch, exc, attempt, split)
            return
        if not self.map_check(self.paced):
            raise map_gone(self.service, self.map_id, exc)
        batch = pending(batch)
        if len(batch) == 1:
            self.feature_gone(batch[0])
            return
        # Halves until the missing ones stand alone: a batch without them goes through at once.
        half = len(batch) // 2
        self.send_batch(batch[:half], attempt, split=True)
        self.send_batch(batch[half:], attempt, split=True)

    def feature_gone(self, item):
        """The feature of an update or delete is no longer on the map (someone else deleted it)."""
        if self.verb == "DELETE":
            item.note, item.absent = "it was already gone from Mapsemble", True
            item.done(DELETED, remote_id=item.target)
            return
        # Created again with the creates that follow (its status stays open until then).
        item.note = "it had been deleted on Mapsemble; created again"
        item.action, item.target = CREATE, None
        item.payload.pop("id", None)

    def mark_done(self, batch, answer):
        if self.verb == "DELETE":
            deleted = count_of(answer, "deleted")
            if deleted is not None and deleted < len(batch):
                self.check_deletes(batch, deleted)
                return
            for item in batch:
                item.done(DELETED, remote_id=item.target)
            return
        ids = ids_of(answer, len(batch))
        for i, item in enumerate(batch):
            fid = ids[i] if ids else None
            fid = str(fid) if fid is not None else None
            if self.verb == "POST":
                if fid is None:
                    # No id in the answer: the link keeps it pending and the next sync finds it on the map.
                    self.unknown_prints[fingerprint(item.payload)] += 1
                else:
                    self.known_ids.add(fid)
                item.done(CREATED, remote_id=fid)
                continue
            fid = fid or item.target
            self.known_ids.add(fid)
            if fid != item.target:
                # The service made a new feature: the one we linked had been deleted there.
                item.note = "it had been deleted on Mapsemble; created again"
                item.done(CREATED, remote_id=fid)
            else:
                item.done(UPDATED, remote_id=fid)


    def check_deletes(self, batch, deleted):
        """The service deleted fewer than asked: those still on the map failed, the others are gone."""
        said = f"Mapsemble answered that {deleted} of the {len(batch)} features of the request were deleted"
        try:
            present = {str(f.get("id")) for f in self._list_features() if f.get("id") is not None}
        except ServiceError as exc:
            for item in batch:
                item.done(FAILED, remote_id=item.target,
                          error=f"{said}, and the map could not be listed to tell which ({short(exc)}); the next "
                                f"sync tries again")
            return
        for item in batch:
            if str(item.target) in present:
                item.done(FAILED, remote_id=item.target,
                          error=f"{said}; this one is still on the map (the next sync tries again)")
            else:
                item.done(DELETED, remote_id=item.target)


class MapsembleSync(Applier):
    """A layer kept in step with a Mapsemble map."""

    service = "mapsemble"
    page_size = MAX_PAGE_SIZE

    def __init__(self, client, feedback, map_id, fields, crs, transform_context, label_field, field_names=None,
                 key_field=None, generated=()):
        super().__init__(client, feedback, map_id)
        self.key_field = key_field or None
        if not field_names:
            # All fields but those the data source makes up (a GeoPackage's fid): they are no data of the feature.
            field_names = [name for name in sendable_field_names(fields) if name not in set(generated)] or None
        self.fields, self.crs, self.transform_context = fields, crs, transform_context
        self.label_field, self.field_names = label_field, field_names
        # The builder the fingerprints are taken for; the one that sends is made once the map's settings are read.
        self.builder = MapsemblePayloads(fields, crs, transform_context, METHOD_CREATE, label_field, field_names)
        self.sender_builder = None
        self.map_info = None
        self.remote_key = None
        self.map_check = map_check(client, map_id)

    # -- what shapes a feature's payload ---------------------------------------------------------------
    def fingerprint_settings(self):
        """Everything besides the feature itself that its payload depends on."""
        settings = {"service": self.service, "label": self.label_field, "fields": self.builder.names,
                    "crs": self.crs.authid() or self.crs.toWkt()}
        if self.key_field:
            # A map that gained (or lost) a remoteField: every feature is sent again, now with (or without) its key.
            # A preview (no client, no request) takes the remote field the last sync found.
            if self.client is not None:
                self.prepare()
            settings["remote_key"] = self.remote_key
        return settings

    def recall(self, remembered):
        """A preview: what the last sync found out about the map (its remote field)."""
        if self.client is None and self.key_field:
            self.remote_key = remembered.get(REMEMBERED_REMOTE_FIELD) or None

    def remembered(self):
        """What the link keeps of this sync besides its parameters: the map's remote field, when it was read."""
        return {REMEMBERED_REMOTE_FIELD: self.remote_key} if self.key_field and self.map_info is not None else {}

    def fingerprint_columns(self):
        """The attribute columns the payload is made of."""
        columns = [index for index, _ in self.builder.columns]
        if self.builder.label_index >= 0:
            columns.append(self.builder.label_index)
        return columns

    # -- the map ----------------------------------------------------------------------------------------
    def _paced(self, call):
        job = MapsemblePush(self.client, self.feedback, self.map_id)
        return job.paced(call, "request")

    def count(self):
        return self._paced(lambda: self.client.count_features(self.map_id))

    def listing(self):
        job = MapsemblePush(self.client, self.feedback, self.map_id)
        return job._list_features()

    def prepare(self):
        """The map's settings: with a remoteField and a KEY_FIELD, creates are upserts by the key."""
        if self.map_info is not None:
            return
        job = MapsemblePush(self.client, self.feedback, self.map_id)
        self.map_info = job.prepare()
        self.remote_key = job.remote_key if self.key_field else None
        self.sender_builder = MapsemblePayloads(
            self.fields, self.crs, self.transform_context, METHOD_CREATE, self.label_field, self.field_names,
            remote_id_field=self.key_field if self.remote_key else None, remote_key=self.remote_key)
        if self.remote_key:
            self.info(f"the map has the remote field '{self.remote_key}': new features carry their key there, "
                      f"so sending one again updates it instead of making a second")

    # -- payloads ---------------------------------------------------------------------------------------
    def payload(self, item):
        self.prepare()
        out = self.sender_builder(item.feature)
        if item.action == UPDATE:
            out["id"] = item.target
        return out

    def delete_payload(self, item):
        """The feature by its id, and by its key in the map's remoteField when it has one (with a KEY_FIELD)."""
        self.prepare()
        properties = {self.remote_key: item.key} if self.remote_key else {}
        return {"type": "Feature", "id": item.target, "geometry": None, "properties": properties}

    def match_info(self, item):
        if self.remote_key:
            return {"remote": (item.payload.get("properties") or {}).get(self.remote_key)}
        return {"print": fingerprint(item.payload)}

    def adopt(self, pending, listing, linked):
        self.prepare()
        by_remote, by_print = {}, defaultdict(list)
        for feature in listing:
            fid = self.remote_id(feature)
            if fid is None or fid in linked:
                continue
            properties = feature.get("properties") or {}
            if self.remote_key and properties.get(self.remote_key) not in (None, ""):
                by_remote.setdefault(str(properties[self.remote_key]), fid)
            by_print[fingerprint(feature)].append(fid)
        found, claimed = {}, Counter()
        for entry in pending:
            info = pending_info(entry.pending)
            fid = None
            if info.get("remote") not in (None, ""):
                fid = by_remote.get(str(info["remote"]))
            elif info.get("print") in by_print:
                candidates = [c for c in by_print[info["print"]] if not claimed[c]]
                fid = candidates[0] if candidates else None
            if fid is not None and not claimed[fid]:
                claimed[fid] += 1
                found[entry.key] = fid
        return found

    # -- sending ----------------------------------------------------------------------------------------
    def prepare_to_send(self, keeper):
        self.prepare()

    def apply(self, creates, changed, keeper):
        linked = {entry.remote_id for entry in keeper.entries.values() if entry.remote_id}
        deletes = [item for item in changed if item.action == DELETE]
        updates = [item for item in changed if item.action != DELETE]
        self._send(METHOD_DELETE, deletes, linked, keeper)
        self._send(METHOD_REPLACE, updates, linked, keeper)
        gone = [item for item in updates if item.action == CREATE and item.pending]
        if gone:
            keeper.journal(gone)
        self._send(METHOD_CREATE, creates + gone, linked, keeper)

    def _send(self, method, items, linked, keeper):
        if items:
            job = MapsembleWrites(self.client, self.feedback, self.map_id, method, self.map_info, self.remote_key,
                                  linked, self.map_check)
            send_items(job, items, self.feedback, keeper.flush)

