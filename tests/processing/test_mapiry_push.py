"""mapbridge:mapiry_push against the sandbox: coordinates, skips, atomic bulk, rate limits, no duplicates."""

from __future__ import annotations

import math
import re

import pytest
from qgis.core import QgsProcessingException, QgsProcessingFeatureSourceDefinition, QgsProject, QgsVectorLayer

from mapbridge.core.qgis_compat import FIELD_STRING, FIELD_STRING_LIST, make_field
from mapbridge.tests.processing.push_helpers import (
    RecordingFeedback,
    memory_layer,
    report_rows,
    requests_of,
    run_alg,
)

R = 6378137.0
PLACES = [("Fuglen Tokyo", 35.6654, 139.7006), ("Bear Pond Espresso", 35.6585, 139.6968),
          ("Sydney Opera House", -33.8568, 151.2153), ("Quito", -0.1807, -78.4678)]

pytestmark = pytest.mark.usefixtures("mapbridge_processing")


def to_3857(lat, lng):
    """Spherical Mercator by the formula (independent of QGIS)."""
    return R * math.radians(lng), R * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def points_3857(places):
    rows = []
    for name, lat, lng in places:
        x, y = to_3857(lat, lng)
        rows.append((f"POINT({x!r} {y!r})", [name, f"about {name}" if name else None]))
    return memory_layer("Point", "EPSG:3857", ["name:string", "note:string"], rows)


def many_points(n, prefix="P"):
    rows = [(f"POINT({10 + i * 0.001} {50 + i * 0.0005})", [f"{prefix}{i}", None]) for i in range(n)]
    return memory_layer("Point", "EPSG:4326", ["name:string", "note:string"], rows)


def locations(sandbox, map_id):
    return sandbox.state.mapiry.locations(map_id)


def test_points_from_3857_land_at_the_right_lat_lng(sandbox_env):
    sandbox = sandbox_env
    layer = points_3857(PLACES)
    result, feedback = run_alg("mapbridge:mapiry_push", {
        "INPUT": layer, "NEW_MAP_TITLE": "Coffee", "NAME_FIELD": "name", "DESCRIPTION_FIELD": "note",
        "OUTPUT": "memory:"})
    map_id = result["MAP_ID"]
    assert result["CREATED"] == 4 and result["FAILED"] == 0 and result["SKIPPED"] == 0
    assert requests_of(sandbox, "mapiry", "POST", "/maps")[0].json == {"title": "Coffee"}
    bulk = requests_of(sandbox, "mapiry", "POST", "/locations/bulk")
    assert len(bulk) == 1
    sent = {loc["name"]: loc for loc in bulk[0].json["locations"]}
    for name, lat, lng in PLACES:
        assert sent[name]["lat"] == pytest.approx(lat, abs=1e-6)
        assert sent[name]["lng"] == pytest.approx(lng, abs=1e-6)
        assert sent[name]["description"] == f"about {name}"
    stored = {loc["name"]: loc for loc in locations(sandbox, map_id)}
    assert set(stored) == {p[0] for p in PLACES}
    rows = report_rows(result["OUTPUT"])
    assert [r["name"] for r in rows] == [p[0] for p in PLACES]
    assert all(r["push_status"] == "created" for r in rows)
    assert {r["remote_id"] for r in rows} == {loc["id"] for loc in stored.values()}
    assert "created the map 'Coffee'" in feedback.text()


def test_null_and_empty_names_are_skipped_with_a_reason(sandbox_env):
    sandbox = sandbox_env
    layer = points_3857([("A", 1.0, 2.0), (None, 3.0, 4.0), ("  ", 5.0, 6.0), ("B", 7.0, 8.0)])
    result, _ = run_alg("mapbridge:mapiry_push", {"INPUT": layer, "MAP_ID": "map_demo", "NAME_FIELD": "name",
                                                  "OUTPUT": "memory:"})
    assert (result["CREATED"], result["SKIPPED"]) == (2, 2)
    rows = report_rows(result["OUTPUT"])
    assert [r["push_status"] for r in rows] == ["created", "skipped", "skipped", "created"]
    assert "no name" in rows[1]["push_error"]
    sent = requests_of(sandbox, "mapiry", "POST", "/locations/bulk")[0].json["locations"]
    assert [loc["name"] for loc in sent] == ["A", "B"]


def test_one_invalid_location_does_not_sink_its_neighbours(sandbox_env):
    sandbox = sandbox_env
    layer = many_points(150)
    layer.startEditing()
    bad = next(f for f in layer.getFeatures() if f["name"] == "P42")
    layer.changeAttributeValue(bad.id(), 0, "x" * 600)      # valid here, refused by the server (too long)
    layer.commitChanges()
    result, _ = run_alg("mapbridge:mapiry_push", {"INPUT": layer, "MAP_ID": "map_demo", "NAME_FIELD": "name",
                                                  "OUTPUT": "memory:"})
    assert (result["CREATED"], result["FAILED"]) == (149, 1)
    rows = report_rows(result["OUTPUT"])
    assert len(rows) == 150
    failed = [r for r in rows if r["push_status"] == "failed"]
    assert len(failed) == 1 and failed[0]["name"].startswith("xxx") and "rejected by Mapiry" in failed[0]["push_error"]
    names = [loc["name"] for loc in locations(sandbox, "map_demo")]
    assert sum(n.startswith("P") and n[1:].isdigit() for n in names) == 149
    statuses = [r.status for r in requests_of(sandbox, "mapiry", "POST", "/locations/bulk")]
    assert statuses == [400, 201, 201]      # the named index is dropped and the 99 others are sent again


def test_refused_batch_without_an_index_is_split_and_nothing_is_duplicated(sandbox_env):
    sandbox = sandbox_env
    sandbox.add_fault("mapiry", "error", status=400, method="POST", path=r"/locations/bulk", count=1)
    result, feedback = run_alg("mapbridge:mapiry_push", {"INPUT": many_points(10), "MAP_ID": "map_demo",
                                                         "NAME_FIELD": "name", "OUTPUT": "memory:"})
    assert result["CREATED"] == 10
    sizes = [len(r.json["locations"]) for r in requests_of(sandbox, "mapiry", "POST", "/locations/bulk")]
    assert sizes == [10, 5, 5]
    assert sum(loc["name"].startswith("P") for loc in locations(sandbox, "map_demo")) >= 10
    assert "splitting" in feedback.text()


def test_429_with_retry_after_is_waited_out(sandbox_env):
    sandbox = sandbox_env
    sandbox.add_fault("mapiry", "429", method="POST", path=r"/locations/bulk", count=1, retry_after=1)
    result, _ = run_alg("mapbridge:mapiry_push", {"INPUT": many_points(30), "NEW_MAP_TITLE": "Retry",
                                                  "NAME_FIELD": "name", "OUTPUT": "memory:"})
    assert result["CREATED"] == 30
    statuses = [r.status for r in requests_of(sandbox, "mapiry", "POST", "/locations/bulk")]
    assert statuses == [429, 201]
    assert len(locations(sandbox, result["MAP_ID"])) == 30


def test_dropped_answer_after_the_server_created_the_batch_gives_no_duplicate(sandbox_env):
    sandbox = sandbox_env
    sandbox.add_fault("mapiry", "drop_after", method="POST", path=r"/locations/bulk", count=1)
    result, feedback = run_alg("mapbridge:mapiry_push", {"INPUT": many_points(130), "NEW_MAP_TITLE": "Drop",
                                                         "NAME_FIELD": "name", "OUTPUT": "memory:"})
    assert result["CREATED"] == 130 and result["FAILED"] == 0
    stored = locations(sandbox, result["MAP_ID"])
    assert len(stored) == 130 and len({loc["name"] for loc in stored}) == 130
    bulk = requests_of(sandbox, "mapiry", "POST", "/locations/bulk")
    assert [r.status for r in bulk] == [0, 201]          # the lost batch was found on the map, not re-sent
    assert requests_of(sandbox, "mapiry", "GET", "/locations")
    rows = report_rows(result["OUTPUT"])
    assert {r["remote_id"] for r in rows} == {loc["id"] for loc in stored}
    assert "had arrived" in feedback.text()


def test_empty_bulk_bucket_waits_with_the_clock_time_and_a_rerun_finishes_without_duplicates(
        sandbox_env, tmp_gpkg):
    sandbox = sandbox_env
    sandbox.state.mapiry.limits["bulk"] = 1
    layer = many_points(150)
    feedback = RecordingFeedback(cancel_on="going on at")
    result, _ = run_alg("mapbridge:mapiry_push", {"INPUT": layer, "NEW_MAP_TITLE": "Slow", "NAME_FIELD": "name",
                                                  "OUTPUT": tmp_gpkg}, feedback)
    map_id = result["MAP_ID"]
    assert re.search(r"bulk creation rate limit is used up.*going on at \d\d:\d\d:\d\d", feedback.text())
    assert (result["CREATED"], result["NOT_SENT"], result["FAILED"]) == (100, 50, 0)
    report = QgsVectorLayer(tmp_gpkg, "report", "ogr")
    assert report.isValid() and report.featureCount() == 150, "the GeoPackage report is complete after a cancel"
    rows = report_rows(report)
    assert {r["push_status"] for r in rows} == {"created", "not_sent"}
    assert all(r["push_error"] == "not sent: the push was cancelled" for r in rows if r["push_status"] == "not_sent")
    assert not [r for r in sandbox.requests if r.status == 429], "paced on X-RateLimit-Remaining, no 429 earned"

    sandbox.state.mapiry.reset_rate_limits()
    again, _ = run_alg("mapbridge:mapiry_push", {"INPUT": layer, "MAP_ID": map_id, "NAME_FIELD": "name",
                                                 "OUTPUT": "memory:"})
    assert (again["CREATED"], again["SKIPPED"], again["FAILED"]) == (50, 100, 0)
    stored = locations(sandbox, map_id)
    assert len(stored) == 150 and len({loc["name"] for loc in stored}) == 150


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_lines_and_polygons_follow_the_geometry_mode(sandbox_env, mode):
    sandbox = sandbox_env
    u_shape = "MULTIPOLYGON(((0 0, 3 0, 3 3, 2 3, 2 1, 1 1, 1 3, 0 3, 0 0)))"   # its centroid lies outside it
    polygons = memory_layer("MultiPolygon", "EPSG:4326", ["name:string"], [
        (u_shape, ["poly"]), ("MULTIPOLYGON(((20 20, 21 20, 21 21, 20 21, 20 20)))", ["square"]), (None, ["nogeom"])])
    lines = memory_layer("LineString", "EPSG:4326", ["name:string"], [("LINESTRING(10 10, 12 10)", ["line"])])
    points = memory_layer("MultiPoint", "EPSG:4326", ["name:string"], [("MULTIPOINT((5 5))", ["pt"])])
    rows, sent = {}, {}
    for layer in (polygons, lines, points):
        sandbox.clear_requests()
        result, _ = run_alg("mapbridge:mapiry_push", {"INPUT": layer, "MAP_ID": "map_demo", "NAME_FIELD": "name",
                                                      "GEOMETRY_MODE": mode, "OUTPUT": "memory:"})
        rows.update({r["name"]: r for r in report_rows(result["OUTPUT"])})
        for request in requests_of(sandbox, "mapiry", "POST", "/bulk"):
            sent.update({loc["name"]: loc for loc in request.json["locations"]})
    expected = "skipped" if mode == 2 else "created"
    assert {n: rows[n]["push_status"] for n in ("poly", "square", "line")} == dict.fromkeys(
        ("poly", "square", "line"), expected)
    assert rows["pt"]["push_status"] == "created" and sent["pt"]["lat"] == 5 and sent["pt"]["lng"] == 5
    assert rows["nogeom"]["push_status"] == "skipped" and rows["nogeom"]["push_error"] == "no geometry"
    if mode == 2:
        assert "geometry mode is 'skip'" in rows["poly"]["push_error"]
        assert set(sent) == {"pt"}
        return
    poly = sent["poly"]
    if mode == 0:
        inside = (0 <= poly["lng"] <= 1 or 2 <= poly["lng"] <= 3) or poly["lat"] <= 1
        assert inside, "the point on surface lies on the polygon"
    else:
        assert poly["lng"] == pytest.approx(1.5, abs=1e-6) and 1 < poly["lat"] < 2   # the centroid, outside
    assert sent["square"]["lat"] == pytest.approx(20.5) and sent["square"]["lng"] == pytest.approx(20.5)
    assert sent["line"]["lat"] == pytest.approx(10) and 10 <= sent["line"]["lng"] <= 12


def test_selected_features_only_and_one_report_row_each(sandbox_env):
    sandbox = sandbox_env
    layer = many_points(20)
    QgsProject.instance().addMapLayer(layer)
    try:
        layer.selectByExpression("\"name\" in ('P3', 'P7', 'P11')")
        source = QgsProcessingFeatureSourceDefinition(layer.id(), True)
        result, _ = run_alg("mapbridge:mapiry_push", {"INPUT": source, "MAP_ID": "map_demo", "NAME_FIELD": "name",
                                                      "OUTPUT": "memory:"})
    finally:
        QgsProject.instance().removeMapLayer(layer.id())
    rows = report_rows(result["OUTPUT"])
    assert sorted(r["name"] for r in rows) == ["P11", "P3", "P7"]
    sent = requests_of(sandbox, "mapiry", "POST", "/bulk")[0].json["locations"]
    assert sorted(loc["name"] for loc in sent) == ["P11", "P3", "P7"]


def test_unknown_map_and_missing_map_give_clear_messages(sandbox_env):
    with pytest.raises(QgsProcessingException, match="Mapiry: the map 'nope' was not found"):
        run_alg("mapbridge:mapiry_push", {"INPUT": many_points(2), "MAP_ID": "nope", "NAME_FIELD": "name",
                                          "OUTPUT": "memory:"})
    with pytest.raises(QgsProcessingException, match="MAP_ID.*NEW_MAP_TITLE"):
        run_alg("mapbridge:mapiry_push", {"INPUT": many_points(2), "NAME_FIELD": "name", "OUTPUT": "memory:"})


def test_long_retry_after_is_announced_with_the_clock_time_and_can_be_cancelled(sandbox_env):
    sandbox = sandbox_env
    sandbox.add_fault("mapiry", "429", method="POST", path=r"/locations/bulk", count=1, retry_after=600, after=1)
    feedback = RecordingFeedback(cancel_on="going on at")
    result, _ = run_alg("mapbridge:mapiry_push", {"INPUT": many_points(250), "NEW_MAP_TITLE": "Wait",
                                                  "NAME_FIELD": "name", "OUTPUT": "memory:"}, feedback)
    assert re.search(r"rate limit reached \(HTTP 429\); waiting 10 min, going on at \d\d:\d\d:\d\d", feedback.text())
    # The request that met the 429 waits until cancelled; another one may have gone alongside it.
    created = result["CREATED"]
    assert created in (100, 150, 200) and result["NOT_SENT"] == 250 - created and result["FAILED"] == 0
    assert len(locations(sandbox, result["MAP_ID"])) == created


def test_a_lost_answer_is_checked_alone_while_other_requests_were_in_flight(sandbox_env):
    sandbox = sandbox_env
    layer = memory_layer("Point", "EPSG:4326", ["name:string", "note:string"], [("POINT(5 52)", ["Same", None])] * 450)
    sandbox.latency_ms = 40         # requests overlap
    sandbox.add_fault("mapiry", "drop_after", method="POST", path=r"/locations/bulk", count=1, after=2)
    try:
        result, feedback = run_alg("mapbridge:mapiry_push", {"INPUT": layer, "NEW_MAP_TITLE": "Same",
                                                             "NAME_FIELD": "name", "OUTPUT": "memory:"})
    finally:
        sandbox.latency_ms = 0
    assert (result["CREATED"], result["FAILED"]) == (450, 0)
    stored = {loc["id"] for loc in locations(sandbox, result["MAP_ID"])}
    assert len(stored) == 450, "nothing sent twice"
    ids = [r["remote_id"] for r in report_rows(result["OUTPUT"])]
    assert len(set(ids)) == 450 and set(ids) == stored, "each report row names its own location"
    assert "had arrived" in feedback.text()


def test_list_fields_of_a_mapalyze_layer_are_kept_as_json_in_a_geopackage_report(sandbox_env, tmp_path):

    layer = memory_layer("Point", "EPSG:4326", ["name:string"], [("POINT(5 52)", ["A"]), ("POINT(6 52)", ["B"])])
    layer.dataProvider().addAttributes([make_field("photos", FIELD_STRING_LIST, "stringlist",
                                                   sub_type=FIELD_STRING)])
    layer.updateFields()
    index = layer.fields().lookupField("photos")
    layer.dataProvider().changeAttributeValues({1: {index: ["ph_1", "ph_ü"]}, 2: {index: []}})
    out = str(tmp_path / "report.gpkg")
    result, _ = run_alg("mapbridge:mapiry_push", {"INPUT": layer, "NEW_MAP_TITLE": "Lists", "NAME_FIELD": "name",
                                                  "OUTPUT": out})
    assert result["CREATED"] == 2
    rows = report_rows(QgsVectorLayer(out, "report", "ogr"))
    assert [r["photos"] for r in rows] == ['["ph_1", "ph_ü"]', "[]"]
    assert [r["push_status"] for r in rows] == ["created", "created"]


def test_texts_arrive_byte_for_byte(sandbox_env):
    """Spaces around a name, emoji, combining marks, tabs and line breaks are sent as they are."""
    names = ["  Café  ", "e\u0301tage 🏠", "tab\there", "two\nlines"]
    layer = memory_layer("Point", "EPSG:4326", ["name:string", "note:string"],
                         [(f"POINT({10 + i * 0.01} 50)", [name, f" note {i} "]) for i, name in enumerate(names)])
    result, _ = run_alg("mapbridge:mapiry_push", {"INPUT": layer, "MAP_ID": "map_demo", "NAME_FIELD": "name",
                                                 "DESCRIPTION_FIELD": "note", "OUTPUT": "memory:"})
    assert result["CREATED"] == 4
    sent = [loc for r in requests_of(sandbox_env, "mapiry", "POST", "/locations/bulk") for loc in r.json["locations"]]
    assert [loc["name"] for loc in sent] == names
    assert [loc["description"] for loc in sent] == [f" note {i} " for i in range(4)]


def test_a_name_the_service_cuts_is_reported_never_silently(sandbox_env):
    long_name = "A rather long location name that goes on and on"
    layer = memory_layer("Point", "EPSG:4326", ["name:string"], [("POINT(10 50)", [long_name]),
                                                               ("POINT(10.1 50)", ["Short"])])
    sandbox_env.add_fault("mapiry", "truncate", method="POST", path="/locations/bulk$", position=20)
    result, feedback = run_alg("mapbridge:mapiry_push", {"INPUT": layer, "MAP_ID": "map_demo", "NAME_FIELD": "name",
                                                        "OUTPUT": "memory:"})
    rows = {row["name"]: row for row in report_rows(result["OUTPUT"])}
    assert rows[long_name]["push_status"] == "created" and rows[long_name]["remote_id"]
    assert f"cut from {len(long_name)} to 20 characters" in rows[long_name]["push_error"]
    assert not rows["Short"]["push_error"]
    assert "1 locations arrived with texts the service cut or changed" in feedback.text()


def test_a_batch_reset_after_arriving_through_the_qgis_proxy_is_looked_for_never_resent(sandbox_env):
    """urllib3 1.26 calls a reset on a proxied connection a ProxyError: the batch is sent once, then looked for."""
    from qgis.core import QgsSettings

    from mapbridge.sandbox.proxy import AuthProxy

    sandbox = sandbox_env
    sandbox.add_fault("mapiry", "drop_after", method="POST", path=r"/locations/bulk", count=1)
    with AuthProxy(user="ann", password="right") as proxy:
        settings = QgsSettings()
        for key, value in {"proxyEnabled": True, "proxyType": "HttpProxy", "proxyHost": "127.0.0.1",
                           "proxyPort": proxy.port, "proxyUser": "ann", "proxyPassword": "right"}.items():
            settings.setValue(f"proxy/{key}", value)
        result, feedback = run_alg("mapbridge:mapiry_push", {"INPUT": many_points(40), "MAP_ID": "map_demo",
                                                             "NAME_FIELD": "name", "OUTPUT": "memory:"})
        assert any(method == "POST" and ok for method, _, ok in proxy.requests), "the push went through the proxy"
    assert result["CREATED"] == 40 and result["FAILED"] == 0
    bulk = requests_of(sandbox, "mapiry", "POST", "/locations/bulk")
    assert [r.status for r in bulk] == [0], "the batch reached the service once and was not sent again"
    names = [loc["name"] for loc in locations(sandbox, "map_demo")]
    assert all(names.count(f"P{i}") == 1 for i in range(40))
    assert "had arrived" in feedback.text()


@pytest.mark.parametrize("kind,position", [("garbage_after", 0), ("garbage_after", 25), ("reset_after", 0)])
def test_a_new_map_whose_answer_is_unreadable_is_not_created_again_and_nothing_is_pushed(sandbox_env, kind,
                                                                                          position):
    sandbox = sandbox_env
    sandbox.add_fault("mapiry", kind, method="POST", path=r"^/maps$", count=1, position=position)
    with pytest.raises(QgsProcessingException) as info:
        run_alg("mapbridge:mapiry_push", {"INPUT": many_points(5), "NEW_MAP_TITLE": "Unreadable",
                                          "NAME_FIELD": "name", "OUTPUT": "memory:"})
    text = str(info.value)
    assert "may or may not exist" in text and "MAP_ID" in text and "no map id" not in text
    assert len(requests_of(sandbox, "mapiry", "POST", "/maps")) == 1
    assert [m["title"] for m in sandbox.state.mapiry.maps.values()].count("Unreadable") == 1
    assert not requests_of(sandbox, "mapiry", "POST", "/locations")
