"""Mapsemble REST API: one method per endpoint."""

from __future__ import annotations

from .http import ServiceClient


def items_of(body, *keys):
    """The list in a body that is either a list or {"data"|key: [...]} (the docs leave it open)."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("data", *keys):
            value = body.get(key)
            if isinstance(value, list):
                return value
            if isinstance(value, dict):
                inner = items_of(value, *keys)
                if inner:
                    return inner
    return []


class MapsembleClient(ServiceClient):
    """Client of the Mapsemble API (maps and their features)."""

    service = "mapsemble"

    def list_maps(self):
        """The account's maps as a list of dicts."""
        return items_of(self.get_json("/maps"), "maps", "results", "items")

    def ping(self):
        """Cheapest authenticated call: the account's maps."""
        return f"{len(self.list_maps())} maps"
