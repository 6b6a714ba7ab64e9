"""mapbridge:mapsemble_push against the sandbox: GeoJSON, JSON values, upsert, methods, batches, no duplicates."""

from __future__ import annotations

import pytest
from qgis.core import (
    QgsFeature,
    QgsFeatureRequest,
    QgsGeometry,
    QgsProcessingException,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QByteArray, QDate, QDateTime, Qt, QTime

from mapbridge.core.qgis_compat import (
    FIELD_BINARY,
    FIELD_BOOL,
    FIELD_DATE,
    FIELD_DATETIME,
    FIELD_DOUBLE,
    FIELD_INT,
    FIELD_STRING,
    FIELD_TIME,
    make_field,
)
from mapbridge.tests.processing.push_helpers import (
    memory_layer,
    report_rows,
    requests_of,
    run_alg,
)

pytestmark = pytest.mark.usefixtures("mapbridge_processing")


def stores(n, offset=0, crs="EPSG:4326"):
    rows = [(f"POINT({4.8 + i * 0.001} {52.3 + i * 0.0005})", [f"Store {i + offset}", f"QG-{i + offset}", i])
            for i in range(n)]
    return memory_layer("Point", crs, ["name:string", "code:string", "rank:integer"], rows)


def features(sandbox, map_id):
    return sandbox.state.mapsemble.features(map_id)


def push(params):
    params = {"MAP_ID": "ms_demo", "LABEL_FIELD": "name", "OUTPUT": "memory:", **params}
    return run_alg("mapbridge:mapsemble_push", params)


def test_upsert_by_remote_id_twice_gives_no_duplicates(sandbox_env):
    sandbox = sandbox_env
    before = len(features(sandbox, "ms_demo"))
    layer = stores(40)
    first, _ = push({"INPUT": layer, "REMOTE_ID_FIELD": "code"})
    assert (first["CREATED"], first["UPDATED"], first["FAILED"]) == (40, 0, 0)
    second, _ = push({"INPUT": layer, "REMOTE_ID_FIELD": "code"})
    assert (second["CREATED"], second["UPDATED"]) == (0, 40)
    stored = features(sandbox, "ms_demo")
    assert len(stored) == before + 40
    mine = [f for f in stored if str(f["properties"].get("external_id", "")).startswith("QG-")]
    assert len(mine) == 40 and len({f["properties"]["external_id"] for f in mine}) == 40
    body = requests_of(sandbox, "mapsemble", "POST", "/features")[0].json
    assert body["type"] == "FeatureCollection"
    sample = body["features"][0]
    assert sample["properties"]["label"] == "Store 0" and sample["properties"]["external_id"] == "QG-0"
    assert sample["geometry"] == {"type": "Point", "coordinates": [4.8, 52.3]}     # lon, lat
    rows = report_rows(second["OUTPUT"])
    assert {r["remote_id"] for r in rows} == {f["id"] for f in mine}


def test_attribute_values_become_proper_json(sandbox_env):
    sandbox = sandbox_env
    layer = QgsVectorLayer("Point?crs=EPSG:4326", "typed", "memory")
    provider = layer.dataProvider()
    provider.addAttributes([make_field("name", FIELD_STRING), make_field("count", FIELD_INT),
                            make_field("ratio", FIELD_DOUBLE), make_field("ok", FIELD_BOOL),
                            make_field("day", FIELD_DATE), make_field("at", FIELD_DATETIME),
                            make_field("clock", FIELD_TIME), make_field("blob", FIELD_BINARY),
                            make_field("empty", FIELD_STRING)])
    layer.updateFields()
    feature = QgsFeature(layer.fields())
    feature.setGeometry(QgsGeometry.fromWkt("POINT(4.9 52.37)"))
    feature.setAttributes(["Typed", 7, 2.5, True, QDate(2024, 5, 1),
                           QDateTime(QDate(2024, 5, 1), QTime(10, 20, 30), Qt.TimeSpec.UTC), QTime(8, 15, 0),
                           QByteArray(b"\x00\x01"), None])
    provider.addFeatures([feature])
    result, _ = push({"INPUT": layer, "MAP_ID": "ms_plain"})
    assert result["CREATED"] == 1
    props = requests_of(sandbox, "mapsemble", "POST", "/features")[0].json["features"][0]["properties"]
    assert props == {"name": "Typed", "count": 7, "ratio": 2.5, "ok": True, "day": "2024-05-01",
                     "at": "2024-05-01T10:20:30Z", "clock": "08:15:00", "empty": None, "label": "Typed"}


def test_fields_parameter_limits_the_properties(sandbox_env):
    sandbox = sandbox_env
    result, _ = push({"INPUT": stores(3), "MAP_ID": "ms_plain", "FIELDS": ["rank"]})
    assert result["CREATED"] == 3
    props = requests_of(sandbox, "mapsemble", "POST", "/features")[0].json["features"][0]["properties"]
    assert props == {"rank": 0, "label": "Store 0"}


@pytest.mark.parametrize("kind,position,status", [("drop_after", 0, 0), ("reset_after", 0, 201),
                                                   ("garbage_after", 0, 201), ("garbage_after", 40, 201)])
def test_dropped_answer_without_remote_id_is_checked_not_duplicated(sandbox_env, kind, position, status):
    """A lost, broken-off or unreadable answer to a create: looked for on the map, never split or sent again."""
    sandbox = sandbox_env
    before = len(features(sandbox, "ms_plain"))
    sandbox.add_fault("mapsemble", kind, method="POST", path=r"/features", count=1, position=position)
    result, feedback = push({"INPUT": stores(30), "MAP_ID": "ms_plain"})
    assert (result["CREATED"], result["FAILED"]) == (30, 0)
    assert len(features(sandbox, "ms_plain")) == before + 30
    assert [r.status for r in requests_of(sandbox, "mapsemble", "POST", "/features")] == [status]
    assert "had arrived" in feedback.text()
    assert all(r["remote_id"] for r in report_rows(result["OUTPUT"]))


def test_dropped_answer_with_remote_id_is_checked_by_listing_not_resent_on_the_upsert_assumption(sandbox_env):
    sandbox = sandbox_env
    before = len(features(sandbox, "ms_demo"))
    sandbox.add_fault("mapsemble", "drop_after", method="POST", path=r"/features", count=1)
    result, _ = push({"INPUT": stores(25), "REMOTE_ID_FIELD": "code"})
    assert (result["CREATED"], result["UPDATED"], result["FAILED"]) == (25, 0, 0)
    assert len(features(sandbox, "ms_demo")) == before + 25
    assert [r.status for r in requests_of(sandbox, "mapsemble", "POST", "/features")] == [0], \
        "the listing showed all 25 had arrived: nothing was sent again"


@pytest.mark.parametrize("hidden", [False, True])
def test_upsert_that_cannot_be_confirmed_is_never_assumed(sandbox_env, hidden):
    """REMOTE_ID_FIELD on a map whose remoteField cannot be read (a map without one, or one that hides it): a 504
    after the service stored the features, then the same push again. Nothing is duplicated, and the user is told
    before the first push."""
    sandbox = sandbox_env
    map_id = "ms_demo" if hidden else "ms_plain"
    if hidden:
        sandbox.state.mapsemble.maps["ms_demo"]["_hide_remote_field"] = True
    before = len(features(sandbox, map_id))
    sandbox.add_fault("mapsemble", "error_after", status=504, method="POST", path=r"/features$", count=1)
    first, feedback = push({"INPUT": stores(12), "REMOTE_ID_FIELD": "code", "MAP_ID": map_id})
    assert (first["CREATED"], first["FAILED"]) == (12, 0)
    assert len(features(sandbox, map_id)) == before + 12
    assert len(requests_of(sandbox, "mapsemble", "POST", "/features")) == 1, "nothing re-sent after the 504"
    said = feedback.text()
    assert "WARNING Mapsemble: map" in said and "upsert by 'code' cannot be confirmed" in said
    assert said.index("cannot be confirmed") < said.index("features to map"), "said before the first push"
    again, _ = push({"INPUT": stores(12), "REMOTE_ID_FIELD": "code", "MAP_ID": map_id})
    assert (again["CREATED"], again["SKIPPED"]) == (0, 12)
    assert len(features(sandbox, map_id)) == before + 12, "running the same push again duplicated nothing"
    rows = report_rows(again["OUTPUT"])
    assert all(r["remote_id"] and "already on the map" in r["push_error"] for r in rows)


def test_batches_and_a_too_large_answer_halve_the_batch(sandbox_env):
    sandbox = sandbox_env
    sandbox.add_fault("mapsemble", "error", status=413, method="POST", path=r"/features", count=1)
    result, feedback = push({"INPUT": stores(1200), "MAP_ID": "ms_plain"})
    assert result["CREATED"] == 1200
    sizes = [len(r.json["features"]) for r in requests_of(sandbox, "mapsemble", "POST", "/features")]
    assert sizes[0] == 500 and max(sizes[1:]) == 250 and sum(sizes[1:]) == 1200
    assert "too large" in feedback.text()


def test_free_plan_limit_pushes_what_fits_and_reports_the_rest(sandbox_env):
    sandbox = sandbox_env
    already = len(features(sandbox, "ms_free"))
    result, _ = push({"INPUT": stores(120), "MAP_ID": "ms_free"})
    assert result["CREATED"] == 100 - already and result["FAILED"] == 20 + already
    assert len(features(sandbox, "ms_free")) == 100
    failed = [r for r in report_rows(result["OUTPUT"]) if r["push_status"] == "failed"]
    assert "Free plan" in failed[0]["push_error"]


def test_update_replace_and_delete_by_remote_id(sandbox_env):
    sandbox = sandbox_env
    layer = stores(5)
    push({"INPUT": layer, "REMOTE_ID_FIELD": "code"})
    patched, _ = push({"INPUT": layer, "REMOTE_ID_FIELD": "code", "METHOD": 2, "FIELDS": ["rank"]})
    assert patched["UPDATED"] == 5
    assert requests_of(sandbox, "mapsemble", "PATCH", "/features")[0].json["features"][0]["properties"] == {
        "rank": 0, "label": "Store 0", "external_id": "QG-0"}
    replaced, _ = push({"INPUT": layer, "REMOTE_ID_FIELD": "code", "METHOD": 1})
    assert replaced["UPDATED"] == 5
    gone = memory_layer("Point", "EPSG:4326", ["code:string"], [(None, ["QG-1"]), (None, ["QG-3"]),
                                                                (None, ["NOT-THERE"])])
    deleted, _ = push({"INPUT": gone, "REMOTE_ID_FIELD": "code", "METHOD": 3, "LABEL_FIELD": None})
    assert (deleted["DELETED"], deleted["SKIPPED"]) == (2, 1)
    left = {f["properties"].get("external_id") for f in features(sandbox, "ms_demo")}
    assert {"QG-0", "QG-2", "QG-4"} <= left and not {"QG-1", "QG-3"} & left


def test_update_without_remote_id_field_is_refused_clearly(sandbox_env):
    with pytest.raises(QgsProcessingException, match="Mapsemble: .*needs a remote id field.*REMOTE_ID_FIELD"):
        push({"INPUT": stores(2), "METHOD": 2})


@pytest.mark.parametrize("method", [0, 1, 2])
def test_label_field_is_required_except_for_delete(sandbox_env, method):
    sandbox = sandbox_env
    with pytest.raises(QgsProcessingException, match=r"Mapsemble: .*needs a label field.*LABEL_FIELD"):
        push({"INPUT": stores(2), "METHOD": method, "REMOTE_ID_FIELD": "code", "LABEL_FIELD": None})
    assert not [r for r in sandbox.requests if r.service == "mapsemble" and r.method != "GET"], "nothing was sent"


def test_lines_polygons_and_invalid_geometries(sandbox_env):
    sandbox = sandbox_env
    polygons = memory_layer("MultiPolygon", "EPSG:3857", ["name:string"], [
        ("MULTIPOLYGON(((0 0, 1000 0, 1000 1000, 0 1000, 0 0)))", ["square"]),
        ("MULTIPOLYGON(((0 0, 1000 1000, 1000 0, 0 1000, 0 0)))", ["bowtie"]),
        (None, ["nothing"])])
    # The toolbox's default "stop when a geometry is invalid" must not abort the push: it skips with the reason.
    result, _ = run_alg("mapbridge:mapsemble_push", {"INPUT": polygons, "MAP_ID": "ms_plain", "LABEL_FIELD": "name",
                                                     "OUTPUT": "memory:"},
                        invalid_geometry_check=QgsFeatureRequest.InvalidGeometryCheck.GeometryAbortOnInvalid)
    rows = {r["name"]: r for r in report_rows(result["OUTPUT"])}
    assert rows["square"]["push_status"] == "created"
    assert rows["bowtie"]["push_status"] == "skipped" and "invalid geometry" in rows["bowtie"]["push_error"]
    assert rows["nothing"]["push_error"] == "no geometry"
    sent = requests_of(sandbox, "mapsemble", "POST", "/features")[0].json["features"]
    assert len(sent) == 1 and sent[0]["geometry"]["type"] == "MultiPolygon"
    lines = memory_layer("LineString", "EPSG:4326", ["name:string"], [("LINESTRING(1 2, 3 4)", ["road"]),
                                                                      ("LINESTRING(1 2, 1 2)", ["stub"])])
    result, _ = push({"INPUT": lines, "MAP_ID": "ms_plain"})
    rows = {r["name"]: r for r in report_rows(result["OUTPUT"])}
    assert rows["road"]["push_status"] == "created" and rows["stub"]["push_status"] == "skipped"
    road = requests_of(sandbox, "mapsemble", "POST", "/features")[-1].json["features"][0]["geometry"]
    assert road == {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}
    ring = sent[0]["geometry"]["coordinates"][0][0]
    assert ring[0] == [0, 0] and ring[2][0] == pytest.approx(0.0089832, abs=1e-6)
    assert ring[2][1] == pytest.approx(0.0089832, abs=1e-6)


def test_map_settings_come_from_the_list_when_the_map_endpoint_is_missing(sandbox_env):
    sandbox = sandbox_env
    sandbox.add_fault("mapsemble", "error", status=404, method="GET", path=r"^/maps/ms_demo$", count=1)
    result, _ = push({"INPUT": stores(3), "REMOTE_ID_FIELD": "code"})
    assert result["CREATED"] == 3
    sent = requests_of(sandbox, "mapsemble", "POST", "/features")[0].json["features"]
    assert sent[0]["properties"]["external_id"] == "QG-0", "the remoteField was read from GET /maps"


def test_a_lost_answer_is_checked_alone_while_other_requests_were_in_flight(sandbox_env):
    sandbox = sandbox_env
    before = {f["id"] for f in features(sandbox, "ms_plain")}
    # 1,500 identical features (same label, same place): only the order of events tells whose feature is whose.
    layer = memory_layer("Point", "EPSG:4326", ["name:string"], [("POINT(5 52)", ["Same"])] * 1500)
    sandbox.latency_ms = 40         # requests overlap
    sandbox.add_fault("mapsemble", "drop_after", method="POST", path=r"/features", count=1, after=1)
    try:
        result, feedback = push({"INPUT": layer, "MAP_ID": "ms_plain"})
    finally:
        sandbox.latency_ms = 0
    assert (result["CREATED"], result["FAILED"]) == (1500, 0)
    added = {f["id"] for f in features(sandbox, "ms_plain")} - before
    assert len(added) == 1500, "nothing sent twice"
    assert sorted(r.status for r in requests_of(sandbox, "mapsemble", "POST", "/features")) == [0, 201, 201]
    ids = [r["remote_id"] for r in report_rows(result["OUTPUT"])]
    assert len(set(ids)) == 1500 and set(ids) == added, "each report row names its own feature"
    assert "had arrived" in feedback.text()


@pytest.fixture
def new_york(monkeypatch):
    """This computer's local time is New York's (UTC-5 in January)."""
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_date_times_of_a_geopackage_arrive_with_their_instant(sandbox_env, new_york, tmp_path):
    """A GeoPackage stores UTC ("…Z"): that instant arrives with its zone, whatever QGIS makes of it locally."""
    from osgeo import ogr, osr

    path = str(tmp_path / "times.gpkg")
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    layer = ds.CreateLayer("times", srs, ogr.wkbPoint)
    layer.CreateField(ogr.FieldDefn("name", ogr.OFTString))
    layer.CreateField(ogr.FieldDefn("seen", ogr.OFTDateTime))
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetField("name", "Dam")
    feature.SetField("seen", "2025-01-14T09:22:11Z")
    feature.SetGeometry(ogr.CreateGeometryFromWkt("POINT (4.89 52.37)"))
    layer.CreateFeature(feature)
    feature = layer = ds = None
    result, _ = push({"INPUT": QgsVectorLayer(path + "|layername=times", "times", "ogr"), "MAP_ID": "ms_plain"})
    assert result["CREATED"] == 1
    sent = requests_of(sandbox_env, "mapsemble", "POST")[-1].json["features"][0]["properties"]
    assert sent["seen"] == "2025-01-14T09:22:11Z"


def test_local_date_times_arrive_as_the_same_instant_in_utc(sandbox_env, new_york):
    layer = memory_layer("Point", "EPSG:4326", ["name:string", "seen:datetime"], [
        ("POINT(4.89 52.37)", ["Local", QDateTime(QDate(2025, 1, 14), QTime(9, 22, 11))]),
        ("POINT(4.90 52.37)", ["Offset", QDateTime(QDate(2025, 1, 14), QTime(9, 22, 11), Qt.TimeSpec.OffsetFromUTC,
                                                   3600)])])
    result, _ = push({"INPUT": layer, "MAP_ID": "ms_plain"})
    assert result["CREATED"] == 2
    sent = {f["properties"]["name"]: f["properties"]["seen"]
            for f in requests_of(sandbox_env, "mapsemble", "POST")[-1].json["features"]}
    assert sent["Local"] == "2025-01-14T14:22:11Z"
    assert sent["Offset"] in ("2025-01-14T09:22:11+01:00", "2025-01-14T08:22:11Z")


def test_a_position_no_transform_can_honestly_produce_is_skipped_with_its_reason_never_sent(sandbox_env):
    layer = memory_layer("Point", "EPSG:3857", ["name:string"], [
        ("POINT(545000 6866000)", ["Amsterdam"]), ("POINT(0 1000000000)", ["Pole"])])
    result, _ = push({"INPUT": layer, "MAP_ID": "ms_plain"})
    assert (result["CREATED"], result["SKIPPED"]) == (1, 1)
    rows = {row["name"]: row for row in report_rows(result["OUTPUT"])}
    assert rows["Pole"]["push_status"] == "skipped" and "do not transform back" in rows["Pole"]["push_error"]
    sent = [f for r in requests_of(sandbox_env, "mapsemble", "POST") for f in r.json["features"]]
    assert [f["properties"]["label"] for f in sent] == ["Amsterdam"]


def test_a_push_whose_report_cannot_be_written_fails_saying_what_arrived(sandbox_env, tmp_path):
    """The disk fills up while the report is written (a file-size limit stands in for it): the features reached
    Mapsemble, so the run fails loudly, says what arrived, and keeps the remote ids in a readable file."""
    import json
    import resource
    import signal

    rows = [(f"POINT({4.8 + i * 0.0001} 52.3)", [f"Store {i}", f"QG-{i}", i]) for i in range(1500)]
    layer = memory_layer("Point", "EPSG:4326", ["name:string", "code:string", "rank:integer"], rows)
    layer.startEditing()
    layer.addAttribute(make_field("story", FIELD_STRING))
    index = layer.fields().indexOf("story")
    for feature in layer.getFeatures():
        layer.changeAttributeValue(feature.id(), index, "x" * 400)
    layer.commitChanges()
    out = str(tmp_path / "report.gpkg")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)      # writes past the limit fail (EFBIG), as when full
    resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, hard))
    try:
        with pytest.raises(QgsProcessingException) as info:
            push({"INPUT": layer, "MAP_ID": "ms_plain", "OUTPUT": out})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert len([f for f in features(sandbox_env, "ms_plain") if f["properties"].get("code", "").startswith("QG-")]) \
        == 1500
    text = str(info.value)
    assert "the push reached Mapsemble (created 1,500" in text and "report could not be written" in text
    saved = text.split("the remote ids are saved in ", 1)[1].split(". ", 1)[0].rstrip(".")
    with open(saved, encoding="utf-8") as ids:
        arrived = json.load(ids)["arrived"]
    assert len(arrived) == 1500 and all(entry["remote_id"] and entry["status"] == "created" for entry in arrived)
    stored = {f["id"] for f in features(sandbox_env, "ms_plain")}
    assert {entry["remote_id"] for entry in arrived} <= stored


def test_a_geopackage_fid_is_not_sent_unless_chosen(sandbox_env, tmp_path):
    from qgis.core import QgsProject, QgsVectorFileWriter, QgsVectorLayer

    sandbox = sandbox_env
    memory = memory_layer("Point", "EPSG:4326", ["name:string", "rank:integer"], [("POINT(1 2)", ["One", 1])])
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    path = str(tmp_path / "one.gpkg")
    QgsVectorFileWriter.writeAsVectorFormatV3(memory, path, QgsProject.instance().transformContext(), options)
    layer = QgsVectorLayer(path, "one", "ogr")
    assert layer.fields().names() == ["fid", "name", "rank"]
    run_alg("mapbridge:mapsemble_push", {"INPUT": layer, "MAP_ID": "ms_plain", "LABEL_FIELD": "name",
                                         "OUTPUT": "memory:"})
    sent = requests_of(sandbox, "mapsemble", "POST", "/features")[-1].json["features"][0]["properties"]
    assert set(sent) == {"name", "rank", "label"}, "the file's row number is not the feature's data"
    run_alg("mapbridge:mapsemble_push", {"INPUT": layer, "MAP_ID": "ms_plain", "LABEL_FIELD": "name",
                                         "FIELDS": ["fid", "rank"], "OUTPUT": "memory:"})
    sent = requests_of(sandbox, "mapsemble", "POST", "/features")[-1].json["features"][0]["properties"]
    assert set(sent) == {"fid", "rank", "label"}


def test_the_primary_key_of_a_geopackage_is_not_sent_whatever_its_name(sandbox_env, tmp_path):
    """The push leaves out the provider's primary key (here `objectid`) as a sync does, also for selected features."""
    from qgis.core import QgsProcessingFeatureSourceDefinition, QgsProject, QgsVectorFileWriter, QgsVectorLayer

    memory = memory_layer("Point", "EPSG:4326", ["name:string", "rank:integer"],
                          [("POINT(1 2)", ["One", 1]), ("POINT(2 3)", ["Two", 2])])
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName, options.layerOptions = "GPKG", ["FID=objectid"]
    path = str(tmp_path / "keyed.gpkg")
    QgsVectorFileWriter.writeAsVectorFormatV3(memory, path, QgsProject.instance().transformContext(), options)
    layer = QgsVectorLayer(path, "keyed", "ogr")
    assert layer.fields().names() == ["objectid", "name", "rank"]
    run_alg("mapbridge:mapsemble_push", {"INPUT": path, "MAP_ID": "ms_plain", "LABEL_FIELD": "name",
                                         "OUTPUT": "memory:"})
    sent = requests_of(sandbox_env, "mapsemble", "POST", "/features")[-1].json["features"][0]["properties"]
    assert set(sent) == {"name", "rank", "label"}
    QgsProject.instance().addMapLayer(layer)
    try:
        layer.selectByIds([2])
        source = QgsProcessingFeatureSourceDefinition(layer.id(), True)
        run_alg("mapbridge:mapalyze_push", {"INPUT": source, "FORM_ID": "form_TreeSurvey", "OUTPUT": "memory:"})
        records = requests_of(sandbox_env, "mapalyze", "POST", "/records")
        assert [r.json["data"] for r in records] == [{"name": "Two", "rank": 2}]
    finally:
        QgsProject.instance().removeMapLayer(layer.id())
