"""Mapflow models (workflowDefs) with their optional blocks, and imagery providers with their zooms and prices."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...api.json_values import json_number as number


@dataclass
class Block:
    """One block of a model; an optional one is a user choice that adds its price."""

    name: str
    display_name: str = ""
    price: float = 0.0
    optional: bool = False

    @property
    def label(self):
        """The name shown to the user."""
        return self.display_name or self.name


@dataclass
class Model:
    """A workflowDef: {id, name, description, pricePerSqKm, blocks}."""

    id: str
    name: str
    description: str = ""
    price: float | None = None
    blocks: list = field(default_factory=list)

    @classmethod
    def from_json(cls, item):
        """Parse one workflowDef leniently; None when it has no name."""
        if not isinstance(item, dict) or not item.get("name"):
            return None
        blocks = []
        for block in item.get("blocks") or []:
            if isinstance(block, dict) and block.get("name"):
                blocks.append(Block(str(block["name"]), str(block.get("displayName") or ""),
                                    number(block.get("price")) or 0.0, bool(block.get("optional"))))
        return cls(str(item.get("id") or ""), str(item["name"]), str(item.get("description") or ""),
                   number(item.get("pricePerSqKm")), blocks)

    @property
    def optional_blocks(self):
        """The blocks the user chooses, in the model's order."""
        return [b for b in self.blocks if b.optional]

    def blocks_body(self, enabled):
        """The create body's `blocks`: every optional block in order with enabled true/false ([] when none)."""
        enabled = set(enabled or ())
        return [{"name": b.name, "enabled": b.name in enabled} for b in self.optional_blocks]

    def unknown_options(self, enabled):
        """Names asked for that are not optional blocks of this model."""
        known = {b.name for b in self.optional_blocks} | {b.display_name for b in self.optional_blocks}
        return [name for name in enabled or () if name not in known]

    def option_names(self, wanted):
        """Block names of the wanted options (given by name or display name)."""
        wanted = set(wanted or ())
        return [b.name for b in self.optional_blocks if b.name in wanted or b.display_name in wanted]


def models_of(project):
    """The models of a project answer (GET /projects/{id} or /projects/default)."""
    models = []
    for item in (project or {}).get("workflowDefs") or [] if isinstance(project, dict) else []:
        model = Model.from_json(item)
        if model is not None:
            models.append(model)
    return models


def find_model(models, wanted):
    """The model whose name or id is `wanted` (exact first, then ignoring case and emoji), or None."""
    wanted = (wanted or "").strip()
    for model in models:
        if wanted in (model.name, model.id):
            return model
    plain = _plain(wanted)
    matches = [m for m in models if _plain(m.name) == plain]
    return matches[0] if len(matches) == 1 else None


def _plain(name):
    """A model name without emoji and case ("🏠 Buildings" → "buildings")."""
    return "".join(c for c in name if c.isalnum() or c == " ").strip().lower()


@dataclass
class Provider:
    """A data provider of /user/status: {id, name, displayName, price: [{zoom, priceSqKm}], minAreaSqKm}."""

    name: str
    display_name: str = ""
    prices: dict = field(default_factory=dict)   # zoom -> price per km²
    min_area_km2: float = 0.0
    preview_url: str = ""
    id: str = ""

    @classmethod
    def from_json(cls, item):
        """Parse one provider leniently (a bare string is a name); None when it has no name."""
        if isinstance(item, str):
            return cls(item)
        if not isinstance(item, dict) or not item.get("name"):
            return None
        prices = {}
        for price in item.get("price") or []:
            zoom = number((price or {}).get("zoom")) if isinstance(price, dict) else None
            if zoom is not None:
                prices[int(zoom)] = number(price.get("priceSqKm")) or 0.0
        return cls(str(item["name"]), str(item.get("displayName") or ""), prices,
                   number(item.get("minAreaSqKm")) or 0.0, str(item.get("previewUrl") or ""),
                   str(item.get("id") or ""))

    @property
    def label(self):
        """The name shown to the user."""
        return self.display_name or self.name

    @property
    def zooms(self):
        """The zooms the provider prices, ascending (empty: not known)."""
        return sorted(self.prices)

    def default_zoom(self):
        """The highest priced zoom, or None when none is known."""
        return self.zooms[-1] if self.prices else None


def providers_of(items):
    """Providers of a /user/status list (dataProviders or searchDataProviders)."""
    found = []
    for item in items or []:
        provider = Provider.from_json(item)
        if provider is not None:
            found.append(provider)
    return found
