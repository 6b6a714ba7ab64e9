"""Sync with a Mapsemble map: DELETE what left, PUT what changed, POST what is new, in batches.

Sending goes through push's MapsemblePush (batches, two requests in flight, retries, checks after an unknown
outcome); the sync tells it which features are ours instead of letting it list the whole map first.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from ..push.choices import METHOD_CREATE, METHOD_DELETE, METHOD_REPLACE
from ..push.mapsemble import MapsemblePush, fingerprint, ids_of
from ..push.payloads import MapsemblePayloads
from ..push.values import sendable_field_names
from .applier import Applier, pending_info
from .choices import CREATED, UPDATED
from .items import DELETE, UPDATE
from .sending import SyncJobMixin, send_items


class MapsembleWrites(SyncJobMixin, MapsemblePush):
    """One phase of a Mapsemble sync (POST, PUT or DELETE) about features the sync already knows."""

    def __init__(self, client, feedback, map_id, method, map_info, remote_key, linked):
        super().__init__(client, feedback, map_id, method)
        self.map_info = map_info
        self.remote_key = remote_key
        # The features of the link stand for the map as it was: no listing of the whole map before sending.
        self.snapshot = {"ids": set(linked), "remote": {}}
        self.snapshot_taken = True

    def existed(self, item):
        """Updates and deletes are about the linked feature; creates about none."""
        return getattr(item, "target", None)

    def mark_done(self, batch, answer):
        if self.verb == "DELETE":
            super().mark_done(batch, answer)
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


class MapsembleSync(Applier):
    """A layer kept in step with a Mapsemble map."""

    service = "mapsemble"

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

    # -- what shapes a feature's payload ---------------------------------------------------------------
    def fingerprint_settings(self):
        """Everything besides the feature itself that its payload depends on."""
        return {"service": self.service, "label": self.label_field, "fields": self.builder.names,
                "crs": self.crs.authid() or self.crs.toWkt()}

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
        return {"type": "Feature", "id": item.target, "geometry": None, "properties": {}}

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
        for method, items in ((METHOD_DELETE, deletes), (METHOD_REPLACE, updates), (METHOD_CREATE, creates)):
            if items:
                job = MapsembleWrites(self.client, self.feedback, self.map_id, method, self.map_info,
                                      self.remote_key, linked)
                send_items(job, items, self.feedback, keeper.flush)

