"""The one Mapflow start sequence, for the dock and `mapbridge:mapflow_process` alike.

plan(): validated AOI → account (read leniently) → project (models, owner limits) → model, options, source and limits
checked → request body → cost → limits with cost.
start(): POST the planned body. Nothing is spent before start(); the dock shows plan() to the user in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from ...api.errors import MapbridgeError, ServiceError
from .account import Account, check_limits, price_preview, read_account
from .checks import problems
from .choices import DEFAULT_MODEL, DEFAULT_PROVIDER, DEFAULT_ZOOM
from .models import find_model, models_of
from .processings import processing_body, start_processing
from .sources import CATALOG, Source, provider_source

MAPFLOW = "mapflow"


@dataclass
class Choice:
    """What the user asked for (empty values take the defaults)."""

    name: str = ""
    model: str = DEFAULT_MODEL
    provider: str = DEFAULT_PROVIDER
    zoom: int = DEFAULT_ZOOM
    project_id: str = ""
    image_id: str = ""          # one or several catalog image ids, comma-separated (of `provider`)
    options: tuple = ()         # the model's optional blocks switched on (names or display names)
    source: Source = None       # the imagery; built from provider/zoom/image_id when not given

    def __post_init__(self):
        self.model = (self.model or "").strip() or DEFAULT_MODEL
        self.provider = (self.provider or "").strip() or DEFAULT_PROVIDER
        self.image_id = (self.image_id or "").strip()
        self.project_id = (self.project_id or "").strip()
        self.name = (self.name or "").strip() or default_name(self.model)
        self.options = tuple(o.strip() for o in self.options or () if o and o.strip())
        if self.source is None:
            ids = [i.strip() for i in self.image_id.split(",") if i.strip()]
            self.source = Source(CATALOG, provider=self.provider, zoom=self.zoom, image_ids=ids) if ids \
                else provider_source(self.provider, self.zoom)


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
        return [
            f"Name: {choice.name}",
            f"Area: {aoi.area_km2:.3f} km² (ellipsoidal)" + (f", {aoi.part_count} polygons" if aoi.part_count > 1
                                                            else ""),
            f"Model: {choice.model}",
            f"Options: {', '.join(choice.options) or 'none'}",
            f"Imagery: {choice.source.describe()}",
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


def read_project(client, project_id, notes):
    """(project id, project answer) of the chosen project, or of the default one when none is chosen.

    The chosen project's answer is read leniently (its models and owner limits refine the checks); the default
    project must be readable, since its id is needed."""
    if not project_id:
        project = client.default_project() or {}
        if not isinstance(project, dict) or not project.get("id"):
            raise ServiceError("the default project has no id", service=MAPFLOW,
                               hint="Give a PROJECT_ID, or check the account on mapflow.ai")
        return str(project["id"]), project
    try:
        project = client.project(project_id)
    except ServiceError as exc:
        if exc.status in (401, 403, 404):
            raise
        notes.append(f"The project could not be read ({exc.message}); its models are not checked here.")
        project = {}
    return project_id, project if isinstance(project, dict) else {}


def request_body(choice, aoi, project_id, models):
    """(create body, Model or None, option block names) of a choice: the body the cost is asked with and sent."""
    model = find_model(models, choice.model)
    options = tuple(model.option_names(choice.options)) if model else choice.options
    body = processing_body(choice.name, model.name if model else choice.model, aoi.geojson(),
                           project_id=project_id, model_id=model.id if model and model.id else None,
                           blocks=model.blocks_body(options) if model else None, source=choice.source)
    return body, model, options


def refuse_problems(found):
    """Raise the first blocking problem: nothing is sent."""
    for problem in found:
        if problem.blocking:
            raise MapbridgeError(f"{problem.text}; nothing was sent", service=MAPFLOW, hint=problem.hint)


def plan(client, aoi, choice, feedback=None):
    """Everything before spending: account, project, model, options, source and limits, body and cost; raises when
    it must be refused."""
    notes = []
    account = read_account_leniently(client, notes)
    project_id, project = read_project(client, choice.project_id, notes)
    account = account.with_project(project)
    models = models_of(project)
    refuse_problems(problems(account, aoi, choice.source, models, choice.model, choice.options))
    body, model, options = request_body(choice, aoi, project_id, models)
    cost, cost_note = price_preview(client, body)
    check_limits(account, aoi, cost)
    resolved = replace(choice, model=model.name if model else choice.model, project_id=project_id, options=options)
    result = Plan(resolved, aoi, body, account, cost, cost_note, notes)
    if feedback is not None:
        for note in notes:
            feedback.pushWarning(note)
        for line in result.summary_lines():
            feedback.pushInfo(line)
    return result


def start(client, planned):
    """POST the planned processing; returns the service's answer (with the new id)."""
    return start_processing(client, planned.body)
