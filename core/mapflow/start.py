"""The one Mapflow start sequence, for the dock and `mapbridge:mapflow_process` alike.

plan(): validated AOI → account (read leniently) → limits → project → request body → cost → limits with cost.
start(): POST the planned body. Nothing is spent before start(); the dock shows plan() to the user in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ...api.errors import ServiceError
from .account import Account, check_limits, default_project_id
from .account import price_preview, read_account
from .choices import DEFAULT_MODEL, DEFAULT_PROVIDER, DEFAULT_ZOOM
from .processings import processing_body, start_processing

MAPFLOW = "mapflow"


@dataclass
class Choice:
    """What the user asked for (empty values take the defaults)."""

    name: str = ""
    model: str = DEFAULT_MODEL
    provider: str = DEFAULT_PROVIDER
    zoom: int = DEFAULT_ZOOM
    project_id: str = ""
    image_id: str = ""

    def __post_init__(self):
        self.model = (self.model or "").strip() or DEFAULT_MODEL
        self.provider = (self.provider or "").strip() or DEFAULT_PROVIDER
        self.image_id = (self.image_id or "").strip()
        self.project_id = (self.project_id or "").strip()
        self.name = (self.name or "").strip() or default_name(self.model)


@dataclass
class Plan:
    """A processing ready to start: the request and everything the user is told before paying."""

    choice: Choice
    aoi: object
    body: dict
    account: Account
    cost: float | None
    cost_note: str
    notes: list = field(default_factory=list)   # warnings the user should see (account unreadable, repairs)

    def summary_lines(self):
        """What is logged and shown before starting: area, model, imagery, cost, account."""
        choice, aoi = self.choice, self.aoi
        imagery = (f"catalog image {choice.image_id} ({choice.provider})" if choice.image_id
                   else f"{choice.provider}, zoom {choice.zoom}")
        return [
            f"Name: {choice.name}",
            f"Area: {aoi.area_km2:.3f} km² (ellipsoidal)" + (f", {aoi.part_count} polygons" if aoi.part_count > 1
                                                            else ""),
            f"Model: {choice.model}",
            f"Imagery: {imagery}",
            f"Cost: {self.cost:g} credits" if self.cost is not None
            else f"Cost: not known in advance. {self.cost_note}".strip(),
            f"Account: {self.account.balance_text()}, {self.account.limit_text()}",
        ]

    def confirmation_text(self):
        """The question the dock asks before anything is spent."""
        lines = self.summary_lines() + list(self.aoi.notes) + list(self.notes)
        return "Start this Mapflow processing?\n\n" + "\n".join(lines)


def default_name(model, now=None):
    """A processing name when the user gave none: the model without its emoji, and the time."""
    return f"{model.split(' ', 1)[-1]} {(now or datetime.now()):%Y-%m-%d %H:%M}"


def read_account_leniently(client, notes):
    """The account; an unreadable status (other than auth) gives an empty Account and a note.

    Both doors go on then: the service checks the limits itself, and the user sees that ours could not be."""
    try:
        return read_account(client)
    except ServiceError as exc:
        if exc.status in (401, 403):
            raise
        notes.append(f"The account status could not be read ({exc.message}); limits are not checked here, "
                     "the service checks them.")
        return Account()


def plan(client, aoi, choice, feedback=None):
    """Everything before spending: account and limits, project, body and cost; raises when it must be refused."""
    notes = []
    account = read_account_leniently(client, notes)
    check_limits(account, aoi)
    project_id = choice.project_id or default_project_id(client)
    provider = choice.provider
    body = processing_body(choice.name, choice.model, aoi.geojson(), project_id=project_id, provider=provider,
                           zoom=choice.zoom, image_id=choice.image_id or None)
    cost, cost_note = price_preview(client, body)
    check_limits(account, aoi, cost)
    result = Plan(Choice(choice.name, choice.model, provider, choice.zoom, project_id, choice.image_id), aoi, body,
                  account, cost, cost_note, notes)
    if feedback is not None:
        for note in notes:
            feedback.pushWarning(note)
        for line in result.summary_lines():
            feedback.pushInfo(line)
    return result


def start(client, planned):
    """POST the planned processing; returns the service's answer (with the new id)."""
    return start_processing(client, planned.body)
