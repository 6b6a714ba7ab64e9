"""Mapflow catalog search (core/mapflow/catalog.py): the request body, dates in ISO UTC, footprint fields."""

from __future__ import annotations

import pytest

from mapbridge.api.errors import MapbridgeError
from mapbridge.core.mapflow.catalog import search_body
from mapbridge.core.timestamps import date_to_iso_utc


def test_catalog_body_and_dates():
    body = search_body({"type": "Polygon"}, date_from=date_to_iso_utc("2021-01-01"),
                       date_to=date_to_iso_utc("2021-02-01", True),
                       max_cloud_percent=35, min_resolution=0.3)
    assert body["maxCloudCover"] == pytest.approx(0.35) and body["acquisitionDateTo"] == "2021-02-01T23:59:59Z"
    assert "maxResolution" not in body
    with pytest.raises(MapbridgeError, match="larger than the maximum"):
        search_body({}, min_resolution=2, max_resolution=1)


def test_footprint_field_types():
    from mapbridge.core.mapflow.catalog import footprint_features, footprint_fields
    from mapbridge.core.qgis_compat import FIELD_DOUBLE, FIELD_STRING

    images = [{"id": "a", "cloudCover": 0.2, "sensor": "WV3", "extra": 7, "footprint": {
        "type": "Polygon", "coordinates": [[[37.0, 55.0], [37.1, 55.0], [37.1, 55.1], [37.0, 55.0]]]}}]
    fields = footprint_fields(images)
    assert fields.field("cloudCover").type() == FIELD_DOUBLE and fields.field("id").type() == FIELD_STRING
    assert fields.field("extra").type() == FIELD_DOUBLE
    feature = footprint_features(images, fields)[0]
    assert feature["cloudCover"] == pytest.approx(0.2) and feature["sensor"] == "WV3"
    assert feature.geometry().isMultipart() and not feature.geometry().isEmpty()


def test_a_catalog_that_ignores_the_offset_is_refused_as_incomplete(sandbox):
    from qgis.core import QgsGeometry, QgsProcessingFeedback, QgsRectangle

    from mapbridge.api.config import ServiceConfig
    from mapbridge.api.errors import ServiceError
    from mapbridge.api.mapflow import MapflowClient
    from mapbridge.core.mapflow.aoi import Aoi
    from mapbridge.core.mapflow.catalog import search_catalog

    client = MapflowClient(ServiceConfig("mapflow", sandbox.base_urls["mapflow"], sandbox.tokens["mapflow"]))
    aoi = Aoi(QgsGeometry.fromRect(QgsRectangle(37.34396, 55.67311, 37.35926, 55.67997)), 1e6)
    assert len(search_catalog(client, aoi, QgsProcessingFeedback(), limit=1)) >= 2, "the search pages by one"
    sandbox.clear_requests()
    sandbox.add_fault("mapflow", "no_paging", method="POST", path="^/catalog/meta$", count=None, position=1)
    with pytest.raises(ServiceError, match="ignores paging; the listing is incomplete"):
        search_catalog(client, aoi, QgsProcessingFeedback(), limit=1)
    assert len(sandbox.requests) == 2
    client.close()
