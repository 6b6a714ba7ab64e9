"""What a push offers to choose and reports (geometry modes, Mapsemble methods, statuses): plain constants,
light enough for the Processing parameters QGIS builds at start."""

from __future__ import annotations

MODE_POINT_ON_SURFACE, MODE_CENTROID, MODE_SKIP = range(3)
GEOMETRY_MODES = ("point on surface", "centroid", "skip")

METHOD_CREATE, METHOD_REPLACE, METHOD_UPDATE, METHOD_DELETE = range(4)
METHODS = ("create (POST)", "replace (PUT)", "update (PATCH)", "delete (DELETE)")
METHOD_VERBS = ("POST", "PUT", "PATCH", "DELETE")

CREATED, UPDATED, DELETED, SKIPPED, FAILED = "created", "updated", "deleted", "skipped", "failed"
NOT_SENT = "not_sent"       # never sent (the push was cancelled or stopped before it); unlike failed: refused, or
#                             sent without an answer
COUNT_KEYS = {CREATED: "CREATED", UPDATED: "UPDATED", DELETED: "DELETED", SKIPPED: "SKIPPED", FAILED: "FAILED",
              NOT_SENT: "NOT_SENT"}
