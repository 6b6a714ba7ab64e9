"""Mapflow Processing and Data APIs: one method per endpoint."""

from __future__ import annotations

from .http import ServiceClient

# The Data API pages authenticate with "Basic <token>", the Processing page with "Bearer <token>".
DATA_API_PREFIXES = ("/rasters", "/catalog")


class MapflowClient(ServiceClient):
    """Client of the Mapflow API (account, projects, processings, catalog, rasters)."""

    service = "mapflow"

    def auth_header(self, path):
        scheme = "Basic" if path.lstrip("/").startswith(tuple(p.lstrip("/") for p in DATA_API_PREFIXES)) else "Bearer"
        return f"{scheme} {self.config.token}"

    def user_status(self):
        """GET /user/status: billing, balance, AOI limit and data providers."""
        return self.get_json("/user/status")

    def ping(self):
        """Cheapest authenticated call: the account status."""
        status = self.user_status() or {}
        credits = status.get("remainingCredits") if isinstance(status, dict) else None
        return f"{credits} credits left" if credits is not None else "connected"
