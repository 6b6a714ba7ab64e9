"""Push locations to a Mapiry map: bulk ≤ 100, bad items isolated, rate limits waited out, no duplicates."""

from __future__ import annotations

from collections import defaultdict

from ...api.errors import MapbridgeError, ServiceError
from ...api.mapiry import BUCKET_BULK, BUCKET_GENERAL, BUCKET_MAPS, MAX_BULK
from ..feedback import record_partial
from .failures import outcome_unknown
from .geometry import same_position
from .choices import CREATED, SKIPPED
from .job import PushJob, pending
from .values import changed_texts

SINGLE_SEND_AT = 3              # below this many items a rejected batch is sent location by location
IN_FLIGHT = 2                   # bulk requests at once while the rate limits leave room
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
            if same_position(lng, lat, payload["lng"], payload["lat"]):
                del candidates[i]
                return loc_id if loc_id is not None else ""
        return False


class MapiryPush(PushJob):
    """Sends PushItems whose payloads are Mapiry locations; marks each item's outcome."""

    service = "mapiry"
    nouns = ("location", "locations")
    max_in_flight = IN_FLIGHT
    encodes = True
    send_buckets = (BUCKET_BULK, BUCKET_GENERAL)
    bucket_names = BUCKET_NAMES

    def __init__(self, client, feedback, map_id=None, new_map_title=None, batch_size=MAX_BULK):
        super().__init__(client, feedback)
        self.map_id = (map_id or "").strip() or None
        self.new_map_title = (new_map_title or "").strip() or None
        self.batch_size = max(1, min(MAX_BULK, batch_size))
        self.created_map = False
        self.claimed = set()            # ids of locations accounted for (already there, or created by us)
        self.existing = 0
        self.index = None

    # -- the job ---------------------------------------------------------------------------------
    def prepare(self):
        """Create the map when asked (before anything else can go wrong half-way)."""
        if self.map_id:
            return self.map_id
        if not self.new_map_title:
            raise MapbridgeError("no map given", service=self.service,
                                 hint="Give the id of a map (MAP_ID) or a title for a new one (NEW_MAP_TITLE)")
        try:
            created = self.paced(lambda: self.client.create_map(self.new_map_title), BUCKET_MAPS, BUCKET_GENERAL)
        except ServiceError as exc:
            if outcome_unknown(exc):
                raise self._map_may_exist(exc.message, exc.details) from None
            raise
        map_id = created.get("id") if isinstance(created, dict) else None
        if not map_id:
            raise self._map_may_exist("the answer names no map id", str(created)[:500])
        self.map_id = str(map_id)
        self.created_map = True
        record_partial(self.feedback, "MAP_ID", self.map_id)     # the dock shows it even if the push fails
        self.info(f"created the map '{self.new_map_title}' (id {self.map_id})")
        return self.map_id

    def _map_may_exist(self, why, details):
        """Creating the map got no usable answer: it may exist, and Mapiry has no listing of maps to look in."""
        return MapbridgeError(
            f"creating the map '{self.new_map_title}' got no usable answer ({why}); it may or may not exist now, so "
            "nothing was pushed and the map was not created again", service=self.service, details=details,
            hint="Look at your maps on Mapiry and push again with its id as MAP_ID")

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

    def before_first_send(self):
        """The map is created before the first batch when asked (not at all when nothing is sent)."""
        if not self.map_id:
            self.prepare()
        self.info(f"sending locations to map {self.map_id} in requests of up to {self.batch_size}")

    def finish(self):
        """Say what was recognised as already there, or that no map was needed."""
        if self.existing:
            self.info(f"{self.existing} locations were already on the map; they were not sent again")
        if not self.map_id and self.new_map_title:
            self.info("nothing to send, so no map was created")

    def rate_state(self, bucket):
        return self.client.rate_limit(bucket)

    def _list_locations(self):
        """Every location of the map (paced and rate-limit aware)."""
        def wrap(call):
            return self.paced(call, BUCKET_GENERAL)

        return list(self.client.iter_locations(self.map_id, cancelled=self.feedback.isCanceled, wrap=wrap))

    # -- sending -----------------------------------------------------------------------------------
    def send_batch(self, batch, attempt=1, split=False):
        """While splitting a refused batch, the last few locations go one by one (each its own request)."""
        batch = pending(batch)
        if split and 1 < len(batch) < SINGLE_SEND_AT:
            for item in batch:
                super().send_batch([item], attempt, split)
            return
        super().send_batch(batch, attempt, split)

    def request(self, batch, attempt, split):
        if split and len(batch) == 1:
            # One location: the general endpoint, which spares the small bulk bucket.
            item = batch[0]
            return [self.paced(lambda: self.client.create_location(self.map_id, item.payload), BUCKET_GENERAL)]
        payloads = [item.payload for item in batch]
        encoded = self.take_encoded(batch)
        return self.paced(lambda: self.client.bulk_create_locations(self.map_id, payloads, encoded),
                          *self.send_buckets)

    def before_split(self, batch, exc):
        self.info(f"refused a batch of {len(batch)} without naming the bad location; splitting it to find it")

    def find_arrived(self, batch, exc):
        """List the map and claim the locations of this batch that arrived."""
        index = LocationIndex(loc for loc in self._list_locations() if loc.get("id") not in self.claimed)
        arrived = []
        for item in batch:
            loc_id = index.claim(item.payload)
            if loc_id is not False:
                arrived.append((item, loc_id))
        for item, loc_id in arrived:
            self.claimed.add(loc_id)
            item.done(CREATED, remote_id=loc_id or None)
        return len(arrived)

    def mark_done(self, batch, created):
        """Give each item the id of its created location (answers come in request order)."""
        created = [loc for loc in (created or []) if isinstance(loc, dict)]
        if len(created) == len(batch):
            pairs = zip(batch, created)
        else:
            index = LocationIndex(created)
            pairs = [(item, {"id": index.claim(item.payload) or None}) for item in batch]
        claimed = self.claimed
        for item, loc in pairs:
            loc_id = loc.get("id")
            if loc_id is not None:
                claimed.add(loc_id)
            changed = changed_texts(item.payload, loc) if "name" in loc else []
            item.done(CREATED, remote_id=loc_id, error=self.text_changed(changed))
