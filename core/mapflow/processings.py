"""A Mapflow processing: the create body, the start, and waiting for it with backoff."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ...api.errors import CancelledError, MapbridgeError, RateLimitedError, ServiceError

MAPFLOW = "mapflow"
RUNNING = ("UNPROCESSED", "AWAITING", "IN_PROGRESS")
FINAL = ("OK", "FAILED", "CANCELLED", "REFUNDED")
FAILED = ("FAILED", "CANCELLED", "REFUNDED")
# Consecutive failed status reads tolerated while waiting (the service may blip during a long processing).
MAX_POLL_ERRORS = 5
# Logged by mapflow_process as soon as the processing exists, so the user can fetch its result later.
ID_MARKER = "Mapflow processing id: "


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


def processing_body(name, model, geometry, *, project_id=None, provider=None, zoom=None, image_id=None):
    """The POST /processings/v2 (and /processing/cost/v2) body."""
    body = {"name": name, "wdName": model, "geometry": geometry}
    if project_id:
        body["projectId"] = project_id
    if image_id:
        # Assumption (not on the Processing page): a catalog image is chosen with
        # params.sourceParams.imagerySearch {dataProvider, imageIds}, as the live plugin sends it.
        source = {"imagerySearch": {"dataProvider": provider or "", "imageIds": [image_id]}}
    else:
        provider_params = {"providerName": provider or "Mapbox"}
        if zoom:
            provider_params["zoom"] = int(zoom)
        source = {"dataProvider": provider_params}
    body["params"] = {"sourceParams": source}
    return body


def status_of(processing):
    """(status, percent) of a processing answer, leniently."""
    processing = processing if isinstance(processing, dict) else {}
    status = str(processing.get("status") or "UNPROCESSED").upper()
    percent = processing.get("percentCompleted")
    try:
        percent = max(0.0, min(100.0, float(percent)))
    except (TypeError, ValueError):
        percent = 100.0 if status == "OK" else 0.0
    return status, percent


def model_of(processing):
    """The model (workflow) name of a processing answer."""
    wd = processing.get("workflowDef") if isinstance(processing, dict) else None
    if isinstance(wd, dict):
        return wd.get("name") or ""
    return (processing or {}).get("wdName") or ""


def messages_text(processing):
    """The service's messages of a processing (and of its AOIs) as one line."""
    texts = []
    for message in (processing or {}).get("messages") or []:
        text = message_text(message)
        if text and text not in texts:
            texts.append(text)
    return "; ".join(texts)


def message_text(message):
    """One {code, parameters} message in words."""
    if isinstance(message, str):
        return message
    if not isinstance(message, dict):
        return ""
    code = message.get("code") or ""
    params = message.get("parameters") or message.get("params") or {}
    words = message.get("message") or (params.get("message") if isinstance(params, dict) else None)
    extra = ""
    if isinstance(params, dict):
        extra = ", ".join(f"{k}: {v}" for k, v in params.items() if k != "message" and v not in (None, ""))
    parts = [p for p in (words, f"[{code}]" if code else "", f"({extra})" if extra else "") if p]
    return " ".join(parts)


def aoi_messages_text(client, processing_id):
    """The messages of a processing's AOIs (GET /processings/{id}/aois), or '' when unavailable."""
    try:
        aois = client.processing_aois(processing_id)
    except ServiceError:
        return ""
    texts = []
    for aoi in aois if isinstance(aois, list) else []:
        text = messages_text(aoi) if isinstance(aoi, dict) else ""
        if text and text not in texts:
            texts.append(text)
    return "; ".join(texts)


def start_processing(client, body):
    """POST /processings/v2; returns the new processing's answer (with its id)."""
    answer = client.create_processing(body)
    if not isinstance(answer, dict) or not answer.get("id"):
        raise ServiceError("the processing was created but its id is missing from the answer", service=MAPFLOW,
                           hint="Look for it in the Mapflow tab's processings list or on mapflow.ai")
    return answer


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
    errors = 0
    last = None
    while True:
        if feedback.isCanceled():
            raise stopped_waiting_error(processing_id)
        try:
            answer = client.processing(processing_id)
            errors = 0
        except RateLimitedError as exc:
            answer = None
            _sleep_cancellably(exc.retry_after or 30.0, feedback, processing_id, sleep, clock)
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
            if status in FAILED:
                details = messages_text(answer) or aoi_messages_text(client, processing_id) \
                    or "the service gave no reason"
                raise MapbridgeError(f"processing {processing_id} ended with status {status}: {details}",
                                     service=MAPFLOW,
                                     hint="Check the AOI, the model and the imagery source, then start it again")
        _sleep_cancellably(next(intervals), feedback, processing_id, sleep, clock)


def _sleep_cancellably(seconds, feedback, processing_id, sleep, clock):
    deadline = clock() + seconds
    while clock() < deadline:
        if feedback.isCanceled():
            raise stopped_waiting_error(processing_id)
        sleep(min(0.1, max(0.0, deadline - clock())))
