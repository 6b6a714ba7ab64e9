"""Models with optional blocks and providers with zooms (core/mapflow/models.py), parsed leniently."""

from __future__ import annotations

from mapbridge.core.mapflow.models import Provider, find_model, models_of, providers_of


def test_models_blocks_and_lookup():
    project = {"workflowDefs": [
        {"id": "wd1", "name": "🏠 Buildings", "pricePerSqKm": "5", "blocks": [
            {"name": "Buildings", "optional": False, "price": 5},
            {"name": "Classification", "displayName": "Building classes", "optional": True, "price": 1},
            {"name": "Heights", "optional": True, "price": 2.5}]},
        {"name": "🌲 Forest"}, {"id": "no name"}, "junk"]}
    models = models_of(project)
    assert [m.name for m in models] == ["🏠 Buildings", "🌲 Forest"]
    buildings = models[0]
    assert buildings.price == 5.0 and [b.name for b in buildings.optional_blocks] == ["Classification", "Heights"]
    assert buildings.blocks_body({"Heights"}) == [{"name": "Classification", "enabled": False},
                                                  {"name": "Heights", "enabled": True}]
    assert models[1].blocks_body({"x"}) == []
    assert buildings.option_names(["Building classes"]) == ["Classification"]
    assert buildings.unknown_options(["Wings", "Heights"]) == ["Wings"]
    assert find_model(models, "wd1") is buildings and find_model(models, "buildings") is buildings
    assert find_model(models, "Bildings") is None and models_of(None) == []


def test_providers_zooms_and_labels():
    providers = providers_of([{"name": "Maxar", "displayName": "Maxar SecureWatch",
                               "price": [{"zoom": 18, "priceSqKm": 6}, {"zoom": 17, "priceSqKm": 4}],
                               "minAreaSqKm": 0.5}, "Mapbox", {"displayName": "nameless"}])
    maxar, mapbox = providers
    assert maxar.zooms == [17, 18] and maxar.default_zoom() == 18 and maxar.label == "Maxar SecureWatch"
    assert maxar.min_area_km2 == 0.5 and maxar.prices[17] == 4.0
    assert mapbox == Provider("Mapbox") and mapbox.default_zoom() is None and mapbox.label == "Mapbox"
