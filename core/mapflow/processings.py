"""What a Mapflow processing is: its create body, its status and messages in words, and the start request."""

from __future__ import annotations

from ...api.errors import OutcomeUnknownError, ServiceError

MAPFLOW = "mapflow"
RUNNING = ("UNPROCESSED", "AWAITING", "IN_PROGRESS")
FINAL = ("OK", "FAILED", "CANCELLED", "REFUNDED")
FAILED = ("FAILED", "CANCELLED", "REFUNDED")
# Logged by mapflow_process as soon as the processing exists, so the user can fetch its result later.
ID_MARKER = "Mapflow processing id: "


# What the official client sends as `meta`; the service keeps it with the processing.
META = {"source-app": "qgis", "source": "mapbridge"}


def processing_body(name, model, geometry, *, project_id=None, provider=None, zoom=None, image_id=None,
                    model_id=None, blocks=None, source=None):
    """The POST /processings/v2 (and /processing/cost/v2) body.

    model_id (the workflowDef id) is sent as wdId when known, else the name as wdName; blocks: one {name, enabled}
    per optional block of the model (None: left out, the service's default); source: a sources.Source, else the
    provider and zoom (or the catalog image_id of that provider)."""
    from .sources import Source, provider_source

    body = {"name": name}
    if model_id:
        body["wdId"] = model_id
    else:
        body["wdName"] = model
    body["geometry"] = geometry
    if project_id:
        body["projectId"] = project_id
    if source is None:
        source = Source("catalog", provider=provider or "", zoom=zoom, image_ids=[image_id]) if image_id \
            else provider_source(provider, zoom)
    body["params"] = {"sourceParams": source.source_params()}
    if blocks is not None:
        body["blocks"] = list(blocks)
    body["meta"] = dict(META)
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
    """POST /processings/v2; returns the new processing's answer (with its id).

    A success without an id is an unknown outcome: the processing (and its charge) may exist; look for it."""
    answer = client.create_processing(body)
    if not isinstance(answer, dict) or not answer.get("id"):
        raise OutcomeUnknownError("the start was answered but the answer names no processing id", service=MAPFLOW,
                                  details=str(answer)[:500],
                                  hint="Look for it in the Mapflow tab's processings list or on mapflow.ai")
    return answer


# Status words shown to the user; the running ones carry the percentage.
STATUS_WORDS = {"UNPROCESSED": "Queued", "AWAITING": "Waiting", "IN_PROGRESS": "Running", "OK": "Finished",
                "FAILED": "Failed", "CANCELLED": "Cancelled", "REFUNDED": "Refunded", "NOT_FOUND": "Deleted"}


def status_text(status, percent=0.0, messages=None):
    """A processing's status in words: "Running 35 %", "Finished", "Failed: <reason>"."""
    status = (status or "").upper()
    words = STATUS_WORDS.get(status, status.title() or "Unknown")
    if status in RUNNING and status != "UNPROCESSED":
        return f"{words} {float(percent or 0):.0f} %"
    if status in FAILED:
        reason = "; ".join(t for t in (message_text(m) for m in messages or []) if t)
        return f"{words}: {reason}" if reason else words
    return words
