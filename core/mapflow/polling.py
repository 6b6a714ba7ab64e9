"""Following Mapflow processings: waiting for one with backoff, and the dock's polling rounds over a project.

wait_for_processing() is what `mapbridge:mapflow_process` does after starting; poll_round() and merge_round()
are one round of the dock's list (the project's page plus tracked processings elsewhere) and what it means.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ...api.errors import CancelledError, MapbridgeError, RateLimitedError, ServiceError
from ...api.http import RateLimitWaits, describe_rate_wait
from .account import default_project_id
from .processings import FAILED, FINAL, RUNNING, aoi_messages_text, messages_text, model_of, status_of

MAPFLOW = "mapflow"
# Consecutive failed status reads tolerated while waiting (the service may blip during a long processing).
MAX_POLL_ERRORS = 5
# Consecutive reads of a status the docs do not list (or none at all) before waiting stops: never forever.
MAX_UNKNOWN_POLLS = 10
PAGE_LIMIT = 100
# Statuses that need no more polling (NOT_FOUND: the processing was deleted on the service).
DONE = FINAL + ("NOT_FOUND",)


@dataclass
class Backoff:
    """Polling intervals: `initial` seconds growing by `factor` up to `maximum`."""

    initial: float = 1.0
    factor: float = 1.5
    maximum: float = 30.0

    def intervals(self):
        """Endless generator of waits."""
        wait = self.initial
        while True:
            yield wait
            wait = min(self.maximum, wait * self.factor)


def row_of(processing):
    """A table row dict from a service answer or a stored entry."""
    status, percent = status_of(processing)
    return {
        "id": str(processing.get("id")),
        "name": processing.get("name") or "",
        "model": model_of(processing) or processing.get("model") or "",
        "status": status,
        "percent": percent,
        "created": str(processing.get("created") or "")[:19].replace("T", " "),
        "projectId": processing.get("projectId") or "",
        "messages": processing.get("messages") or [],
    }


def poll_round(client, project_id, tracked):
    """One round (worker thread): the project's page plus the unfinished tracked processings not on it."""
    if not project_id:
        project_id = default_project_id(client)
    page = client.processings_page(project_id, limit=PAGE_LIMIT)
    results = [p for p in page.get("results") or [] if isinstance(p, dict) and p.get("id")]
    seen = {str(p["id"]) for p in results}
    extra = []
    for item in tracked:
        if item["id"] in seen or item.get("status") in DONE:
            continue
        try:
            extra.append(client.processing(item["id"]))
        except ServiceError as exc:
            if exc.status != 404:
                raise
            extra.append(dict(item, status="NOT_FOUND", percent=0))
    return {"projectId": project_id, "results": results, "extra": extra}


def merge_round(result, tracked, claimed, hidden, auto_load):
    """What a round means for the list: (project id, rows to show, tracked updates, ready rows, still running).

    tracked: the stored entries; claimed: ids a running algorithm is writing; hidden: ids removed from the list.
    updates: {id: {status, percent}} to store; ready: finished rows whose result is not loaded yet.
    """
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
            ready.append(dict(row, output=item.get("output") or ""))
    shown = list(rows)
    shown_ids = {r["id"] for r in shown}
    for item in tracked:
        if item["id"] not in shown_ids and item.get("projectId") in ("", None, project_id):
            shown.append(by_id.get(item["id"]) or row_of(item))
    # Keep polling while something runs (a documented running status: an undocumented one is shown as it is but
    # not polled forever), or while a finished result still waits to be loaded.
    running = any(r["status"] in RUNNING for r in by_id.values()) or any(
        item.get("status") in RUNNING or (item.get("status") == "OK" and not item.get("loaded") and auto_load)
        for item in tracked)
    return project_id, shown, updates, ready, running


def stopped_waiting_error(processing_id):
    """The cancel message that keeps the processing id for later."""
    return CancelledError(
        f"Stopped waiting for processing {processing_id}; it keeps running on Mapflow. "
        f"Fetch its result later with 'Mapflow: load processing results' (PROCESSING_ID {processing_id}) "
        "or from the Mapflow tab", service=MAPFLOW)


def wait_for_processing(client, processing_id, feedback, *, backoff=None, sleep=time.sleep, clock=time.monotonic,
                        on_status=None):
    """Poll GET /processings/{id}/v2 until a final status; returns the answer when OK, raises otherwise."""
    intervals = (backoff or Backoff()).intervals()
    errors = unknown = 0
    last = None
    waits = RateLimitWaits()
    while True:
        if feedback.isCanceled():
            raise stopped_waiting_error(processing_id)
        try:
            answer = client.processing(processing_id)
            errors = 0
        except CancelledError:
            raise stopped_waiting_error(processing_id) from None      # a stalled status read, aborted by cancel
        except RateLimitedError as exc:
            seconds, named = waits.next(exc)
            feedback.pushInfo(describe_rate_wait(MAPFLOW, seconds, named))
            _sleep_cancellably(seconds, feedback, processing_id, sleep, clock)
            continue
        except ServiceError as exc:
            if exc.status is not None and exc.status < 500 and exc.status not in (408, 429):
                raise
            errors += 1
            if errors > MAX_POLL_ERRORS:
                raise ServiceError(f"the status of processing {processing_id} could not be read: {exc.message}",
                                   service=MAPFLOW, status=exc.status,
                                   hint="It may still be running; fetch its result later by its id") from None
            feedback.pushWarning(f"Mapflow: reading the status failed ({exc.message}); trying again")
            answer = None
        if answer is not None:
            status, percent = status_of(answer)
            feedback.setProgress(percent)
            if (status, percent) != last:
                feedback.pushInfo(f"Processing {processing_id}: {status}, {percent:.0f}%")
                last = (status, percent)
            if on_status is not None:
                on_status(answer)
            if status == "OK":
                return answer
            unknown = unknown + 1 if _undocumented(answer) else 0
            if unknown >= MAX_UNKNOWN_POLLS:
                raise MapbridgeError(
                    f"processing {processing_id} reports the status '{answer.get('status')}', which Mapflow does "
                    f"not document; Mapbridge stopped waiting after {unknown} reads", service=MAPFLOW,
                    hint="Check it in the Mapflow tab or on mapflow.ai; once it is OK, fetch its result by its id")
            if status in FAILED:
                details = messages_text(answer) or aoi_messages_text(client, processing_id) \
                    or "the service gave no reason"
                raise MapbridgeError(f"processing {processing_id} ended with status {status}: {details}",
                                     service=MAPFLOW,
                                     hint="Check the AOI, the model and the imagery source, then start it again")
        _sleep_cancellably(next(intervals), feedback, processing_id, sleep, clock)


def _undocumented(answer):
    """True when a status answer carries no status, or one the docs do not list."""
    return str(answer.get("status") or "").upper() not in RUNNING + FINAL


def _sleep_cancellably(seconds, feedback, processing_id, sleep, clock):
    deadline = clock() + seconds
    while clock() < deadline:
        if feedback.isCanceled():
            raise stopped_waiting_error(processing_id)
        sleep(min(0.1, max(0.0, deadline - clock())))
