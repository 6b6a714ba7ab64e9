"""Small glue of the Mapflow tab: the confirmation text and reading a run's processing id."""

from __future__ import annotations

from ..core.mapflow_account import account_overview, preflight
from ..processing.mapflow_process import ID_MARKER

__all__ = ["account_overview", "confirmation_text", "load_account", "preflight", "processing_id_of"]


def load_account(client):
    """The account overview (worker thread); the client is closed afterwards."""
    try:
        return account_overview(client)
    finally:
        client.close()


def confirmation_text(aoi, choice, checked):
    """What the user confirms before credits are spent: area, model, imagery, cost and balance."""
    account = checked["account"]
    cost = checked["cost"]
    imagery = (f"catalog image {choice['image_id']}" if choice["image_id"]
               else f"{choice['provider']}, zoom {choice['zoom']}")
    lines = [
        f"Name: {choice['name']}",
        f"Area: {aoi.area_km2:.3f} km²" + (f" ({aoi.part_count} polygons)" if aoi.part_count > 1 else ""),
        f"Model: {choice['model']}",
        f"Imagery: {imagery}",
        f"Cost: {cost:g} credits" if cost is not None else f"Cost: not known in advance. {checked['note']}".strip(),
        f"Account: {account.balance_text()}, {account.limit_text()}",
    ]
    lines.extend(aoi.notes)
    return "Start this Mapflow processing?\n\n" + "\n".join(lines)


def processing_id_of(run):
    """The processing id a running mapflow_process has logged, or ''."""
    for line in reversed(getattr(run.feedback, "lines", [])):
        if line.startswith(ID_MARKER):
            return line[len(ID_MARKER):].strip()
    return ""
