"""What the Mapflow account allows: models, providers, AOI limit, balance, and the checks before spending."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...api.errors import MapbridgeError, ServiceError
from .choices import FALLBACK_MODELS, FALLBACK_PROVIDERS

MAPFLOW = "mapflow"


@dataclass
class Account:
    """The parts of GET /user/status Mapbridge uses (all optional: parsed leniently)."""

    billing_type: str = ""
    remaining_credits: float | None = None
    remaining_area_m2: float | None = None
    aoi_area_limit_m2: float | None = None
    max_aois: int | None = None
    providers: list = field(default_factory=list)  # [{name, displayName, minAreaSqKm, price}]
    raw: dict = field(default_factory=dict)

    @classmethod
    def from_status(cls, status):
        """Parse a /user/status answer."""
        status = status if isinstance(status, dict) else {}
        providers = []
        for item in status.get("dataProviders") or []:
            if isinstance(item, dict) and item.get("name"):
                providers.append(item)
            elif isinstance(item, str):
                providers.append({"name": item})
        return cls(
            billing_type=str(status.get("billingType") or ""),
            remaining_credits=_number(status.get("remainingCredits")),
            remaining_area_m2=_number(status.get("remainingArea")),
            aoi_area_limit_m2=_number(status.get("aoiAreaLimit")),
            max_aois=int(_number(status.get("maxAoisPerProcessing")) or 0) or None,
            providers=providers,
            raw=status,
        )

    def provider_names(self):
        """Data provider names of the account, or the fallback list."""
        return [p["name"] for p in self.providers] or list(FALLBACK_PROVIDERS)

    def provider(self, name):
        """The provider dict of a name, or None."""
        return next((p for p in self.providers if p.get("name") == name), None)

    def balance_text(self):
        """The balance in words, e.g. '4990 credits' or '95.0 km² of area'."""
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
            return f"AOI limit {self.aoi_area_limit_m2 / 1e6:g} km²"
        return "AOI limit unknown"


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value) if isinstance(value, str) else None
    except ValueError:
        return None


def read_account(client):
    """The account (GET /user/status)."""
    return Account.from_status(client.user_status())


def model_names(project):
    """Workflow (model) names of a project answer, or the fallback list."""
    names = []
    for wd in (project or {}).get("workflowDefs") or []:
        if isinstance(wd, dict) and wd.get("name"):
            names.append(wd["name"])
    return names or list(FALLBACK_MODELS)


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
    if account.aoi_area_limit_m2 and aoi.area_m2 > account.aoi_area_limit_m2:
        raise MapbridgeError(
            f"the AOI is {aoi.area_km2:.2f} km², over your account's AOI limit of "
            f"{account.aoi_area_limit_m2 / 1e6:g} km²; nothing was sent",
            service=MAPFLOW, hint="Draw or select a smaller area, or split it into several processings")
    if account.max_aois and aoi.part_count > account.max_aois:
        raise MapbridgeError(
            f"the AOI has {aoi.part_count} separate polygons; your account allows {account.max_aois} per processing; "
            "nothing was sent", service=MAPFLOW, hint="Merge the polygons or run several processings")
    kind = account.billing_type.upper()
    if kind == "AREA" and account.remaining_area_m2 is not None and aoi.area_m2 > account.remaining_area_m2:
        raise MapbridgeError(
            f"the AOI is {aoi.area_km2:.2f} km² but only {account.remaining_area_m2 / 1e6:.2f} km² of processing "
            "area is left; nothing was sent", service=MAPFLOW, hint="Top up the account on mapflow.ai")
    if kind == "CREDITS" and cost is not None and account.remaining_credits is not None \
            and cost > account.remaining_credits:
        raise MapbridgeError(
            f"the processing costs {cost:g} credits but {account.remaining_credits:g} are left; nothing was sent",
            service=MAPFLOW, hint="Top up the account on mapflow.ai or choose a smaller area")


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
    """The account, its projects (default first, labelled, with their model names) and the default models."""
    account = read_account(client)
    default = client.default_project() or {}
    default_id = default.get("id") or ""
    models = model_names(default)
    projects = [{"id": default_id, "label": f"Default ({default.get('name') or 'default project'})",
                 "models": models}] if default_id else []
    for project in client.projects() or []:
        if isinstance(project, dict) and project.get("id") and project["id"] != default_id:
            projects.append({"id": project["id"], "label": project.get("name") or project["id"],
                             "models": model_names(project) if project.get("workflowDefs") else []})
    return {"account": account, "models": models, "projects": projects}


def create_project(client, name):
    """POST /projects; the new project (its id checked)."""
    project = client.create_project(name, "Created from QGIS (Mapbridge)")
    if not isinstance(project, dict) or not project.get("id"):
        raise ServiceError("the project was created but its id is missing from the answer", service=MAPFLOW,
                           hint="Refresh the project list")
    return project
