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


@pytest.mark.parametrize("status", [422, 500])
def test_a_custom_source_password_never_reaches_an_error_that_echoes_the_body(sandbox, status):
    """A service (or gateway) echoing the create body in its error: rasterPassword is scrubbed from every text."""
    from mapbridge.api.config import ServiceConfig
    from mapbridge.api.errors import ServiceError
    from mapbridge.api.http import make_retry
    from mapbridge.api.mapflow import MapflowClient

    password = f"tile-pass/{status}+&word"
    source = sources.custom_source("https://tiles.example.com/{z}/{x}/{y}.jpg", login="tile-user", password=password)
    body = {"name": "Echoed", "wdName": "🏠 Buildings", "params": {"sourceParams": source.source_params()},
            "geometry": {"type": "Polygon", "coordinates": [[[37.61, 55.75], [37.62, 55.75], [37.62, 55.76],
                                                              [37.61, 55.75]]]}}
    sandbox.add_fault("mapflow", "echo", method="POST", path="^/processings/v2$", status=status, count=1)
    client = MapflowClient(ServiceConfig("mapflow", sandbox.base_urls["mapflow"], sandbox.tokens["mapflow"]),
                           retry=make_retry(backoff_factor=0.01))
    with pytest.raises(ServiceError) as info:
        client.create_processing(body)
    client.close()
    error = info.value
    texts = " ".join(t or "" for t in (str(error), error.details, error.server_message, repr(error.args)))
    assert "rasterLogin" in texts and "tile-user" in texts, "the error does carry the echoed body"
    assert "tile-pass" not in texts and "tile-pass\\/" not in texts


def test_the_password_of_an_authentication_configuration_is_registered_as_a_secret(qgis_app):
    from qgis.core import QgsApplication, QgsAuthMethodConfig

    from mapbridge.api.scrub import scrub

    config = QgsAuthMethodConfig("Basic")
    config.setName("tiles")
    config.setConfig("username", "tile-user")
    config.setConfig("password", "authdb-tile-secret")
    stored, config = QgsApplication.authManager().storeAuthenticationConfig(config)
    assert stored
    try:
        assert sources.login_of_authcfg(config.id()) == ("tile-user", "authdb-tile-secret")
    finally:
        QgsApplication.authManager().removeAuthenticationConfig(config.id())
    assert "authdb-tile-secret" not in scrub('{"rasterPassword": "authdb-tile-secret"}')
