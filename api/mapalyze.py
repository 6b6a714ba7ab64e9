"""Mapalyze REST API: one method per endpoint."""

from __future__ import annotations

from .http import ServiceClient


class MapalyzeClient(ServiceClient):
    """Client of the Mapalyze API (records, forms, exports, jobs)."""

    service = "mapalyze"

    def ping(self):
        """Cheapest authenticated call: one record of any form."""
        body = self.get_json("/records", params={"limit": 1, "format": "geojson"})
        total = body.get("total") if isinstance(body, dict) else None
        return f"{total} records" if total is not None else "connected"
