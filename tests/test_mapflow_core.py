"""Mapflow core pieces: AOI validation and area, polling against the sandbox, lenient parsing, the store."""

from __future__ import annotations

import pytest
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeedback,
    QgsGeometry,
    QgsRectangle,
)

from mapbridge.api.config import ServiceConfig
from mapbridge.api.errors import CancelledError, MapbridgeError
from mapbridge.api.mapflow import MapflowClient
from mapbridge.core.mapflow.account import Account, check_limits
from mapbridge.core.qgis_compat import FIELD_DOUBLE, make_field
from mapbridge.core.mapflow.aoi import aoi_from_rectangle, build_aoi, ellipsoidal_area_m2
from mapbridge.core.mapflow.catalog import date_to_iso_utc, search_body
from mapbridge.core.mapflow.polling import Backoff, wait_for_processing
from mapbridge.core.mapflow.processings import message_text, processing_body
from mapbridge.core.mapflow.result import driver_for
from mapbridge.core.mapflow.tracked import TrackedProcessings
from mapbridge.core.mapflow.upload import storage_left

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")
FAST = Backoff(initial=0.05, factor=1.5, maximum=0.2)


class Feedback(QgsFeedback):
    """A QgsFeedback with the Processing-style log methods the core jobs call."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def pushInfo(self, text):  # noqa: N802
        self.lines.append(text)

    def pushWarning(self, text):  # noqa: N802
        self.lines.append("WARNING " + text)


def client_for_sandbox(sandbox):
    return MapflowClient(ServiceConfig("mapflow", sandbox.base_urls["mapflow"], sandbox.tokens["mapflow"]))


def test_ellipsoidal_area_of_a_degree_cell_at_the_equator():
    area = ellipsoidal_area_m2(QgsGeometry.fromRect(QgsRectangle(0, 0, 1, 1)))
    assert area / 1e6 == pytest.approx(12308.78, rel=1e-3)


def test_aoi_from_3857_extent_is_lon_lat_with_the_same_area():
    aoi = aoi_from_rectangle(QgsRectangle(4187350, 7508000, 4188450, 7508900),
                             QgsCoordinateReferenceSystem("EPSG:3857"))
    ring = aoi.geojson()["coordinates"][0]
    assert all(37.6 < x < 37.7 and 55.7 < y < 55.8 for x, y in ring)
    # Web Mercator exaggerates areas by 1/cos²(lat): 0.99 km² on the map is about 0.31 km² on the ground.
    assert aoi.area_km2 == pytest.approx(0.99 * 0.3176, rel=0.02)


def test_aoi_validation_repairs_merges_and_refuses():
    bowtie = QgsGeometry.fromWkt("POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))")
    aoi = build_aoi([bowtie], WGS84)
    assert aoi.notes and "repaired with makeValid" in aoi.notes[0] and aoi.geometry.isGeosValid()
    two = build_aoi([QgsGeometry.fromRect(QgsRectangle(0, 0, 0.01, 0.01)),
                     QgsGeometry.fromRect(QgsRectangle(0.005, 0, 0.02, 0.01)),
                     QgsGeometry.fromRect(QgsRectangle(1, 1, 1.01, 1.01))], WGS84)
    assert two.part_count == 2 and two.geojson()["type"] == "MultiPolygon" and two.feature_count == 3
    with_z = build_aoi([QgsGeometry.fromWkt("POLYGON Z((0 0 5, 0.01 0 5, 0.01 0.01 5, 0 0 5))")], WGS84)
    assert all(len(p) == 2 for p in with_z.geojson()["coordinates"][0])
    with pytest.raises(MapbridgeError, match="not a polygon"):
        build_aoi([QgsGeometry.fromWkt("LINESTRING(0 0, 1 1)")], WGS84)
    with pytest.raises(MapbridgeError, match="empty"):
        build_aoi([], WGS84)


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


def test_polling_backs_off_reports_progress_and_survives_server_errors(sandbox):
    client = client_for_sandbox(sandbox)
    body = processing_body("poll", "🏠 Buildings", {"type": "Polygon", "coordinates": [[
        [37.6, 55.7], [37.61, 55.7], [37.61, 55.71], [37.6, 55.7]]]})
    processing_id = client.create_processing(body)["id"]
    sandbox.add_fault("mapflow", "500", method="GET", path=r"/processings/.*/v2", count=2, after=1)
    feedback, progress = Feedback(), []
    feedback.progressChanged.connect(progress.append)
    answer = wait_for_processing(client, processing_id, feedback, backoff=FAST)
    assert answer["status"] == "OK" and progress[-1] == 100 and any(0 < p < 100 for p in progress)
    assert sum("trying again" in line for line in feedback.lines) == 2
    gaps = [b.time - a.time for a, b in zip(sandbox.requests, sandbox.requests[1:])
            if a.path.endswith("/v2") and b.path.endswith("/v2") and a.method == b.method == "GET"]
    assert gaps and max(gaps) <= 0.5  # the fast schedule was used


def test_polling_cancel_names_the_processing(sandbox):
    client = client_for_sandbox(sandbox)
    processing_id = client.create_processing(processing_body("c", "🏠 Buildings", {"type": "Polygon", "coordinates": [[
        [37.6, 55.7], [37.61, 55.7], [37.61, 55.71], [37.6, 55.7]]]}))["id"]
    feedback = Feedback()
    feedback.progressChanged.connect(lambda value: feedback.cancel())
    with pytest.raises(CancelledError, match=f"Stopped waiting for processing {processing_id}"):
        wait_for_processing(client, processing_id, feedback, backoff=FAST)


def test_body_and_message_shapes():
    body = processing_body("n", "🌲 Forest", {"type": "Polygon"}, project_id="p", provider="Maxar SecureWatch",
                           zoom=17)
    assert body == {"name": "n", "wdName": "🌲 Forest", "geometry": {"type": "Polygon"}, "projectId": "p",
                    "params": {"sourceParams": {"dataProvider": {"providerName": "Maxar SecureWatch", "zoom": 17}}}}
    image = processing_body("n", "m", {}, provider="Maxar", image_id="abc")
    assert image["params"] == {"sourceParams": {"imagerySearch": {"dataProvider": "Maxar", "imageIds": ["abc"]}}}
    assert message_text({"code": "x.y", "parameters": {"message": "Bad", "a": 1}}) == "Bad [x.y] (a: 1)"
    assert message_text("plain") == "plain"


def test_catalog_body_and_dates():
    body = search_body({"type": "Polygon"}, date_from=date_to_iso_utc("2021-01-01"),
                       date_to=date_to_iso_utc("2021-02-01", True),
                       max_cloud_percent=35, min_resolution=0.3)
    assert body["maxCloudCover"] == pytest.approx(0.35) and body["acquisitionDateTo"] == "2021-02-01T23:59:59Z"
    assert "maxResolution" not in body
    with pytest.raises(MapbridgeError, match="larger than the maximum"):
        search_body({}, min_resolution=2, max_resolution=1)


def test_storage_left_and_output_drivers():
    assert storage_left({"memoryLimit": 100, "memoryUsed": 40, "maxUploadFileSize": 50}) == (60, 50)
    assert storage_left({"memoryFree": 7}) == (7, None)
    assert storage_left({"limit": 10, "used": 3, "free": 7}) == (7, None)
    assert storage_left({}) == (None, None)
    assert driver_for("/x/out.gpkg") == "GPKG" and driver_for("/x/out.shp") == "ESRI Shapefile"
    assert driver_for("memory:") is None and driver_for("ogr:dbname='x.gpkg' table=\"t\"") is None


def test_tracked_store_survives_new_instances_and_keeps_emoji():
    store = TrackedProcessings()
    store.upsert("a", name="first", model="🏠 Buildings", status="IN_PROGRESS", loaded=False, secret="dropped")
    store.upsert("b", name="second")
    store.upsert("a", status="OK")
    again = TrackedProcessings()
    assert again.get("a") == {"id": "a", "name": "first", "model": "🏠 Buildings", "status": "OK", "loaded": False}
    assert again.ids() == ["b", "a"]
    again.remove("a")
    assert TrackedProcessings().get("a") is None and "a" in TrackedProcessings().hidden()


def test_default_style_classes_heights_without_nulls():
    from qgis.core import QgsFeature, QgsVectorLayer

    from mapbridge.core.mapflow.style import apply_default_style

    layer = QgsVectorLayer("Polygon?crs=EPSG:4326", "buildings", "memory")
    layer.dataProvider().addAttributes([make_field("building_height", FIELD_DOUBLE)])
    layer.updateFields()
    features = []
    for i, height in enumerate([None, 3.0, 4.0, 5.0, 10.0, 20.0, 30.0, 44.0, 45.0, None]):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromRect(QgsRectangle(i, 0, i + 0.5, 0.5)))
        feature.setAttribute(0, height)
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    assert apply_default_style(layer)
    rules = layer.renderer().rootRule().children()
    labels = [r.label() for r in rules]
    assert labels[-1] == "Height unknown" and rules[-1].isElse()
    assert labels[0].startswith("3–") and labels[-2].endswith("–45 m") and "0–0 m" not in labels


def test_runs_from_a_worker_thread_reach_settings_only_through_the_main_thread():
    import threading

    from qgis.PyQt.QtCore import QCoreApplication

    from mapbridge.core.mapflow.tracked import RUNS, persist_runs

    RUNS.attach()
    store = TrackedProcessings()
    errors = []

    def worker():
        RUNS.lease("w1", 60)
        RUNS.note("w1", name="from a worker", status="IN_PROGRESS", percent=10, loaded=False)
        RUNS.note("untracked", tracked_only=True, loaded=True)
        try:
            store.upsert("w1", name="direct")
        except RuntimeError as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert errors and "main thread" in errors[0]  # QgsSettings is never written from the worker
    assert store.get("w1") is None  # not yet: the save is queued to the main thread
    assert RUNS.claimed("w1")
    QCoreApplication.processEvents()
    assert store.get("w1")["name"] == "from a worker" and store.get("w1")["status"] == "IN_PROGRESS"
    assert store.get("untracked") is None  # tracked_only notes never add a processing

    # Releasing with the written state is one step: the main thread sees either the claim or loaded=True.
    thread = threading.Thread(target=lambda: RUNS.release("w1", status="OK", percent=100, loaded=True))
    thread.start()
    thread.join()
    claimed = persist_runs(store)
    assert "w1" not in claimed and store.get("w1")["loaded"] is True and not RUNS.claimed("w1")


def test_dates_to_iso_utc_and_footprint_field_types():
    from qgis.PyQt.QtCore import QDate, QDateTime, QTime

    from mapbridge.core.mapflow.catalog import footprint_features, footprint_fields
    from mapbridge.core.qgis_compat import FIELD_DOUBLE, FIELD_STRING

    assert date_to_iso_utc(QDate(2021, 3, 4)) == "2021-03-04T00:00:00Z"
    assert date_to_iso_utc(QDate(2021, 3, 4), end_of_day=True) == "2021-03-04T23:59:59Z"
    assert date_to_iso_utc(QDateTime(QDate(2021, 3, 4), QTime(10, 20, 30))) == "2021-03-04T10:20:30Z"
    assert date_to_iso_utc(QDate()) is None and date_to_iso_utc("") is None
    images = [{"id": "a", "cloudCover": 0.2, "sensor": "WV3", "extra": 7, "footprint": {
        "type": "Polygon", "coordinates": [[[37.0, 55.0], [37.1, 55.0], [37.1, 55.1], [37.0, 55.0]]]}}]
    fields = footprint_fields(images)
    assert fields.field("cloudCover").type() == FIELD_DOUBLE and fields.field("id").type() == FIELD_STRING
    assert fields.field("extra").type() == FIELD_DOUBLE
    feature = footprint_features(images, fields)[0]
    assert feature["cloudCover"] == pytest.approx(0.2) and feature["sensor"] == "WV3"
    assert feature.geometry().isMultipart() and not feature.geometry().isEmpty()
