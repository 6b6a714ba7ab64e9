"""Push locations to a Mapiry map: bulk ≤ 100, bad items isolated, rate limits waited out, no duplicates."""

from __future__ import annotations

from collections import defaultdict

from ..api.errors import CancelledError, MapbridgeError, ServiceError
from ..api.mapiry import BUCKET_BULK, BUCKET_GENERAL, BUCKET_MAPS, MAX_BULK
from .push_errors import RejectionGuard, fatal, item_errors, outcome_unknown, retryable, short
from .push_items import CREATED, FAILED, SKIPPED
from .push_wait import call_rate_limited, sleep_cancellable, wait_for_bucket

COORD_TOLERANCE = 1e-6          # degrees (~10 cm): a server may round what it stores
SINGLE_SEND_AT = 3              # below this many items a rejected batch is sent location by location
MAX_ATTEMPTS = 4
RETRY_PAUSES = (2.0, 5.0, 15.0)
BUCKET_NAMES = {BUCKET_GENERAL: "general", BUCKET_MAPS: "map creation", BUCKET_BULK: "bulk creation"}


class LocationIndex:
    """The map's locations by name, to find which of ours are already there (a multiset: each matches once)."""

    def __init__(self, locations=()):
        self.by_name = defaultdict(list)
        for loc in locations:
            self.add(loc)

    def add(self, loc):
        """Index one location dict of the API."""
        if not isinstance(loc, dict):
            return
        try:
            lat, lng = float(loc.get("lat")), float(loc.get("lng"))
        except (TypeError, ValueError):
            return
        name = str(loc.get("name") or "").strip()
        self.by_name[name].append([lat, lng, loc.get("id")])

    def claim(self, payload):
        """Remove and return the id of a location matching name + lat/lng, or False when none does."""
        candidates = self.by_name.get(payload["name"].strip())
        if not candidates:
            return False
        for i, (lat, lng, loc_id) in enumerate(candidates):
            if abs(lat - payload["lat"]) <= COORD_TOLERANCE and abs(lng - payload["lng"]) <= COORD_TOLERANCE:
                del candidates[i]
                return loc_id if loc_id is not None else ""
        return False


class MapiryPush:
    """Sends PushItems whose payloads are Mapiry locations; marks each item's outcome."""

    service = "mapiry"

    def __init__(self, client, feedback, map_id=None, new_map_title=None, batch_size=MAX_BULK):
        self.client = client
        self.feedback = feedback
        self.map_id = (map_id or "").strip() or None
        self.new_map_title = (new_map_title or "").strip() or None
        self.batch_size = max(1, min(MAX_BULK, batch_size))
        self.created_map = False
        self.claimed = set()            # ids of locations accounted for (already there, or created by us)
        self.existing = 0
        self.sent_count = 0
        self.expected = 0
        self.index = None
        self.announced = False
        self.guard = RejectionGuard(self.service)

    # -- the job ---------------------------------------------------------------------------------
    def prepare(self):
        """Create the map when asked (before anything else can go wrong half-way)."""
        if self.map_id:
            return self.map_id
        if not self.new_map_title:
            raise MapbridgeError("no map given", service=self.service,
                                 hint="Give the id of a map (MAP_ID) or a title for a new one (NEW_MAP_TITLE)")
        self._pace(BUCKET_MAPS)
        try:
            created = call_rate_limited(lambda: self.client.create_map(self.new_map_title), self.feedback,
                                        self.service)
        except ServiceError as exc:
            if outcome_unknown(exc):
                raise MapbridgeError(
                    f"no answer while creating the map '{self.new_map_title}'; it may or may not exist now",
                    service=self.service, details=exc.details,
                    hint="Look at your maps on Mapiry and push again with its id as MAP_ID") from None
            raise
        map_id = created.get("id") if isinstance(created, dict) else None
        if not map_id:
            raise MapbridgeError("the answer to creating a map has no map id", service=self.service,
                                 details=str(created)[:500], hint="Check the base URL in Mapbridge ▸ Settings")
        self.map_id = str(map_id)
        self.created_map = True
        self.feedback.pushInfo(f"Mapiry: created the map '{self.new_map_title}' (id {self.map_id})")
        return self.map_id

    def start(self):
        """Before any feature is read: list the map's locations (an existing map) to recognise those already there."""
        self.index = None
        if not self.map_id:
            if not self.new_map_title:
                self.prepare()      # raises the clear "no map given" error
            return
        try:
            self.index = LocationIndex(self._list_locations())
        except ServiceError as exc:
            if exc.status == 404:
                raise MapbridgeError(f"the map '{self.map_id}' was not found", service=self.service,
                                     details=exc.details,
                                     hint="Check the map id (MAP_ID), or give NEW_MAP_TITLE to create a map") from None
            raise

    def accept(self, item):
        """False (and 'skipped') for a location already on the map with the same name and coordinates."""
        if self.index is None:
            return True
        loc_id = self.index.claim(item.payload)
        if loc_id is False:
            return True
        self.claimed.add(loc_id)
        item.done(SKIPPED, remote_id=loc_id or None, error="already on the map (sent before); not sent again")
        self.existing += 1
        return False

    def send(self, batch):
        """Send one batch (sender thread); the map is created before the first one when asked."""
        if self.feedback.isCanceled():
            raise CancelledError()
        if not self.map_id:
            self.prepare()
        if not self.announced:
            self.announced = True
            self.feedback.pushInfo(f"Mapiry: sending locations to map {self.map_id} in requests of up to "
                                   f"{self.batch_size}")
        self._send(batch)

    def finish(self):
        """Say what was recognised as already there, or that no map was needed."""
        if self.existing:
            self.feedback.pushInfo(f"Mapiry: {self.existing} locations were already on the map; they were not sent "
                                   f"again")
        if not self.map_id and self.new_map_title:
            self.feedback.pushInfo("Mapiry: nothing to send, so no map was created")

    def _list_locations(self):
        """Every location of the map (paced and rate-limit aware)."""
        def wrap(call):
            self._pace(BUCKET_GENERAL)
            return call_rate_limited(call, self.feedback, self.service)

        return list(self.client.iter_locations(self.map_id, cancelled=self.feedback.isCanceled, wrap=wrap))

    # -- sending -----------------------------------------------------------------------------------
    def _send(self, batch, attempt=1):
        """Send a batch; isolate rejected items, reconcile unknown outcomes, retry refusals."""
        batch = [item for item in batch if item.pending]
        if not batch:
            return
        try:
            if len(batch) < SINGLE_SEND_AT and attempt == 1 and self._split:
                created = [self._create_one(item) for item in batch]
            else:
                created = self._bulk(batch)
        except CancelledError:
            raise
        except ServiceError as exc:
            self._handle_error(batch, exc, attempt)
            return
        self._mark_created(batch, created)

    _split = False

    def _create_one(self, item):
        self._pace(BUCKET_GENERAL)
        return call_rate_limited(lambda: self.client.create_location(self.map_id, item.payload), self.feedback,
                                 self.service)

    def _bulk(self, batch):
        self._pace(BUCKET_BULK)
        payloads = [item.payload for item in batch]
        return call_rate_limited(lambda: self.client.bulk_create_locations(self.map_id, payloads), self.feedback,
                                 self.service)

    def _handle_error(self, batch, exc, attempt):
        if outcome_unknown(exc):
            self.feedback.pushInfo(f"Mapiry: {short(exc)}; checking which of {len(batch)} locations arrived")
            try:
                self._reconcile(batch)
            except ServiceError:
                for item in batch:
                    item.done(FAILED, error="no answer from Mapiry and the map could not be checked: this location "
                                            "may or may not have arrived; push again to finish without duplicates")
                raise
            rest = [item for item in batch if item.pending]
            if rest:
                self._retry(rest, exc, attempt)
            return
        if retryable(exc):
            self._retry(batch, exc, attempt)
            return
        if fatal(exc):
            raise exc
        # The request was refused for its content (400/409/413/422, a 403 about a limit): find the bad items.
        named = item_errors(exc, len(batch))
        if named:
            for index, message in named.items():
                batch[index].done(FAILED, error=f"rejected by Mapiry: {message}")
                self._advance(1)
            self._send([item for item in batch if item.pending])
        elif len(batch) == 1:
            self.guard.rejected(exc)
            batch[0].done(FAILED, error=f"rejected by Mapiry: {short(exc)}")
            self._advance(1)
        else:
            half = len(batch) // 2
            self.feedback.pushInfo(f"Mapiry refused a batch of {len(batch)} without naming the bad location; "
                                   f"splitting it to find it")
            saved, self._split = self._split, True
            try:
                self._send(batch[:half])
                self._send(batch[half:])
            finally:
                self._split = saved

    def _retry(self, batch, exc, attempt):
        if attempt >= MAX_ATTEMPTS:
            for item in batch:
                item.done(FAILED, error=f"not sent: {short(exc)} (gave up after {attempt} attempts)")
            self._advance(len(batch))
            return
        pause = RETRY_PAUSES[min(attempt - 1, len(RETRY_PAUSES) - 1)]
        self.feedback.pushInfo(f"Mapiry: {short(exc)}; sending {len(batch)} locations again in {pause:.0f} s")
        sleep_cancellable(pause, self.feedback)
        self._send(batch, attempt + 1)

    def _reconcile(self, batch):
        """After an unknown outcome: list the map and claim the locations of this batch that arrived."""
        index = LocationIndex(loc for loc in self._list_locations() if loc.get("id") not in self.claimed)
        arrived = []
        for item in batch:
            loc_id = index.claim(item.payload)
            if loc_id is not False:
                arrived.append((item, loc_id))
        for item, loc_id in arrived:
            self.claimed.add(loc_id)
            item.done(CREATED, remote_id=loc_id or None)
        if arrived:
            self.feedback.pushInfo(f"Mapiry: {len(arrived)} of them had arrived; not sending those again")
        self._advance(len(arrived))

    def _mark_created(self, batch, created):
        """Give each item the id of its created location (answers come in request order)."""
        created = [loc for loc in (created or []) if isinstance(loc, dict)]
        if len(created) == len(batch):
            pairs = zip(batch, created)
        else:
            index = LocationIndex(created)
            pairs = [(item, {"id": index.claim(item.payload) or None}) for item in batch]
        self.guard.success(len(batch))
        for item, loc in pairs:
            loc_id = loc.get("id")
            if loc_id is not None:
                self.claimed.add(loc_id)
            item.done(CREATED, remote_id=loc_id)
        self._advance(len(batch))

    def _advance(self, n):
        self.sent_count += n
        if self.expected:
            self.feedback.setProgress(100.0 * min(1.0, self.sent_count / self.expected))

    def _pace(self, bucket):
        """Wait for an empty bucket (and the general one) to refill before a request."""
        for name in dict.fromkeys((bucket, BUCKET_GENERAL)):
            wait_for_bucket(self.client.rate_limit(name), self.feedback, self.service, BUCKET_NAMES[name])
