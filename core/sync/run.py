"""Run a sync: read the link, compare, send only what changed, write each answer into the link as it comes.

Every input feature gets a row (plus one per remote feature deleted), whatever happens. Creates are written to the
link as pending before they are sent, so a sync that dies half-way is finished by the next one without duplicates.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from ...api.errors import CancelledError, MapbridgeError, service_title
from ..log import log_exception
from ..push.geometry import SkipFeature
from .choices import CREATED, DELETED, NOT_SENT, SKIPPED, UNCHANGED, UPDATED
from .items import ARRIVED, CREATE, DELETE, RELAYER, UPDATE, counts, describe_counts, failed_reasons, not_sent, \
    skip_reasons
from .plan import deleted_rows, plan
from .remote import check_remote
from .store import Entry

FLUSH_SECONDS = 1.0          # a crash loses at most this much of the link's news; the next sync re-checks it


def now_iso():
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class LinkKeeper:
    """Writes the outcome of settled items into the link a few at a time (in the job's thread, never a sender's)."""

    def __init__(self, store, link, entries, applier, feedback):
        self.store = store
        self.link = link
        self.entries = entries
        self.applier = applier
        self.feedback = feedback
        self.watched = []
        self.total = 0
        self.settled = 0
        self.last = time.monotonic()

    def journal(self, creates):
        """Before anything is sent: each create as a pending entry holding what identifies it on the map."""
        upserts = []
        for item in creates:
            entry = self.entries.get(item.key) or Entry(item.key)
            entry.remote_id, entry.fp, entry.layer = None, item.fp, None
            entry.pending = json.dumps(self.applier.match_info(item), sort_keys=True)
            self.entries[item.key] = entry
            upserts.append(entry)
        self.store.write(self.link, upserts)

    def watch(self, items):
        """Items whose outcome goes into the link once known."""
        self.watched.extend(items)
        self.total += len(items)

    def layers_set(self, items):
        """These items are now in their layer on the map."""
        self.flush(force=True)          # their entries first get the ids they were created with
        upserts = []
        for item in items:
            entry = self.entries.get(item.key)
            if entry is not None and entry.remote_id:
                entry.layer = item.layer
                upserts.append(entry)
        self.store.write(self.link, upserts)

    def flush(self, force=False):
        """Write what settled since the last flush (at most every FLUSH_SECONDS unless forced); set the progress."""
        now = time.monotonic()
        if not force and now - self.last < FLUSH_SECONDS:
            return
        self.last = now
        upserts, removals, left = [], [], []
        for item in self.watched:
            if item.status is None:
                left.append(item)
            else:
                self.settled += 1
                self._settle(item, upserts, removals)
        self.watched = left
        self.store.write(self.link, upserts, removals)
        if self.total:
            self.feedback.setProgress(100.0 * self.settled / self.total)

    def _settle(self, item, upserts, removals):
        entry = self.entries.get(item.key)
        if item.action == DELETE:
            if item.status == DELETED and entry is not None:
                removals.append(self.entries.pop(item.key))
            return
        if item.status in (CREATED, UPDATED) and item.remote_id:
            entry = entry or Entry(item.key)
            self.entries[item.key] = entry
            entry.remote_id, entry.fp, entry.pending = item.remote_id, item.fp, None
            if item.action == RELAYER:
                entry.layer = item.layer
            upserts.append(entry)
            return
        if item.action != CREATE or entry is None or not entry.pending:
            return              # an update that did not arrive: its old fingerprint makes the next sync retry
        if item.status == CREATED or item.uncertain or (item.attempted and item.status == NOT_SENT):
            return              # stays pending: the next sync looks for it on the map before sending it again
        removals.append(self.entries.pop(item.key))     # certainly not on the map


def run_sync(applier, store, link, scan, features, feedback, source_fields):
    """Scan, compare, send and keep the link; returns (items in report order, counts).

    Raises only when nothing arrived at all (e.g. a wrong token on the first request); a failure part-way is told
    through feedback.reportError and the rows that were not sent.
    """
    title = service_title(applier.service)
    if feedback.isCanceled():
        raise CancelledError()
    entries = store.entries(link)
    items = scan(features, feedback.isCanceled)     # the algorithm runs the whole job under quiet_gc()
    if items is None:
        raise CancelledError()
    feedback.setProgress(5.0)
    remote = check_remote(applier, link, entries, feedback, now_iso)
    keeper = LinkKeeper(store, link, entries, applier, feedback)
    adopted = _recover(applier, keeper, remote, feedback)
    deletes = plan(items, entries, remote.missing, title, layers=applier.uses_layers)
    for item in items:
        if item.key in adopted and item.status == UNCHANGED:
            # Sent by the interrupted sync and found on the map: this sync finished its job.
            item.status, item.error = CREATED, "created by an earlier sync that was interrupted; linked now"
    _settle_absent(keeper, deletes)
    _build_payloads(applier, items, deletes)
    creates = [i for i in items if i.action == CREATE and i.pending]
    changed = [i for i in items + deletes if i.action in (UPDATE, RELAYER, DELETE) and i.pending]
    rows = items + deletes
    deleted_rows(deletes, source_fields, link.key_field, len(items))
    link.remote_total = remote.total
    if creates or changed:
        feedback.pushInfo(f"{title}: {len(creates):,} to create, "
                          f"{sum(1 for i in changed if i.action in (UPDATE, RELAYER)):,} to update, "
                          f"{sum(1 for i in changed if i.action == DELETE):,} to delete")
        keeper.watch(creates + changed)
        error = None
        try:
            applier.prepare_to_send(keeper)
            keeper.journal(creates)
            applier.apply(creates, changed, keeper)
        except CancelledError:
            not_sent(rows, "not sent: cancelled")
            feedback.pushInfo(f"{title}: cancelled; the report tells which features arrived")
        except MapbridgeError as exc:
            error = exc
        except Exception as exc:  # noqa: BLE001 - the link and report must still say what arrived; logged here
            error = MapbridgeError(log_exception(exc), service=applier.service)
        if error is not None:
            not_sent(rows, f"not sent: {error.user_message()}")
        keeper.flush(force=True)
        if error is not None:
            if not any(item.status in ARRIVED for item in rows):
                _save(store, link, rows, applier, wrote=False)
                raise error
            feedback.reportError(f"{error.user_message()} The sync stopped part-way; the report tells which "
                                 f"features arrived, and syncing again finishes the job.")
        _save(store, link, rows, applier, wrote=True)
    else:
        _save(store, link, rows, applier, wrote=False)
    tally = counts(rows)
    feedback.pushInfo(f"{title}: {describe_counts(tally, with_unchanged=True)}")
    for reason, n in skip_reasons(rows).most_common(5):
        feedback.pushInfo(f"  skipped {n:,}: {reason}")
    for reason, n in failed_reasons(rows).most_common(5):
        feedback.pushInfo(f"  failed {n:,}: {reason}")
    return rows, tally


def _recover(applier, keeper, remote, feedback):
    """Creates an interrupted sync sent: linked when found on the map, forgotten (and sent again) when not."""
    pending = [entry for entry in keeper.entries.values() if entry.pending]
    if not pending:
        return set()
    linked = {entry.remote_id for entry in keeper.entries.values() if entry.remote_id}
    found = applier.adopt(pending, remote.listing or [], linked)
    upserts, removals = [], []
    for entry in pending:
        remote_id = found.get(entry.key)
        if remote_id:
            entry.remote_id, entry.pending = str(remote_id), None
            upserts.append(entry)
        else:
            removals.append(keeper.entries.pop(entry.key))
    keeper.store.write(keeper.link, upserts, removals)
    feedback.pushInfo(f"{service_title(applier.service)}: of {len(pending):,} features an interrupted sync was "
                      f"creating, {len(upserts):,} had arrived (linked now, not sent again); "
                      f"{len(removals):,} had not")
    return {entry.key for entry in upserts}


def _settle_absent(keeper, deletes):
    """Deletes of features the listing showed gone already: deleted without a request, and out of the link."""
    absent = [item for item in deletes if item.absent]
    for item in absent:
        item.done(DELETED, remote_id=item.target)
    removals = [keeper.entries.pop(item.key) for item in absent if item.key in keeper.entries]
    keeper.store.write(keeper.link, (), removals)


def _build_payloads(applier, items, deletes):
    """Payloads for what is sent; a changed feature that cannot be sent any more leaves the map."""
    for item in items:
        if item.action not in (CREATE, UPDATE, RELAYER):
            continue
        try:
            item.payload = applier.payload(item)
        except SkipFeature as skip:
            if item.action == CREATE:
                item.action = None
                item.done(SKIPPED, error=skip.reason)
            else:
                item.action, item.target = DELETE, item.entry.remote_id
                item.note = f"cannot be sent any more ({skip.reason}); deleted from the map"
                item.payload = applier.delete_payload(item)
    for item in deletes:
        if item.pending:
            item.payload = applier.delete_payload(item)


def _save(store, link, rows, applier, wrote):
    """The link's row: when it ran, what it counted, and how many features the map holds now."""
    if not link.map_id:
        return          # nothing was sent and no map was made (a new Mapiry map is made with its first location)
    link.last_sync = now_iso()
    tally = counts(rows)
    link.counts = {key.lower(): n for key, n in tally.items() if n}
    if wrote and link.remote_total is not None:
        # What this sync did to the count (no request for it): a change by someone else meanwhile makes the next
        # sync's count differ, and that sync then reads the whole map to compare.
        link.remote_total += sum(1 for item in rows if item.status == CREATED) - \
            sum(1 for item in rows if item.status == DELETED and not item.absent)
    store.save_link(link)

