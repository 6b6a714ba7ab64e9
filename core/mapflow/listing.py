"""The dock's processings list: one page of a project (30 a page, filtered and sorted by the service) plus the
tracked processings elsewhere, and what a round means (rows, tracked updates, finished results, still running)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ...api.errors import ServiceError
from ..timestamps import epoch_seconds
from .account import default_project_id
from .models import number
from .processings import FINAL, RUNNING, model_of, status_of, status_text

PAGE_SIZE = 30
# Statuses that need no more polling (NOT_FOUND: the processing was deleted on the service).
DONE = FINAL + ("NOT_FOUND",)
# sortBy keys of the service for the list's columns.
SORT_KEYS = {"name": "NAME", "status": "STATUS", "model": "SCENARIO", "area": "AREA", "cost": "COST",
             "created": "CREATED"}


@dataclass
class ListQuery:
    """Which page of the list: offset, free-text terms and the sort."""

    offset: int = 0
    terms: str = ""
    sort_by: str = "created"       # a key of SORT_KEYS
    descending: bool = True

    def page_arguments(self):
        """Keyword arguments of MapflowClient.processings_page."""
        return {"limit": PAGE_SIZE, "offset": max(0, int(self.offset)), "terms": self.terms.strip() or None,
                "sort_by": SORT_KEYS.get(self.sort_by, "CREATED"), "sort_order": "DESC" if self.descending else "ASC"}

    @property
    def first_page_unfiltered(self):
        """True on the default view (the only one where processings from elsewhere are added)."""
        return self.offset == 0 and not self.terms.strip()


def short_local_time(text):
    """A service time as local 'YYYY-MM-DD HH:MM' for the list (the details show the zone)."""
    epoch = epoch_seconds(str(text or "")[:35])
    if epoch is None:
        return str(text or "")[:16].replace("T", " ")
    return f"{datetime.fromtimestamp(epoch):%Y-%m-%d %H:%M}"


def row_of(processing):
    """A table row from a service answer or a stored entry (raw: the answer, for details, tiles and duplicate)."""
    status, percent = status_of(processing)
    area = number(processing.get("aoiArea"))
    return {
        "id": str(processing.get("id")),
        "name": processing.get("name") or "",
        "model": model_of(processing) or processing.get("model") or "",
        "status": status,
        "percent": percent,
        "status_text": status_text(status, percent, processing.get("messages")),
        "area_km2": area / 1e6 if area is not None else None,
        "cost": number(processing.get("cost")),
        "created": short_local_time(processing.get("created")),
        "projectId": processing.get("projectId") or "",
        "messages": processing.get("messages") or [],
        "raw": processing if "workflowDef" in processing else {},
    }


def list_round(client, project_id, tracked, query):
    """One round (worker thread): the page of the query plus the unfinished tracked processings not on it."""
    if not project_id:
        project_id = default_project_id(client)
    page = client.processings_page(project_id, **query.page_arguments())
    results = [p for p in page.get("results") or [] if isinstance(p, dict) and p.get("id")]
    seen = {str(p["id"]) for p in results}
    extra = []
    for item in tracked[:100]:
        if item["id"] in seen or item.get("status") in DONE:
            continue
        try:
            extra.append(client.processing(item["id"]))
        except ServiceError as exc:
            if exc.status != 404:
                raise
            extra.append(dict(item, status="NOT_FOUND", percent=0))
    total = number(page.get("total"))
    return {"projectId": project_id, "results": results, "extra": extra,
            "total": int(total) if total is not None else len(results), "query": query}


def merge_round(result, tracked, claimed, hidden, auto_load):
    """What a round means: (project id, rows to show, tracked updates, ready rows, still running).

    tracked: the stored entries; claimed: ids a running algorithm is writing; hidden: ids removed from the list.
    updates: {id: {status, percent}} to store; ready: finished rows whose result is not loaded yet. Tracked
    processings not on the page are shown on the default view only when they belong to no known project."""
    project_id = result["projectId"]
    rows = [row_of(p) for p in result["results"] if str(p["id"]) not in hidden]
    by_id = {r["id"]: r for r in rows}
    for answer in result["extra"]:
        by_id.setdefault(str(answer.get("id")), row_of(answer))
    updates, ready = {}, []
    tracked = [dict(item) for item in tracked]
    for item in tracked:
        row = by_id.get(item["id"])
        if row is None:
            continue
        if (row["status"], row["percent"]) != (item.get("status"), item.get("percent")):
            updates[item["id"]] = {"status": row["status"], "percent": row["percent"]}
            item.update(updates[item["id"]])
        if row["status"] == "OK" and not item.get("loaded") and item["id"] not in claimed:
            ready.append(dict(row, output=item.get("output") or "", qgisProject=item.get("qgisProject") or ""))
    shown = list(rows)
    query = result.get("query") or ListQuery()
    if query.first_page_unfiltered:
        shown_ids = {r["id"] for r in shown}
        for item in tracked:
            if item["id"] not in shown_ids and not item.get("projectId") and item["id"] not in hidden:
                shown.append(by_id.get(item["id"]) or row_of(item))
    # Keep polling while something runs (a documented running status: an undocumented one is shown as it is but
    # not polled forever), or while a finished result still waits to be loaded.
    running = any(r["status"] in RUNNING for r in by_id.values()) or any(
        item.get("status") in RUNNING or (item.get("status") == "OK" and not item.get("loaded") and auto_load)
        for item in tracked)
    return project_id, shown, updates, ready, running
