"""mapbridge:mapflow_catalog against the sandbox: filters as the API wants them, footprints, multipolygon AOIs."""

from __future__ import annotations

import pytest
from qgis.core import QgsGeometry, QgsProcessingException, QgsRectangle, QgsVectorLayer

from mapbridge.tests.processing.mapflow_helpers import polygon_layer, run

pytestmark = pytest.mark.usefixtures("fresh_runs", "mapbridge_processing")  # tests/conftest.py

# The Data API page's example search area (inside its example image's footprint).
DOC_AOI = QgsRectangle(37.34396696090698, 55.6731196654679, 37.35926628112793, 55.67997991819218)


def catalog_posts(sandbox):
    return [r for r in sandbox.requests if r.method == "POST" and r.path == "/catalog/meta"]


def test_catalog_sends_filters_as_the_api_wants_and_writes_footprints(sandbox_env, tmp_gpkg):
    sandbox = sandbox_env
    result, feedback = run("mapbridge:mapflow_catalog", {
        "AOI": polygon_layer([QgsGeometry.fromRect(DOC_AOI)]), "DATE_FROM": "2021-01-01", "DATE_TO": "2021-12-31",
        "MAX_CLOUD": 10, "MIN_RESOLUTION": 0.3, "MAX_RESOLUTION": 0.31, "OUTPUT": tmp_gpkg})
    request = catalog_posts(sandbox)[0]
    body = request.json
    assert body["maxCloudCover"] == pytest.approx(0.1)  # percent in, fraction out
    assert body["minResolution"] == 0.3 and body["maxResolution"] == 0.31
    assert body["acquisitionDateFrom"] == "2021-01-01T00:00:00Z"
    assert body["acquisitionDateTo"] == "2021-12-31T23:59:59Z"
    assert body["aoi"]["type"] == "Polygon"
    assert request.headers["authorization"].startswith("Basic ")
    layer = QgsVectorLayer(result["OUTPUT"], "footprints", "ogr")
    assert layer.isValid() and layer.featureCount() == result["IMAGE_COUNT"] >= 1
    ids = [f["id"] for f in layer.getFeatures()]
    assert "a518230a236664891bfb2d8041028a59" in ids  # the documented example image
    doc = next(f for f in layer.getFeatures() if f["id"] == "a518230a236664891bfb2d8041028a59")
    assert doc["sensor"] == "WV03_VNIR" and doc["pixelResolution"] == pytest.approx(0.31)
    assert doc.geometry().boundingBox().contains(DOC_AOI)
    for feature in layer.getFeatures():
        assert feature["cloudCover"] <= 0.1 and 0.3 <= feature["pixelResolution"] <= 0.31
        assert "2021-01-01" <= feature["acquisitionDate"][:10] <= "2021-12-31"


def test_catalog_without_filters_sends_none_and_bad_cloud_is_refused(sandbox_env):
    sandbox = sandbox_env
    result, _ = run("mapbridge:mapflow_catalog", {"AOI": polygon_layer([QgsGeometry.fromRect(DOC_AOI)]),
                                                  "OUTPUT": "TEMPORARY_OUTPUT"})
    body = catalog_posts(sandbox)[0].json
    assert not {"maxCloudCover", "acquisitionDateFrom", "acquisitionDateTo", "minResolution", "maxResolution"} \
        & set(body)
    assert result["IMAGE_COUNT"] >= 1
    with pytest.raises(QgsProcessingException):
        run("mapbridge:mapflow_catalog", {"AOI": polygon_layer([QgsGeometry.fromRect(DOC_AOI)]),
                                          "MAX_CLOUD": 150, "OUTPUT": "TEMPORARY_OUTPUT"})


def test_catalog_over_a_multipolygon_searches_each_polygon(sandbox_env):
    sandbox = sandbox_env
    london = QgsRectangle(-0.13, 51.49, -0.11, 51.51)
    result, feedback = run("mapbridge:mapflow_catalog", {
        "AOI": polygon_layer([QgsGeometry.fromRect(DOC_AOI), QgsGeometry.fromRect(london)]),
        "OUTPUT": "TEMPORARY_OUTPUT"})
    bodies = [r.json for r in catalog_posts(sandbox)]
    assert len(bodies) == 2 and all(b["aoi"]["type"] == "Polygon" for b in bodies)
    assert any("each is searched" in line for line in feedback.lines)
    assert result["IMAGE_COUNT"] >= 2


@pytest.mark.parametrize("date_from,date_to", [("2022-01-01", "2021-12-31"), ("2021-06-02", "2021-06-01")])
def test_date_from_after_date_to_is_refused_before_anything_is_sent(sandbox_env, tmp_gpkg, date_from, date_to):
    sandbox = sandbox_env
    with pytest.raises(QgsProcessingException) as info:
        run("mapbridge:mapflow_catalog", {"AOI": polygon_layer([QgsGeometry.fromRect(DOC_AOI)]),
                                          "DATE_FROM": date_from, "DATE_TO": date_to, "OUTPUT": tmp_gpkg})
    text = str(info.value)
    assert "Mapflow" in text and "after it ends" in text and "Swap DATE_FROM and DATE_TO" in text
    assert not sandbox.requests


def test_a_single_day_range_is_accepted(sandbox_env, tmp_gpkg):
    run("mapbridge:mapflow_catalog", {"AOI": polygon_layer([QgsGeometry.fromRect(DOC_AOI)]),
                                      "DATE_FROM": "2021-07-07", "DATE_TO": "2021-07-07", "OUTPUT": tmp_gpkg})
    body = catalog_posts(sandbox_env)[0].json
    assert body["acquisitionDateFrom"] == "2021-07-07T00:00:00Z" and body["acquisitionDateTo"] == "2021-07-07T23:59:59Z"
