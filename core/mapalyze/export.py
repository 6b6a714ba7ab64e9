"""The Mapalyze export job: GeoJSON, CSV or PDF of a form to a file, following the async job when there is one."""

from __future__ import annotations

import json
import os
import time

import requests

from ...api.errors import CancelledError, MapbridgeError, ServiceError
from ...api.http import WireCount
from ..feedback import set_status
from ..temp_files import remove_stale, temporary_beside

PART_SUFFIX = ".part"            # a download in progress, beside the file it becomes

DONE = ("completed", "complete", "done", "succeeded", "success", "finished", "ready")
FAILED = ("failed", "error", "errored", "cancelled", "canceled", "expired")
CHUNK = 1024 * 1024
FORMATS = {"geojson": ".geojson", "csv": ".csv", "pdf": ".pdf"}


def _cancelled(feedback):
    return feedback is not None and feedback.isCanceled()


def _sleep(seconds, feedback):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _cancelled(feedback):
            raise CancelledError()
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


def _job_id(body):
    if not isinstance(body, dict):
        return None
    for key in ("job_id", "jobId", "id"):
        if isinstance(body.get(key), (str, int)):
            return str(body[key])
    job = body.get("job") or body.get("data")
    return _job_id(job) if isinstance(job, dict) else None


def _download_url(job):
    for key in ("download_url", "downloadUrl", "url", "result_url", "file_url"):
        if isinstance(job.get(key), str) and job[key]:
            return job[key]
    result = job.get("result")
    return _download_url(result) if isinstance(result, dict) else None


def _status(job):
    return str(job.get("status") or job.get("state") or "").lower()


def _progress(job):
    value = job.get("progress")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) * (100.0 if 0 < value <= 1 and isinstance(value, float) else 1.0)
    return None


def wait_for_job(client, job_id, feedback=None, poll=(0.5, 3.0), max_wait=6 * 3600):
    """Poll /jobs/{id} until it completes; return its download URL. Raises with the service's own message."""
    interval, started, last = poll[0], time.monotonic(), None
    while True:
        job = client.job(job_id)
        status = _status(job)
        progress = _progress(job)
        if feedback is not None:
            if status != last:      # the log first: the status line below is what the dock then shows
                feedback.pushInfo(f"Export job {job_id}: {status or 'waiting'}")
            # One number for bar and text: the export's share of the whole job (preparing is 90 %).
            overall = min(90.0, 0.9 * progress) if progress is not None else None
            set_status(feedback, f"Mapalyze is preparing the export ({status or 'waiting'})", overall)
        last = status
        if status in DONE:
            url = _download_url(job)
            # Assumption: a finished job without a download_url serves its file at /jobs/{id}/download.
            return url or f"/jobs/{job_id}/download"
        if status in FAILED:
            message = job.get("error") or job.get("message") or job.get("detail")
            if isinstance(message, dict):
                message = message.get("message") or json.dumps(message)
            raise ServiceError(f"the export job {job_id} {status}" + (f": {message}" if message else ""),
                               service="mapalyze", server_message=message,
                               hint="Try the export again; if it keeps failing, export a smaller selection")
        if time.monotonic() - started > max_wait:
            raise ServiceError(f"the export job {job_id} did not finish in {max_wait // 3600} hours",
                               service="mapalyze", hint="Try again later")
        _sleep(interval, feedback)
        interval = min(poll[1], interval * 1.5)


def _save(response, path, feedback, base_progress):
    """Stream a response body to `path` (through a temporary file; nothing is left behind on failure)."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(folder, exist_ok=True)
    base = os.path.basename(path)
    for stale in remove_stale(folder, base, PART_SUFFIX):
        if feedback is not None:
            feedback.pushInfo(f"Removed {os.path.basename(stale)}, left behind by an interrupted export")
    with temporary_beside(folder, base, PART_SUFFIX) as temp:
        return _stream(response, temp, path, feedback, base_progress)


def _stream(response, temp, path, feedback, base_progress):
    """Write the body to `temp`, then move it to `path` once whole; returns the bytes written."""
    size = 0
    wire = WireCount(response)
    length = wire.total or 0
    try:
        with open(temp, "wb") as out:
            for chunk in response.iter_content(CHUNK):
                if _cancelled(feedback):
                    raise CancelledError()
                out.write(chunk)
                size += len(chunk)
                wire.add(len(chunk))
                if feedback is not None and length:
                    done = min(wire.received(), length)
                    set_status(feedback, f"Downloading the export: {done / 1e6:,.1f} of {length / 1e6:,.1f} MB",
                               base_progress + (100.0 - base_progress) * done / length)
        if wire.cut_short():
            raise ServiceError(f"the download stopped after {wire.received():,} of {length:,} bytes",
                               service="mapalyze", hint="Try the export again")
        os.replace(temp, path)
    except requests.exceptions.RequestException as exc:
        if _cancelled(feedback):
            raise CancelledError() from None
        raise ServiceError("the download was interrupted", service="mapalyze", hint="Try the export again",
                           details=str(exc)) from None
    except OSError as exc:
        raise MapbridgeError(f"could not write {path}", hint="Check the folder is writable and has free space",
                             details=str(exc)) from None
    finally:
        response.close()
    return size


def export_records(client, fmt, path, *, form_id=None, since=None, feedback=None, poll=(0.5, 3.0)):
    """Export a form (or every record) as `fmt` to `path`; returns the number of bytes written.

    A cancel aborts a stalled download too (the client's cancel watch covers reading the streamed body)."""
    with client.watch():
        return _export(client, fmt, path, form_id, since, feedback, poll)


def _export(client, fmt, path, form_id, since, feedback, poll):
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise MapbridgeError(f"unknown export format '{fmt}'", service="mapalyze",
                             hint="Choose GeoJSON, CSV or PDF")
    if feedback is not None:
        feedback.pushInfo(f"Requesting a {fmt.upper()} export" + (f" of {form_id}" if form_id else ""))
    response = client.export(fmt, form_id=form_id, since=since)
    body = None
    if response.status_code == 202:
        body = client.json_of(response, f"/export/{fmt}")
    elif "json" in (response.headers.get("Content-Type") or "") and fmt != "geojson":
        # A JSON answer to a CSV/PDF request can only be a job description.
        body = client.json_of(response, f"/export/{fmt}")
    if body is not None:
        job_id = _job_id(body)
        if job_id is None:
            raise ServiceError("the export answer names no job_id", service="mapalyze",
                               hint="Check the base URL in Mapbridge ▸ Settings", details=json.dumps(body)[:500])
        if feedback is not None:
            feedback.pushInfo(f"Mapalyze prepares the export as job {job_id}")
        url = wait_for_job(client, job_id, feedback, poll=poll)
        response = client.download(url)
        size = _save(response, path, feedback, 90.0)
    else:
        size = _save(response, path, feedback, 0.0)
    if feedback is not None:
        feedback.setProgress(100.0)
        feedback.pushInfo(f"Saved {size:,} bytes to {path}")
    return size
