"""mapbridge:mapflow_process against the sandbox: AOI, limits, polling, the result layer."""

from __future__ import annotations

import json

import pytest
from osgeo import ogr
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsGeometry,
    QgsProcessingException,
    QgsProcessingFeatureSourceDefinition,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
    QgsWkbTypes,
)

from mapbridge.core.mapflow.tracked import TrackedProcessings
from mapbridge.tests.processing.mapflow_helpers import LogFeedback, polygon_layer, run
from mapbridge.tests.processing.mapflow_helpers import seed_processing_id as _seed_id

pytestmark = pytest.mark.usefixtures("fresh_runs", "mapbridge_processing")  # tests/conftest.py

MOSCOW = QgsRectangle(37.6156, 55.7558, 37.6256, 55.7608)  # the Processing page's example AOI


def in_3857(rect):
    transform = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"),
                                       QgsCoordinateReferenceSystem("EPSG:3857"), QgsProject.instance())
    geometry = QgsGeometry.fromRect(rect)
    geometry.transform(transform)
    return geometry


def posts(sandbox, path):
    return [r for r in sandbox.requests if r.service == "mapflow" and r.method == "POST" and r.path == path]


def test_aoi_in_3857_arrives_as_wgs84_and_result_loads_with_all_attributes(sandbox_env,
                                                                          tmp_gpkg):
    sandbox = sandbox_env
    layer = polygon_layer([in_3857(MOSCOW)], "EPSG:3857")
    result, feedback = run("mapbridge:mapflow_process", {
        "AOI": layer, "NAME": "Test buildings", "OUTPUT": tmp_gpkg})
    created = posts(sandbox, "/processings/v2")
    assert len(created) == 1
    body = created[0].json
    buildings = next(wd for wd in sandbox.state.mapflow.workflows if wd["name"] == "🏠 Buildings")
    assert body["wdId"] == buildings["id"]  # the model's id, as the service prefers
    assert body["blocks"] == [{"name": "Classification", "enabled": False}, {"name": "Heights", "enabled": False}]
    assert body["name"] == "Test buildings"
    assert body["params"] == {"sourceParams": {"dataProvider": {"providerName": "Mapbox", "zoom": 18}}}
    assert body["projectId"] == sandbox.state.mapflow.default_project_id
    assert body["geometry"]["type"] == "Polygon"
    xs = [p[0] for p in body["geometry"]["coordinates"][0]]
    ys = [p[1] for p in body["geometry"]["coordinates"][0]]
    assert min(xs) == pytest.approx(37.6156, abs=1e-6) and max(xs) == pytest.approx(37.6256, abs=1e-6)
    assert min(ys) == pytest.approx(55.7558, abs=1e-6) and max(ys) == pytest.approx(55.7608, abs=1e-6)
    # Bearer for the Processing API.
    assert created[0].headers["authorization"].startswith("Bearer ")
    # The status was polled and the progress followed percentCompleted up to 100.
    polls = [r for r in sandbox.requests if r.method == "GET" and r.path.endswith("/v2")
             and r.path.startswith("/processings/")]
    assert len(polls) >= 2
    assert feedback.progress_values and max(feedback.progress_values) == 100
    assert any(0 < v < 100 for v in feedback.progress_values)
    # Area, model, balance and cost were logged before the processing was created.
    log = "\n".join(feedback.lines)
    assert "km²" in log and "🏠 Buildings" in log and "credits left" in log and "Cost:" in log
    assert posts(sandbox, "/processing/cost/v2")
    processing_id = result["PROCESSING_ID"]
    assert processing_id == sandbox.state.mapflow.processings[processing_id]["id"]
    assert result["AREA_KM2"] == pytest.approx(0.35, rel=0.05)
    out = QgsVectorLayer(result["OUTPUT"], "out", "ogr")
    assert out.isValid() and out.featureCount() == 50
    names = set(out.fields().names())
    assert {"class_id", "building_height", "area"} <= names
    heights = [f["building_height"] for f in out.getFeatures() if f["building_height"]]
    assert heights and all(3 <= h <= 45 for h in heights)
    assert out.crs().authid() == "EPSG:4326"
    # The processing is tracked (settings) with its final state.
    tracked = TrackedProcessings().get(processing_id)
    assert tracked["status"] == "OK" and tracked["loaded"] is True


def test_selected_features_only_and_several_features_send_a_multipolygon(sandbox_env):
    sandbox = sandbox_env
    far = QgsRectangle(37.70, 55.70, 37.705, 55.705)
    other = QgsRectangle(37.60, 55.70, 37.605, 55.703)
    layer = polygon_layer([QgsGeometry.fromRect(MOSCOW), QgsGeometry.fromRect(far), QgsGeometry.fromRect(other)])
    QgsProject.instance().addMapLayer(layer)
    try:
        layer.selectByIds([2, 3])
        source = QgsProcessingFeatureSourceDefinition(layer.id(), True)
        result, _ = run("mapbridge:mapflow_process", {"AOI": source, "NAME": "two parts",
                                                      "OUTPUT": "TEMPORARY_OUTPUT"})
    finally:
        QgsProject.instance().removeMapLayer(layer.id())
    geometry = posts(sandbox, "/processings/v2")[0].json["geometry"]
    assert geometry["type"] == "MultiPolygon" and len(geometry["coordinates"]) == 2
    lons = sorted(min(p[0] for p in poly[0]) for poly in geometry["coordinates"])
    assert lons == pytest.approx([37.60, 37.70], abs=1e-6)  # the unselected Moscow square was not sent
    assert result["PROCESSING_ID"] and result["FEATURE_COUNT"] == 50


def test_invalid_aoi_is_repaired_and_said_so(sandbox_env, tmp_gpkg):
    sandbox = sandbox_env
    bowtie = QgsGeometry.fromWkt("POLYGON((37.61 55.75, 37.62 55.76, 37.62 55.75, 37.61 55.76, 37.61 55.75))")
    assert not bowtie.isGeosValid()
    result, feedback = run("mapbridge:mapflow_process", {"AOI": polygon_layer([bowtie]), "OUTPUT": tmp_gpkg})
    assert any("repaired with makeValid" in w for w in feedback.warnings)
    geometry = posts(sandbox, "/processings/v2")[0].json["geometry"]
    assert QgsGeometry.fromWkt(_wkt(geometry)).isGeosValid()
    assert result["PROCESSING_ID"]


def test_invalid_aoi_is_repaired_even_when_processing_stops_on_invalid_geometries(sandbox_env, tmp_gpkg):
    """The Processing setting 'stop on invalid geometry' must not abort the run: the AOI is repaired instead."""
    import processing
    from qgis.core import Qgis, QgsFeatureRequest, QgsProcessingContext

    sandbox = sandbox_env
    bowtie = QgsGeometry.fromWkt("POLYGON((37.61 55.75, 37.62 55.76, 37.62 55.75, 37.61 55.76, 37.61 55.75))")
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    abort = Qgis.InvalidGeometryCheck.AbortOnInvalid if hasattr(Qgis, "InvalidGeometryCheck") \
        else QgsFeatureRequest.InvalidGeometryCheck.GeometryAbortOnInvalid
    context.setInvalidGeometryCheck(abort)
    feedback = LogFeedback()
    result = processing.run("mapbridge:mapflow_process", {"AOI": polygon_layer([bowtie]), "OUTPUT": tmp_gpkg},
                            context=context, feedback=feedback)
    assert any("repaired with makeValid" in w for w in feedback.warnings)
    assert QgsGeometry.fromWkt(_wkt(posts(sandbox, "/processings/v2")[0].json["geometry"])).isGeosValid()
    assert result["PROCESSING_ID"] and result["FEATURE_COUNT"] == 50


def test_help_says_name_is_optional_and_describes_image_id():
    from mapbridge.processing.mapflow_process import MapflowProcessAlgorithm

    text = MapflowProcessAlgorithm().shortHelpString()
    assert "NAME is optional" in text and "IMAGE_ID" in text and "catalog" in text


def _wkt(geojson):
    return ogr.CreateGeometryFromJson(json.dumps(geojson)).ExportToWkt()


def test_unrepairable_aoi_gives_a_clear_message_and_sends_nothing(sandbox_env, tmp_gpkg):
    sandbox = sandbox_env
    # A polygon with no area (all points on one line): makeValid leaves no polygon.
    flat = QgsGeometry.fromWkt("POLYGON((37.61 55.75, 37.62 55.75, 37.63 55.75, 37.61 55.75))")
    with pytest.raises(QgsProcessingException) as err:
        run("mapbridge:mapflow_process", {"AOI": polygon_layer([flat]), "OUTPUT": tmp_gpkg})
    assert "Mapflow:" in str(err.value) and ("not a valid polygon" in str(err.value) or "no area" in str(err.value))
    assert not posts(sandbox, "/processings/v2")


def test_over_limit_aoi_is_refused_before_sending(sandbox_env, tmp_gpkg):
    sandbox = sandbox_env
    big = QgsRectangle(37.0, 55.0, 38.0, 56.0)  # ~7000 km², the sandbox limit is 25 km²
    with pytest.raises(QgsProcessingException) as err:
        run("mapbridge:mapflow_process", {"AOI": polygon_layer([QgsGeometry.fromRect(big)]), "OUTPUT": tmp_gpkg})
    text = str(err.value)
    assert "AOI limit of 25 km²" in text and "nothing was sent" in text
    assert not posts(sandbox, "/processings/v2")
    assert any(r.path == "/user/status" for r in sandbox.requests)


def test_failed_processing_gives_the_service_message(sandbox_env, tmp_gpkg):
    sandbox = sandbox_env
    with pytest.raises(QgsProcessingException) as err:
        run("mapbridge:mapflow_process", {"AOI": polygon_layer([QgsGeometry.fromRect(MOSCOW)]),
                                          "NAME": "this will fail", "MODEL": "🌲 Forest", "OUTPUT": tmp_gpkg})
    text = str(err.value)
    assert "FAILED" in text and "The imagery source is not available for this area" in text
    forest = next(wd for wd in sandbox.state.mapflow.workflows if wd["name"] == "🌲 Forest")
    assert posts(sandbox, "/processings/v2")[0].json["wdId"] == forest["id"]
    assert not [r for r in sandbox.requests if r.path.endswith("/result")]
    failed = [p for p in TrackedProcessings().all() if p["name"] == "this will fail"]
    assert failed and failed[0]["status"] == "FAILED"


def test_cancel_stops_waiting_and_names_the_processing(sandbox_env, tmp_gpkg):
    sandbox = sandbox_env
    sandbox.processing_seconds = 30
    try:
        feedback = LogFeedback()
        feedback.progressChanged.connect(lambda value: feedback.cancel())
        with pytest.raises(QgsProcessingException) as err:
            run("mapbridge:mapflow_process", {"AOI": polygon_layer([QgsGeometry.fromRect(MOSCOW)]),
                                              "OUTPUT": tmp_gpkg}, feedback)
    finally:
        sandbox.processing_seconds = 1.5
    # The processing this run started: the last one created (earlier tests may have left others in the sandbox).
    started = list(sandbox.state.mapflow.processings.values())[-1]
    assert started["id"] != _seed_id(sandbox)
    assert started["name"] and f"Stopped waiting for processing {started['id']}" in str(err.value)
    assert TrackedProcessings().get(started["id"]).get("loaded") is False


def test_missing_cost_endpoint_is_tolerated_and_an_empty_result_is_a_valid_layer(sandbox_env, tmp_gpkg):
    sandbox = sandbox_env
    sandbox.add_fault("mapflow", "error", status=404, method="POST", path="/processing/cost/v2", count=None)
    sandbox.result_features = 0
    try:
        result, feedback = run("mapbridge:mapflow_process", {"AOI": polygon_layer([QgsGeometry.fromRect(MOSCOW)]),
                                                             "OUTPUT": tmp_gpkg})
    finally:
        sandbox.result_features = None
    assert any("Cost: not known in advance" in line for line in feedback.lines)
    assert any("found no objects" in w for w in feedback.warnings)
    layer = QgsVectorLayer(result["OUTPUT"], "empty", "ogr")
    assert layer.isValid() and layer.featureCount() == 0 and result["FEATURE_COUNT"] == 0
    assert QgsWkbTypes.geometryType(layer.wkbType()) == QgsWkbTypes.GeometryType.PolygonGeometry


LOST_ANSWERS = {"drop_after": ("drop_after", None, 0), "reset_after": ("reset_after", None, 0),
                "garbage_after": ("garbage_after", None, 0), "half_json": ("garbage_after", None, 30)}


@pytest.mark.parametrize("kind", ["500", "502", "504", "drop_after", "reset_after", "garbage_after", "half_json"])
def test_a_start_answered_5xx_after_the_service_created_it_is_found_not_sent_again(sandbox_env, tmp_gpkg, kind):
    """The service created (and charged) the processing, then the gateway answered 5xx, hung up, broke the answer
    off or answered something unreadable."""
    sandbox = sandbox_env
    fault, status, position = LOST_ANSWERS.get(kind, ("error_after", int(kind) if kind.isdigit() else None, 0))
    sandbox.add_fault("mapflow", fault, method="POST", path="^/processings/v2$", count=1, status=status,
                      position=position)
    credits = sandbox.state.mapflow.remaining_credits
    result, feedback = run("mapbridge:mapflow_process", {
        "AOI": polygon_layer([QgsGeometry.fromRect(MOSCOW)]), "NAME": "Lost answer", "OUTPUT": tmp_gpkg})
    created = posts(sandbox, "/processings/v2")
    assert len(created) == 1, "the create request is never sent twice"
    stored = [p for p in sandbox.state.mapflow.processings.values() if p["name"] == "Lost answer"]
    assert len(stored) == 1 and result["PROCESSING_ID"] == stored[0]["id"]
    assert stored[0]["meta"]["mapbridge-request-id"], "a client-side marker went along"
    assert sandbox.state.mapflow.remaining_credits == credits - stored[0]["cost"], "charged once"
    warnings = "\n".join(feedback.warnings)
    assert "had been created" in warnings and stored[0]["id"] in warnings
    assert result["FEATURE_COUNT"] == 50


@pytest.mark.parametrize("kind", ["502", "drop"])
def test_a_start_that_created_nothing_says_so_and_sends_nothing_again(sandbox_env, tmp_gpkg, kind, monkeypatch):
    from mapbridge.core.mapflow import start as start_sequence

    monkeypatch.setattr(start_sequence, "LOOKUP_DELAYS", (0.0, 0.1))
    sandbox = sandbox_env
    sandbox.add_fault("mapflow", kind, method="POST", path="^/processings/v2$", count=1)
    credits = sandbox.state.mapflow.remaining_credits
    with pytest.raises(QgsProcessingException) as info:
        run("mapbridge:mapflow_process", {"AOI": polygon_layer([QgsGeometry.fromRect(MOSCOW)]),
                                          "NAME": "Never created", "OUTPUT": tmp_gpkg})
    assert len(posts(sandbox, "/processings/v2")) == 1
    assert not [p for p in sandbox.state.mapflow.processings.values() if p["name"] == "Never created"]
    assert sandbox.state.mapflow.remaining_credits == credits
    text = str(info.value)
    assert "Mapflow" in text and "no processing of that name" in text and "nothing was sent again" in text


def test_a_namesake_without_our_marker_is_not_taken_for_our_processing(sandbox_env, tmp_gpkg, monkeypatch):
    from mapbridge.core.mapflow import start as start_sequence

    monkeypatch.setattr(start_sequence, "LOOKUP_DELAYS", (0.0,))
    sandbox = sandbox_env
    other = sandbox.state.mapflow._new_processing(
        {"name": "Same name", "wdName": "🏠 Buildings", "geometry": json.loads(QgsGeometry.fromRect(MOSCOW).asJson(7))},
        charge=False)
    sandbox.add_fault("mapflow", "504", method="POST", path="^/processings/v2$", count=1)
    with pytest.raises(QgsProcessingException) as info:
        run("mapbridge:mapflow_process", {"AOI": polygon_layer([QgsGeometry.fromRect(MOSCOW)]),
                                          "NAME": "Same name", "OUTPUT": tmp_gpkg})
    assert other["id"] in str(info.value) and "marker" in str(info.value)
    assert len(posts(sandbox, "/processings/v2")) == 1


@pytest.mark.parametrize("param,value,named", [("MODEL", "🏭 Factories", "🏠 Buildings"),
                                               ("PROVIDER", "Planet Ultra", "Mapbox")])
def test_a_model_or_provider_the_account_lacks_is_refused_before_sending(sandbox_env, tmp_gpkg, param, value,
                                                                         named):
    sandbox = sandbox_env
    with pytest.raises(QgsProcessingException) as info:
        run("mapbridge:mapflow_process", {"AOI": polygon_layer([QgsGeometry.fromRect(MOSCOW)]), param: value,
                                          "OUTPUT": tmp_gpkg})
    text = str(info.value)
    assert value in text and named in text and "nothing was sent" in text
    assert not posts(sandbox, "/processings/v2") and not posts(sandbox, "/processing/cost/v2")


def test_an_aoi_across_the_antimeridian_is_sent_split_and_priced_for_its_real_area(sandbox_env, tmp_gpkg):
    """A 2 km × 2 km square across 180° in a UTM zone 60 layer: a MultiPolygon of two parts, not a band around
    the world."""
    sandbox = sandbox_env
    utm60 = QgsCoordinateReferenceSystem("EPSG:32660")
    to_utm = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"), utm60, QgsProject.instance())
    center = to_utm.transform(180.0, -16.5)                     # Fiji, on the antimeridian
    square = QgsGeometry.fromRect(QgsRectangle(center.x() - 1000, center.y() - 1000,
                                               center.x() + 1000, center.y() + 1000))
    result, feedback = run("mapbridge:mapflow_process", {
        "AOI": polygon_layer([square], "EPSG:32660"), "NAME": "Fiji", "OUTPUT": tmp_gpkg})
    body = posts(sandbox, "/processings/v2")[0].json
    assert body["geometry"]["type"] == "MultiPolygon" and len(body["geometry"]["coordinates"]) == 2
    for polygon in body["geometry"]["coordinates"]:
        xs = [p[0] for p in polygon[0]]
        assert -180 <= min(xs) and max(xs) <= 180
        assert max(xs) - min(xs) < 0.05, "each part is a sliver beside the antimeridian, not a band"
    assert result["AREA_KM2"] == pytest.approx(4.0, rel=0.02)
    stored = sandbox.state.mapflow.processings[result["PROCESSING_ID"]]
    assert stored["aoiArea"] == pytest.approx(4e6, rel=0.05)
    assert result["COST"] == stored["cost"] < 100


def test_options_and_every_kind_of_source_reach_the_create_body(sandbox_env, tmp_path):
    sandbox = sandbox_env
    mapflow = sandbox.state.mapflow
    aoi = polygon_layer([QgsGeometry.fromRect(MOSCOW)])
    mosaic = mapflow._make_mosaic("drone", [])
    image = next(i for i in mapflow.images if i["providerName"] == "Maxar" and i["id"] != mapflow.images[0]["id"])
    cases = [
        ({"OPTIONS": "Heights", "PROVIDER": "Maxar SecureWatch", "ZOOM": 17},
         {"dataProvider": {"providerName": "Maxar SecureWatch", "zoom": 17}}),
        ({"IMAGE_ID": image["id"], "PROVIDER": "Maxar", "ZOOM": 18},
         {"imagerySearch": {"dataProvider": "maxar", "imageIds": [image["id"]], "zoom": 18}}),
        ({"MOSAIC_ID": mosaic["id"]}, {"myImagery": {"mosaicId": mosaic["id"]}}),
        ({"SOURCE_URL": "https://tiles.example.com/{z}/{x}/{y}.jpg", "ZOOM": 17},
         {"userDefined": {"sourceType": "XYZ", "url": "https://tiles.example.com/{z}/{x}/{y}.jpg",
                          "crs": "epsg:3857", "zoom": 17}}),
    ]
    for number, (extra, source) in enumerate(cases):
        sandbox.clear_requests()
        result, feedback = run("mapbridge:mapflow_process", dict(
            {"AOI": aoi, "NAME": f"case {number}", "OUTPUT": str(tmp_path / f"{number}.gpkg")}, **extra))
        body = posts(sandbox, "/processings/v2")[0].json
        assert body["params"]["sourceParams"] == source, number
        assert posts(sandbox, "/processing/cost/v2")[0].json == body  # the cost is asked with the create body
        assert result["FEATURE_COUNT"] == 50
    first = next(p for p in mapflow.processings.values() if p["name"] == "case 0")
    assert [(b["name"], b["enabled"]) for b in first["blocks"]] == [
        ("Buildings", True), ("Classification", False), ("Heights", True)]


def test_choices_the_account_does_not_have_are_refused_before_anything_is_sent(sandbox_env, tmp_gpkg):
    sandbox = sandbox_env
    aoi = polygon_layer([QgsGeometry.fromRect(MOSCOW)])
    for extra, words in (({"MODEL": "Bildings"}, "model 'Bildings' is not available"),
                         ({"PROVIDER": "Nowhere"}, "no imagery provider 'Nowhere'"),
                         ({"ZOOM": 15}, "does not offer zoom 15"),
                         ({"PROVIDER": "Sentinel-2", "ZOOM": 14}, "needs at least 1 km²"),
                         ({"OPTIONS": "Wings"}, "has no option Wings"),
                         ({"IMAGE_ID": "a", "MOSAIC_ID": "b"}, "several imagery sources"),
                         ({"SOURCE_URL": "https://x.example/{z}/{x}.png"}, "needs {y}")):
        with pytest.raises(QgsProcessingException) as err:
            run("mapbridge:mapflow_process", dict({"AOI": aoi, "OUTPUT": tmp_gpkg}, **extra))
        assert words in str(err.value), (extra, str(err.value))
    assert not posts(sandbox, "/processings/v2")


def test_custom_source_login_comes_from_the_auth_database(sandbox_env, tmp_gpkg):
    from qgis.core import QgsApplication, QgsAuthMethodConfig

    sandbox = sandbox_env
    config = QgsAuthMethodConfig("Basic")
    config.setName("tiles login")
    config.setConfig("username", "tile-user")
    config.setConfig("password", "tile-secret")
    stored, config = QgsApplication.authManager().storeAuthenticationConfig(config)
    assert stored
    authcfg = config.id()
    try:
        result, feedback = run("mapbridge:mapflow_process", {
            "AOI": polygon_layer([QgsGeometry.fromRect(MOSCOW)]), "OUTPUT": tmp_gpkg,
            "SOURCE_URL": "https://tiles.example.com/{z}/{x}/{y}.jpg", "SOURCE_AUTHCFG": authcfg})
    finally:
        QgsApplication.authManager().removeAuthenticationConfig(authcfg)
    source = posts(sandbox, "/processings/v2")[0].json["params"]["sourceParams"]["userDefined"]
    assert source["rasterLogin"] == "tile-user" and source["rasterPassword"] == "tile-secret"
    assert not any("tile-secret" in line for line in feedback.lines + feedback.warnings)


def test_a_start_answered_without_an_id_is_looked_for_not_sent_again(sandbox_env, tmp_gpkg, monkeypatch):
    """The service created the processing but its answer names no id: the start is looked for like a lost answer."""
    from mapbridge.api.mapflow import MapflowClient

    created = MapflowClient.create_processing
    monkeypatch.setattr(MapflowClient, "create_processing",
                        lambda self, body: {k: v for k, v in created(self, body).items() if k != "id"})
    sandbox = sandbox_env
    result, feedback = run("mapbridge:mapflow_process", {
        "AOI": polygon_layer([QgsGeometry.fromRect(MOSCOW)]), "NAME": "No id", "OUTPUT": tmp_gpkg})
    stored = [p for p in sandbox.state.mapflow.processings.values() if p["name"] == "No id"]
    assert len(posts(sandbox, "/processings/v2")) == 1 and len(stored) == 1
    assert result["PROCESSING_ID"] == stored[0]["id"]
    assert "names no processing id" in "\n".join(feedback.warnings)
