"""What stands in the way of a processing, known before Start: limits, balance, model, provider, zoom, minimum area.

The dock shows these live as the choices change; the start sequence refuses the blocking ones before spending.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sources import CATALOG, PROVIDER


@dataclass
class Problem:
    """One reason a processing cannot (blocking) or may not do what the user expects."""

    text: str
    hint: str = ""
    blocking: bool = True

    def sentence(self):
        """The text as a sentence for the dock."""
        return self.text[:1].upper() + self.text[1:] + "."


def limit_problems(account, aoi, cost=None):
    """The AOI against the account's limits, and the balance against the area or the cost."""
    found = []
    if account.aoi_area_limit_m2 and aoi.area_m2 > account.aoi_area_limit_m2:
        found.append(Problem(f"the AOI is {aoi.area_km2:.2f} km², over your account's AOI limit of "
                             f"{account.aoi_area_limit_m2 / 1e6:g} km²",
                             "Draw or select a smaller area, or split it into several processings"))
    if account.max_aois and aoi.part_count > account.max_aois:
        found.append(Problem(f"the AOI has {aoi.part_count} separate polygons; your account allows "
                             f"{account.max_aois} per processing", "Merge the polygons or run several processings"))
    kind = account.billing_type.upper()
    if kind == "AREA" and account.remaining_area_m2 is not None and aoi.area_m2 > account.remaining_area_m2:
        found.append(Problem(f"the AOI is {aoi.area_km2:.2f} km² but only {account.remaining_area_m2 / 1e6:.2f} km² "
                             "of processing area is left", "Top up the account on mapflow.ai"))
    if kind == "CREDITS" and cost is not None and account.remaining_credits is not None \
            and cost > account.remaining_credits:
        found.append(Problem(f"the processing costs {cost:g} credits but {account.remaining_credits:g} are left",
                             "Top up the account on mapflow.ai or choose a smaller area"))
    return found


def model_problems(models, wanted, options=()):
    """A model the project does not have (the list of models known), or options it does not offer."""
    from .models import find_model

    if not models:
        return []   # not known: the service decides
    model = find_model(models, wanted)
    if model is None:
        return [Problem(f"the model '{wanted}' is not available in this project (models: "
                        f"{', '.join(m.name for m in models)})", "Pick one of the project's models")]
    unknown = model.unknown_options(options)
    if unknown:
        offered = ", ".join(b.name for b in model.optional_blocks) or "none"
        return [Problem(f"{model.name} has no option {', '.join(unknown)} (options: {offered})",
                        "Choose among the model's options")]
    return []


def source_problems(account, aoi, source):
    """The imagery source against the account: a provider it lacks, an unpriced zoom, the provider's minimum area."""
    if source is None or source.kind not in (PROVIDER, CATALOG):
        return []
    provider = account.provider(source.provider)
    known = account.providers if source.kind == PROVIDER else account.search_providers
    if provider is None:
        if known and source.kind == PROVIDER:
            names = ", ".join(p.label for p in known)
            return [Problem(f"your account has no imagery provider '{source.provider}' (providers: {names})",
                            "Pick one of the account's providers")]
        return []
    found = []
    if source.kind == PROVIDER and source.zoom and provider.prices and source.zoom not in provider.prices:
        zooms = ", ".join(str(z) for z in provider.zooms)
        found.append(Problem(f"{provider.label} does not offer zoom {source.zoom} (zooms: {zooms})",
                             "Pick one of the provider's zooms"))
    if aoi is not None and provider.min_area_km2 and aoi.area_km2 < provider.min_area_km2:
        found.append(Problem(f"the AOI is {aoi.area_km2:.3f} km²; {provider.label} needs at least "
                             f"{provider.min_area_km2:g} km²", "Draw a larger area or pick another provider"))
    return found


def problems(account, aoi, source=None, models=(), model="", options=(), cost=None):
    """Every problem known before Start, blocking ones first."""
    found = model_problems(models, model, options) + source_problems(account, aoi, source)
    if aoi is not None:
        found = limit_problems(account, aoi, cost) + found
    return sorted(found, key=lambda p: not p.blocking)
