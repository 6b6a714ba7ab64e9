"""A processing's details in words: model, options, imagery, area, cost, messages, times in local time with zone."""

from __future__ import annotations

from datetime import datetime

from ..timestamps import epoch_seconds
from .models import number
from .processings import FINAL, message_text, model_of, status_of, status_text
from .sources import source_from_params


def local_time(text):
    """An ISO 8601 time of the service as local time with the zone shown, e.g. '2025-03-01 14:05 CET (UTC+01:00)'."""
    epoch = epoch_seconds(str(text or "")[:35])
    if epoch is None:
        return str(text or "")
    local = datetime.fromtimestamp(epoch).astimezone()
    offset = local.strftime("%z")
    zone = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    name = local.tzname() or ""
    return f"{local:%Y-%m-%d %H:%M} {name} ({zone})" if name and name != zone else f"{local:%Y-%m-%d %H:%M} ({zone})"


def blocks_text(processing):
    """The model's blocks of a processing, those switched off named apart: "Detection, Heights (off: Classes)"."""
    on, off = [], []
    for block in (processing or {}).get("blocks") or []:
        if isinstance(block, dict) and block.get("name"):
            (on if block.get("enabled") else off).append(str(block.get("displayName") or block["name"]))
    return ", ".join(on) + (f" (off: {', '.join(off)})" if off else "") if on or off else "none"


def detail_rows(processing):
    """[(label, text)] of a processing answer, for the details dialog."""
    processing = processing if isinstance(processing, dict) else {}
    status, percent = status_of(processing)
    area = number(processing.get("aoiArea"))
    cost = number(processing.get("cost"))
    rows = [("Name", str(processing.get("name") or "")), ("Id", str(processing.get("id") or "")),
            ("Status", status_text(status, percent)), ("Model", model_of(processing)),
            ("Blocks", blocks_text(processing)),
            ("Imagery", source_from_params(processing.get("params")).describe()),
            ("Area", f"{area / 1e6:.3f} km²" if area is not None else "unknown"),
            ("Cost", f"{cost:g} credits" if cost is not None else "unknown"),
            ("Created", local_time(processing.get("created")))]
    if status in FINAL and processing.get("updated"):
        rows.append(("Finished", local_time(processing.get("updated"))))
    messages = [message_text(m) for m in processing.get("messages") or []]
    if any(messages):
        rows.append(("Messages", "\n".join(m for m in messages if m)))
    rating = processing.get("rating")
    if isinstance(rating, dict) and rating.get("rating"):
        rows.append(("Rating", f"{'★' * int(rating['rating'])} {rating.get('feedback') or ''}".strip()))
    review = processing.get("reviewStatus")
    if isinstance(review, dict) and review.get("reviewStatus"):
        rows.append(("Review", str(review["reviewStatus"]).replace("_", " ").lower()))
    if processing.get("description"):
        rows.append(("Description", str(processing["description"])))
    return rows
