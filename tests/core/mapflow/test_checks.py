"""Problems known before Start (core/mapflow/checks.py): limits, balance, model, options, provider, zoom, area."""

from __future__ import annotations

from qgis.core import QgsCoordinateReferenceSystem, QgsGeometry, QgsRectangle

from mapbridge.core.mapflow.account import Account
from mapbridge.core.mapflow.aoi import build_aoi
from mapbridge.core.mapflow.checks import problems
from mapbridge.core.mapflow.models import models_of
from mapbridge.core.mapflow.sources import catalog_source, custom_source, provider_source

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")
STATUS = {"billingType": "CREDITS", "remainingCredits": 10, "aoiAreaLimit": 25e6, "maxAoisPerProcessing": 1,
          "dataProviders": [{"name": "Mapbox", "price": [{"zoom": 18, "priceSqKm": 1}]},
                            {"name": "S2", "displayName": "Sentinel-2", "price": [{"zoom": 14, "priceSqKm": 0.1}],
                             "minAreaSqKm": 1}],
          "searchDataProviders": [{"name": "Airbus", "price": [{"zoom": 17, "priceSqKm": 7}], "minAreaSqKm": 5}]}
MODELS = models_of({"workflowDefs": [{"id": "1", "name": "🏠 Buildings",
                                      "blocks": [{"name": "Heights", "optional": True}]}]})


def texts(found):
    return [p.sentence() for p in found]


def test_each_problem_in_words():
    account = Account.from_status(STATUS)
    small = build_aoi([QgsGeometry.fromRect(QgsRectangle(37.6, 55.75, 37.61, 55.755))], WGS84)   # ~0.35 km²
    two = build_aoi([QgsGeometry.fromRect(QgsRectangle(37.6, 55.75, 37.61, 55.755)),
                     QgsGeometry.fromRect(QgsRectangle(37.7, 55.75, 37.71, 55.755))], WGS84)
    assert problems(account, small, provider_source("Mapbox", 18), MODELS, "🏠 Buildings", ["Heights"], 5) == []
    assert texts(problems(account, small, provider_source("Mapbox", 18), MODELS, "🏠 Buildings", (), 50)) == [
        "The processing costs 50 credits but 10 are left."]
    assert "2 separate polygons; your account allows 1" in texts(problems(account, two))[0]
    assert "does not offer zoom 17 (zooms: 18)" in texts(problems(account, small, provider_source("Mapbox", 17)))[0]
    assert "Sentinel-2 needs at least 1 km²" in texts(problems(account, small, provider_source("S2", 14)))[0]
    assert "no imagery provider 'Esri'" in texts(problems(account, small, provider_source("Esri")))[0]
    assert "model 'Bildings' is not available" in texts(problems(account, small, None, MODELS, "Bildings"))[0]
    assert "has no option Wings" in texts(problems(account, small, None, MODELS, "🏠 Buildings", ["Wings"]))[0]
    airbus = catalog_source([{"id": "x", "providerName": "Airbus", "zoom": 17}])
    assert "Airbus needs at least 5 km²" in texts(problems(account, small, airbus))[0]
    assert problems(account, small, custom_source("https://t/{z}/{x}/{y}")) == []
    assert problems(Account(), small, provider_source("Anything", 3), [], "Anything") == []  # nothing known
