"""The one Mapflow start sequence, for the dock and `mapbridge:mapflow_process` alike.

plan(): validated AOI → account (read leniently) → project (models, owner limits) → model, options, source and limits
checked → request body (with a client-side marker in `meta`) → cost → limits with cost.
start(): POST the planned body once. Nothing is spent before start(); the dock shows plan() to the user in between.
A start whose answer is lost (5xx, timeout, dropped connection) may have created and charged the processing: it is
never sent again; the project's processings are searched for the name and marker, and the user is told what was
found.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime

from ...api.errors import CancelledError, MapbridgeError, OutcomeUnknownError, ServiceError
from .account import Account, check_limits, price_preview, read_account
from .checks import problems
from .choices import DEFAULT_MODEL, DEFAULT_PROVIDER, DEFAULT_ZOOM
from .models import find_model, models_of
from .processings import processing_body, start_processing
from .sources import CATALOG, Source, provider_source

MAPFLOW = "mapflow"
# A key of the `meta` of every processing Mapbridge starts: a marker unique to the plan, to recognise it.
MARKER_KEY = "mapbridge-request-id"
# After a lost answer: look for the processing this many times, these seconds apart (a gateway may answer before
# the service has stored it); the project's list is read at most LOOKUP_PAGES pages of LOOKUP_PAGE_SIZE.
LOOKUP_DELAYS = (0.0, 2.0, 5.0)
LOOKUP_PAGES = 10
LOOKUP_PAGE_SIZE = 50


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
    started: dict | None = None                 # the processing once start() created (or found) it

    @property
    def marker(self):
        """The client-side marker this plan's processing carries in `meta`."""
        return (self.body.get("meta") or {}).get(MARKER_KEY)

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
            self.cost_line(),
            f"Account: {self.account.balance_text()}, {self.account.limit_text()}",
        ]

    def cost_line(self):
        """What the processing costs in the account's own terms (credits, processing area, or nothing)."""
        kind = self.account.billing_type.upper()
        if kind == "AREA":
            return f"Cost: {self.aoi.area_km2:.3f} km² of processing area"
        if kind == "NONE":
            return "Cost: nothing (no billing on this account)"
        if self.cost is not None:
            return f"Cost: {self.cost:g} credits"
        return f"Cost: not known in advance. {self.cost_note}".strip()

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
        if exc.status == 404:
            raise MapbridgeError(f"the project {project_id} was not found; nothing was sent", service=MAPFLOW,
                                 hint="Choose one of your projects (PROJECT_ID), or leave it empty for the default "
                                      "project") from None
        if exc.status in (401, 403):
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
    body["meta"][MARKER_KEY] = uuid.uuid4().hex
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


def start(client, planned, feedback=None, delays=LOOKUP_DELAYS, sleep=time.sleep):
    """POST the planned processing once; returns the processing (the service's answer, or the one found after a
    lost answer). Never sends the same plan twice."""
    if planned.started is not None:
        return planned.started
    try:
        answer = start_processing(client, planned.body)
    except OutcomeUnknownError as exc:
        answer = _recover(client, planned, exc, feedback, delays, sleep)
    planned.started = answer
    return answer


def _recover(client, planned, exc, feedback, delays, sleep):
    """After a lost answer: find the processing by its name and marker, or say clearly what is known."""
    name, project_id = planned.choice.name, planned.choice.project_id
    _say(feedback, f"Mapflow: the start of '{name}' got no clear answer ({exc.message}); looking in project "
                   f"{project_id} for it before anything is sent again")
    lookup_error, namesakes = None, []
    for delay in delays:
        _wait(delay, feedback, sleep)
        try:
            found, namesakes = find_started(client, planned)
        except ServiceError as error:
            lookup_error = error
            continue
        lookup_error = None
        if found is not None:
            _say(feedback, f"Mapflow: the processing '{name}' had been created (id {found.get('id')}); it is "
                           "followed, not started again")
            return found
    if lookup_error is not None:
        raise MapbridgeError(
            f"no answer to the start of '{name}' and the project's processings could not be read "
            f"({lookup_error.message}): it may or may not have been created and charged; nothing was sent again",
            service=MAPFLOW, details=exc.details,
            hint="Look at the processings list in the Mapflow tab (or on mapflow.ai) before starting it again")
    if namesakes:
        ids = ", ".join(str(p.get("id")) for p in namesakes[:5])
        raise MapbridgeError(
            f"no answer to the start of '{name}'; project {project_id} holds processings of that name ({ids}) but "
            "none carries this run's marker, so whether one of them is this start cannot be told; nothing was sent "
            "again", service=MAPFLOW, details=exc.details,
            hint="Check those processings in the Mapflow tab before starting it again")
    raise MapbridgeError(
        f"no answer to the start of '{name}', and project {project_id} holds no processing of that name "
        f"(looked {len(delays):,} times): it was not created as far as Mapflow shows; nothing was sent again",
        service=MAPFLOW, details=exc.details,
        hint="Start it again; should it still appear in the Mapflow tab's list, it is this one")


def find_started(client, planned):
    """(the processing with this plan's name and marker, or None; processings of that name without the marker)."""
    name, project_id, marker = planned.choice.name, planned.choice.project_id, planned.marker
    namesakes = []
    for page_number in range(LOOKUP_PAGES):
        page = client.processings_page(project_id, limit=LOOKUP_PAGE_SIZE, offset=page_number * LOOKUP_PAGE_SIZE,
                                       sort_by="CREATED", sort_order="DESC")
        results = [p for p in page.get("results") or [] if isinstance(p, dict) and p.get("id")]
        for listed in results:
            if str(listed.get("name") or "").strip() != name:
                continue
            meta = listed.get("meta")
            if not isinstance(meta, dict):
                # The listing may leave meta out: the processing itself tells.
                full = client.processing(listed["id"])
                meta = full.get("meta") if isinstance(full, dict) else None
                listed = full if isinstance(full, dict) else listed
            if isinstance(meta, dict) and meta.get(MARKER_KEY) == marker:
                return listed, namesakes
            namesakes.append(listed)
        total = page.get("total")
        if len(results) < LOOKUP_PAGE_SIZE or (isinstance(total, int) and (page_number + 1) * LOOKUP_PAGE_SIZE
                                               >= total):
            break
    return None, namesakes


def _say(feedback, text):
    if feedback is not None:
        feedback.pushWarning(text)


def _wait(seconds, feedback, sleep):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if feedback is not None and feedback.isCanceled():
            raise CancelledError("Cancelled while looking for the processing whose start got no answer; look for "
                                 "it in the Mapflow tab before starting it again", service=MAPFLOW)
        sleep(min(0.1, max(0.0, deadline - time.monotonic())))
