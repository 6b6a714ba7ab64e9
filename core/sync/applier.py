"""One service's side of a sync: how big the map is, what is on it, what each feature sends, and the sending."""

from __future__ import annotations

import json

from ...api.errors import service_title


def pending_info(text):
    """The match_info a link entry keeps for a create whose outcome is unknown ({} when none or unreadable)."""
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class Applier:
    """Subclasses talk to one service; run_sync calls them in this order: count (and listing and adopt when
    needed), payload / delete_payload per changed feature, then apply once."""

    service = ""
    uses_layers = False             # whether features are also put in the service's layers (Mapiry)
    page_size = 100                 # features per page of the listing (a map of a page or two is listed each sync)

    def __init__(self, client, feedback, map_id):
        self.client = client
        self.feedback = feedback
        self.map_id = map_id

    @property
    def title(self):
        """The service's name for messages."""
        return service_title(self.service)

    def info(self, text):
        """A log line naming the service."""
        self.feedback.pushInfo(f"{self.title}: {text}")

    def use_map(self, map_id):
        """Sync with this map (the one a link found for a new map's title)."""
        self.map_id = map_id

    def recall(self, remembered):
        """A preview (made without a client): take what the last sync remembered (the link's parameters)."""

    def remembered(self):
        """What the link should keep of this sync besides the algorithm's parameters (lower-case keys)."""
        return {}

    def count(self):
        """How many features the map holds now (None when the service does not say); ServiceError 404: no map."""
        raise NotImplementedError

    def listing(self):
        """Every feature on the map, as the service lists them."""
        raise NotImplementedError

    def remote_id(self, remote):
        """The id of a listed feature, as text."""
        value = remote.get("id") if isinstance(remote, dict) else None
        return str(value) if value is not None else None

    def match_info(self, item):
        """What identifies an item's create on the map (kept while its outcome is unknown)."""
        raise NotImplementedError

    def adopt(self, pending, listing, linked):
        """{key: remote id} of pending creates found in the listing (each listed feature claimed at most once,
        never one the link already has)."""
        raise NotImplementedError

    def payload(self, item):
        """What a create or update sends (raises SkipFeature when the feature cannot be sent)."""
        raise NotImplementedError

    def delete_payload(self, item):
        """What a delete sends."""
        return None

    def prepare_to_send(self, keeper):
        """Once, before anything is written to the link or sent (read the map's settings, make a new map)."""

    def apply(self, creates, changed, keeper):
        """Send the creates and the changes (updates, re-layers, deletes); keeper.flush() while waiting."""
        raise NotImplementedError
