"""What a sync reports (statuses and their result keys): plain constants, light enough for Processing parameters."""

from __future__ import annotations

CREATED, UPDATED, DELETED, UNCHANGED = "created", "updated", "deleted", "unchanged"
SKIPPED, FAILED, NOT_SENT = "skipped", "failed", "not_sent"
STATUSES = (CREATED, UPDATED, DELETED, UNCHANGED, SKIPPED, FAILED, NOT_SENT)
COUNT_KEYS = {status: status.upper() for status in STATUSES}

# Each link remembers the Processing parameters it was made with, so "Sync now" runs the same sync again.
ALGORITHMS = {"mapsemble": "mapbridge:mapsemble_sync", "mapiry": "mapbridge:mapiry_sync"}
# Kept with a link's parameters when its sync took the layer's selection (lower case: no algorithm parameter's name).
SELECTED_ONLY = "selected_only"
