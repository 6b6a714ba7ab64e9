"""Mapiry REST API: one method per endpoint."""

from __future__ import annotations

from .http import ServiceClient


def unwrap(body):
    """Mapiry wraps every success body in {"data": ...}."""
    if isinstance(body, dict) and "data" in body:
        return body["data"]
    return body


class MapiryClient(ServiceClient):
    """Client of the Mapiry API (maps, locations, bulk)."""

    service = "mapiry"

    def ping(self):
        """Cheapest authenticated call: the account's API keys."""
        keys = unwrap(self.get_json("/keys"))
        if isinstance(keys, dict):
            keys = keys.get("keys", [])
        return f"{len(keys)} API keys" if isinstance(keys, list) else "connected"
