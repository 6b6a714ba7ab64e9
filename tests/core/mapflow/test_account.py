"""The Mapflow account (core/mapflow/account.py): limits refuse area, parts and balance; lenient status parsing."""

from __future__ import annotations

import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsGeometry, QgsRectangle

from mapbridge.api.errors import MapbridgeError
from mapbridge.core.mapflow.account import Account, check_limits
from mapbridge.core.mapflow.aoi import build_aoi

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")


def test_limits_refuse_area_parts_and_balance():
    aoi = build_aoi([QgsGeometry.fromRect(QgsRectangle(0, 0, 0.1, 0.1))], WGS84)  # ~123 km²
    with pytest.raises(MapbridgeError, match="over your account's AOI limit of 25 km²"):
        check_limits(Account(aoi_area_limit_m2=25e6), aoi)
    with pytest.raises(MapbridgeError, match="costs 50 credits but 10 are left"):
        check_limits(Account(billing_type="CREDITS", remaining_credits=10), aoi, cost=50)
    with pytest.raises(MapbridgeError, match="km² of processing area is left"):
        check_limits(Account(billing_type="AREA", remaining_area_m2=1e6), aoi)
    check_limits(Account(), aoi)  # nothing known: nothing refused here (the service decides)
    lenient = Account.from_status({"aoiAreaLimit": "25000000", "dataProviders": ["Mapbox", {"name": "Esri"}],
                                   "remainingCredits": None, "unknown": 1})
    assert lenient.aoi_area_limit_m2 == 25e6 and lenient.provider_names() == ["Mapbox", "Esri"]
