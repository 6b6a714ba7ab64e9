"""What the Mapflow account allows: models, providers, AOI limit, balance, and the checks before spending."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ...api.errors import MapbridgeError, ServiceError
from .choices import FALLBACK_PROVIDERS
from .models import models_of, number, providers_of

MAPFLOW = "mapflow"


@dataclass
class Account:
    """The parts of GET /user/status Mapbridge uses (all optional: parsed leniently)."""

    billing_type: str = ""
    remaining_credits: float | None = None
    remaining_area_m2: float | None = None
    aoi_area_limit_m2: float | None = None
    max_aois: int | None = None
    providers: list = field(default_factory=list)   # [Provider] of dataProviders
    search_providers: list = field(default_factory=list)   # [Provider] of searchDataProviders
    search_area_limit_m2: float | None = None
    review_enabled: bool = False
    raw: dict = field(default_factory=dict)

    @classmethod
    def from_status(cls, status):
        """Parse a /user/status answer."""
        status = status if isinstance(status, dict) else {}
        return cls(
            billing_type=str(status.get("billingType") or ""),
            remaining_credits=number(status.get("remainingCredits")),
            remaining_area_m2=number(status.get("remainingArea")),
            aoi_area_limit_m2=number(status.get("aoiAreaLimit")),
            max_aois=int(number(status.get("maxAoisPerProcessing")) or 0) or None,
            providers=providers_of(status.get("dataProviders")),
            search_providers=providers_of(status.get("searchDataProviders")),
            search_area_limit_m2=number(status.get("searchAreaLimit")),
            review_enabled=status.get("reviewWorkflowEnabled") is True,
            raw=status,
        )

    def with_project(self, project):
        """The account as a project sees it: on a shared project the owner's limits (`user`) take precedence."""
        user = (project or {}).get("user") if isinstance(project, dict) else None
        if not isinstance(user, dict):
            return self
        limit = number(user.get("aoiAreaLimit"))
        area = number(user.get("areaLimit"))
        return replace(self, aoi_area_limit_m2=limit if limit is not None else self.aoi_area_limit_m2,
                       remaining_area_m2=area if area is not None and self.billing_type.upper() == "AREA"
                       else self.remaining_area_m2)

    def provider_names(self):
        """Data provider names of the account, or the fallback list."""
        return [p.name for p in self.providers] or list(FALLBACK_PROVIDERS)

    def provider(self, name):
        """The Provider of a name (data or catalog provider, case-insensitive for catalog ones), or None."""
        found = next((p for p in self.providers if p.name == name), None)
        return found or next((p for p in self.search_providers if p.name.lower() == (name or "").lower()), None)

    def balance_text(self):
        """The balance in words, e.g. '4990 credits left' or '95.00 km² of processing area left'."""
        kind = self.billing_type.upper()
        if kind == "AREA" and self.remaining_area_m2 is not None:
            return f"{self.remaining_area_m2 / 1e6:.2f} km² of processing area left"
        if self.remaining_credits is not None and kind != "NONE":
            return f"{self.remaining_credits:g} credits left"
        if kind == "NONE":
            return "no billing on this account"
        return "balance unknown"

    def limit_text(self):
        """The AOI limit in words."""
        if self.aoi_area_limit_m2:
            text = f"AOI limit {self.aoi_area_limit_m2 / 1e6:g} km²"
            return text + (f", {self.max_aois} polygons" if self.max_aois else "")
        return "AOI limit unknown"


def read_account(client):
    """The account (GET /user/status)."""
    return Account.from_status(client.user_status())


def read_balance(client, project_id=""):
    """(account, the project's own answer or None): balance and limits read again, with the project's owner limits
    (a shared project's `user` overrides /user/status, so it is read again too)."""
    account = read_account(client)
    project = client.project(project_id) if project_id else None
    return account, project if isinstance(project, dict) else None


def default_project_id(client):
    """The id of the user's default project (GET /projects/default)."""
    project = client.default_project() or {}
    project_id = project.get("id") if isinstance(project, dict) else None
    if not project_id:
        raise ServiceError("the default project has no id", service=MAPFLOW,
                           hint="Give a PROJECT_ID, or check the account on mapflow.ai")
    return project_id


def check_limits(account, aoi, cost=None):
    """Refuse, before anything is sent, an AOI over the account's limits or a cost over the balance."""
    from .checks import limit_problems

    for problem in limit_problems(account, aoi, cost):
        raise MapbridgeError(f"{problem.text}; nothing was sent", service=MAPFLOW, hint=problem.hint)


def price_preview(client, body):
    """(cost in credits or None, note) from POST /processing/cost/v2; only an auth error is raised."""
    try:
        cost = client.processing_cost(body)
    except ServiceError as exc:
        # Tolerated: the cost preview is optional; the processing request itself is the contract.
        if exc.status in (401, 403):
            raise
        if exc.status in (404, 405, 501):
            return None, "The service does not price processings in advance."
        return None, f"The cost could not be previewed: {exc.server_message or exc.message}."
    if cost is None:
        return None, "The service did not return a cost."
    return cost, ""


def account_overview(client):
    """The account, its projects (default first, labelled, with their models and owner limits), default models."""
    account = read_account(client)
    default = client.default_project() or {}
    default_id = default.get("id") or ""
    models = models_of(default)
    projects = [{"id": default_id, "label": f"Default ({default.get('name') or 'default project'})",
                 "models": models, "raw": default}] if default_id else []
    for project in client.projects() or []:
        if isinstance(project, dict) and project.get("id") and project["id"] != default_id:
            projects.append({"id": project["id"], "label": project.get("name") or project["id"],
                             "models": models_of(project), "raw": project})
    return {"account": account, "models": models, "projects": projects}


def create_project(client, name):
    """POST /projects; the new project (its id checked)."""
    project = client.create_project(name, "Created from QGIS (Mapbridge)")
    if not isinstance(project, dict) or not project.get("id"):
        raise ServiceError("the project was created but its id is missing from the answer", service=MAPFLOW,
                           hint="Refresh the project list")
    return project
