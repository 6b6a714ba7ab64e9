"""Imagery sources as sourceParams and back (core/mapflow/sources.py)."""

from __future__ import annotations

import pytest

from mapbridge.api.errors import MapbridgeError
from mapbridge.core.mapflow import sources


def test_every_source_as_source_params_and_back():
    provider = sources.provider_source("Maxar SecureWatch", 17)
    assert provider.source_params() == {"dataProvider": {"providerName": "Maxar SecureWatch", "zoom": 17}}
    images = sources.catalog_source([{"id": "a", "providerName": "Maxar", "zoom": 18, "acquisitionDate": "2021-07-07"},
                                     {"id": "b", "providerName": "Maxar", "zoom": 17, "acquisitionDate": "2020-01-01"}])
    assert images.source_params() == {"imagerySearch": {"dataProvider": "maxar", "imageIds": ["a", "b"], "zoom": 17}}
    assert images.describe() == "2 Maxar images of 2020-01-01–2021-07-07"
    with pytest.raises(MapbridgeError, match="several providers"):
        sources.catalog_source([{"id": "a", "providerName": "Maxar"}, {"id": "b", "providerName": "Airbus"}])
    mosaic = sources.my_imagery_source("m1", label="My imagery: drone")
    assert mosaic.source_params() == {"myImagery": {"mosaicId": "m1"}}
    assert sources.my_imagery_source("", ["i1"]).source_params() == {"myImagery": {"imageIds": ["i1"]}}
    custom = sources.custom_source("https://t.example/{z}/{x}/{y}.png", "tms", 18, "EPSG:3395", "me", "secret")
    params = custom.source_params()["userDefined"]
    assert params == {"sourceType": "TMS", "url": "https://t.example/{z}/{x}/{y}.png", "crs": "epsg:3395",
                      "zoom": 18, "rasterLogin": "me", "rasterPassword": "secret"}
    assert "secret" not in custom.describe() and "secret" not in repr(custom)
    with pytest.raises(MapbridgeError, match="needs {q}"):
        sources.custom_source("https://t.example/{z}/{x}/{y}", "QUADKEY")
    for source in (provider, images, mosaic, custom):
        back = sources.source_from_params({"sourceParams": source.source_params()})
        assert back.kind == source.kind and back.source_params()[next(iter(back.source_params()))].keys() <= \
            source.source_params()[next(iter(source.source_params()))].keys()
    assert sources.source_from_params(None).provider == "Mapbox"
