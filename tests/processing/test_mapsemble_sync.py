"""mapbridge:mapsemble_sync against the sandbox: the map holds exactly the layer after edits, nothing is sent twice,
remote deletions come back, the link lives in the GeoPackage, unknown outcomes duplicate nothing."""

from __future__ import annotations

import re
import shutil
import time
import zipfile

import pytest
from qgis.core import (
    QgsGeometry,
    QgsProcessingException,
    QgsProcessingFeatureSourceDefinition,
    QgsProject,
    QgsVectorLayer,
)

from mapbridge.tests.processing.push_helpers import RecordingFeedback, report_rows, requests_of, run_alg
from mapbridge.tests.processing.sync_helpers import edit, feature_id, open_gpkg, places, write_gpkg, writes

pytestmark = pytest.mark.usefixtures("mapbridge_processing")

MAP = "ms_plain"                # a map without remoteField, holding 5 features of someone else


def sync(layer, feedback=None, **params):
    params = {"INPUT": layer, "MAP_ID": MAP, "LABEL_FIELD": "name", "OUTPUT": "memory:", **params}
    return run_alg("mapbridge:mapsemble_sync", params, feedback)


def on_map(sandbox, map_id=MAP):
    return {f["id"]: f for f in sandbox.state.mapsemble.features(map_id)}


def assert_map_holds_exactly(sandbox, layer, report, map_id=MAP, foreign=()):
    """Every layer feature is on the map once, as it is in the layer; nothing else of ours is there."""
    stored = on_map(sandbox, map_id)
    ids = {}
    for row in report_rows(report):
        if row["push_status"] in ("created", "updated", "unchanged"):
            ids[row["code"]] = row["remote_id"]
    layer_rows = {f["code"]: f for f in layer.getFeatures()}
    assert set(ids) == set(layer_rows)
    assert set(stored) == set(ids.values()) | set(foreign), "the map holds our features and the others' only"
    for code, feature in layer_rows.items():
        remote = stored[ids[code]]
        assert remote["properties"]["label"] == feature["name"]
        assert remote["properties"]["rank"] == feature["rank"]
        point = feature.geometry().asPoint()
        assert remote["geometry"]["coordinates"] == pytest.approx([point.x(), point.y()], abs=1e-7)


def test_edits_are_mirrored_and_a_second_sync_sends_no_write_request(sandbox_env, tmp_path):
    sandbox = sandbox_env
    foreign = set(on_map(sandbox))
    layer = write_gpkg(tmp_path / "places.gpkg", places(20))
    first, _ = sync(layer)
    assert (first["CREATED"], first["UNCHANGED"], first["FAILED"], first["NOT_SENT"]) == (20, 0, 0, 0)
    assert [r.method for r in writes(sandbox, "mapsemble")] == ["POST"]
    assert_map_holds_exactly(sandbox, layer, first["OUTPUT"], foreign=foreign)

    edit(layer, attributes=[(feature_id(layer, "code", "P-3"), "name", "Renamed"),
                            (feature_id(layer, "code", "P-4"), "rank", 400)],
         moves=[(feature_id(layer, "code", "P-5"), 4.9, 52.4)],
         deletes=[feature_id(layer, "code", "P-6"), feature_id(layer, "code", "P-7")],
         adds=[(4.95, 52.45, {"name": f"New {i}", "code": f"N-{i}", "rank": 100 + i}) for i in range(3)])
    sandbox.clear_requests()
    second, _ = sync(layer)
    assert {k: second[k] for k in ("CREATED", "UPDATED", "DELETED", "UNCHANGED", "SKIPPED", "FAILED",
                                   "NOT_SENT")} == {"CREATED": 3, "UPDATED": 3, "DELETED": 2, "UNCHANGED": 15,
                                                    "SKIPPED": 0, "FAILED": 0, "NOT_SENT": 0}
    sent = writes(sandbox, "mapsemble")
    assert [r.method for r in sent] == ["DELETE", "PUT", "POST"]
    assert len(sent[1].json["features"]) == 3 and len(sent[2].json["features"]) == 3
    assert_map_holds_exactly(sandbox, layer, second["OUTPUT"], foreign=foreign)
    rows = report_rows(second["OUTPUT"])
    assert len(rows) == 21 + 2, "one row per input feature and one per deleted feature"
    deleted = [r for r in rows if r["push_status"] == "deleted"]
    assert len(deleted) == 2 and all(r["remote_id"] and "left the layer" in r["push_error"] for r in deleted)

    sandbox.clear_requests()
    third, feedback = sync(layer)
    assert third["UNCHANGED"] == 21 and third["CREATED"] + third["UPDATED"] + third["DELETED"] == 0
    assert writes(sandbox, "mapsemble") == [], "nothing changed: no write request"
    assert len(sandbox.requests) == 1, "one read of the map's features (a small map: all on one page), nothing else"
    assert "no change" in feedback.text()


def test_a_feature_deleted_on_the_map_by_someone_else_is_created_again(sandbox_env, api_delete, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(6))
    first, _ = sync(layer)
    victim = next(r for r in report_rows(first["OUTPUT"]) if r["code"] == "P-2")["remote_id"]
    api_delete("mapsemble", MAP, [victim])
    sandbox.clear_requests()
    second, feedback = sync(layer)
    assert (second["CREATED"], second["UNCHANGED"]) == (1, 5)
    row = next(r for r in report_rows(second["OUTPUT"]) if r["code"] == "P-2")
    assert row["push_status"] == "created" and "deleted on Mapsemble" in row["push_error"]
    assert row["remote_id"] != victim and row["remote_id"] in on_map(sandbox)
    assert "deleted on the map by someone else" in feedback.text()
    assert len(on_map(sandbox)) == 5 + 6


@pytest.fixture
def api_delete(sandbox_env):
    """Delete features through the public API, as another user of the map would."""
    import requests

    def delete(service, map_id, ids):
        answer = requests.delete(f"{sandbox_env.base_urls[service]}/maps/{map_id}/features", json={"ids": ids},
                                 headers={"Authorization": f"Bearer {sandbox_env.tokens[service]}"}, timeout=10)
        answer.raise_for_status()

    return delete


def renumber(layer):
    """Delete every feature and add it again: same contents, new feature ids (as a re-import would)."""
    rows = [(f.geometry().asPoint(), {n: f[n] for n in ("name", "code", "rank", "kind")}) for f in layer.getFeatures()]
    edit(layer, deletes=[f.id() for f in layer.getFeatures()], adds=[(p.x(), p.y(), values) for p, values in rows])


def test_a_key_field_keeps_features_apart_from_their_feature_ids(sandbox_env, tmp_path):
    sandbox = sandbox_env
    by_key = write_gpkg(tmp_path / "by_key.gpkg", places(8))
    by_fid = write_gpkg(tmp_path / "by_fid.gpkg", places(8, start=100))
    sync(by_key, KEY_FIELD="code")
    sync(by_fid)
    renumber(by_key)
    renumber(by_fid)
    sandbox.clear_requests()
    again, _ = sync(by_key, KEY_FIELD="code")
    assert again["UNCHANGED"] == 8 and writes(sandbox, "mapsemble") == [], "same keys: nothing to send"
    moved, _ = sync(by_fid)
    assert (moved["CREATED"], moved["DELETED"], moved["UNCHANGED"]) == (8, 8, 0), "new feature ids: new features"
    assert len(on_map(sandbox)) == 5 + 16
    with pytest.raises(QgsProcessingException, match="synced with map 'ms_plain' by the field 'code'"):
        sync(by_key)


def test_the_link_lives_in_the_geopackage_and_moves_with_it(sandbox_env, tmp_path):
    from osgeo import ogr

    sandbox = sandbox_env
    path = tmp_path / "project" / "places.gpkg"
    path.parent.mkdir()
    sync(write_gpkg(path, places(5)))
    ds = ogr.Open(str(path))
    names = [ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount())]
    assert names[0] == "places" and {"mapbridge_sync_links", "mapbridge_sync_features"} <= set(names)
    ds = None
    shutil.move(str(tmp_path / "project"), str(tmp_path / "moved"))
    sandbox.clear_requests()
    again, _ = sync(open_gpkg(tmp_path / "moved" / "places.gpkg"))
    assert again["UNCHANGED"] == 5 and writes(sandbox, "mapsemble") == []


def test_the_link_survives_a_project_save_and_reload(sandbox_env, tmp_path):
    sandbox = sandbox_env
    project = QgsProject.instance()
    project.clear()
    layer = write_gpkg(tmp_path / "places.gpkg", places(4), legend=True)
    first, _ = sync(layer)
    assert project.write(str(tmp_path / "sync.qgz"))
    with zipfile.ZipFile(tmp_path / "sync.qgz") as saved:
        text = "".join(saved.read(name).decode("utf-8", "replace") for name in saved.namelist())
    ids = set(remote_ids(first["OUTPUT"]).values())
    assert len(ids) == 4 and not [i for i in ids if i in text], "the project file holds no remote id"
    assert "mapbridge/sync" in text and "ms_plain" in text, "only the few words of the layer's mark"
    project.clear()
    assert project.read(str(tmp_path / "sync.qgz"))
    try:
        reloaded = project.mapLayersByName("places")[0]
        assert "mapbridge/sync" in reloaded.customPropertyKeys(), "the layer remembers it is synced"
        sandbox.clear_requests()
        again, _ = sync(reloaded)
        assert again["UNCHANGED"] == 4 and writes(sandbox, "mapsemble") == []
    finally:
        project.clear()


def test_a_map_deleted_or_emptied_on_the_service_is_reported_and_not_filled_again(sandbox_env, api_delete, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(3))
    first, _ = sync(layer)
    ours = [r["remote_id"] for r in report_rows(first["OUTPUT"])]
    api_delete("mapsemble", MAP, ours)
    sandbox.clear_requests()
    with pytest.raises(QgsProcessingException, match="holds none of the 3 features this layer synced to it"):
        sync(layer)
    assert writes(sandbox, "mapsemble") == []
    sandbox.state.mapsemble.remove_map(MAP)
    with pytest.raises(QgsProcessingException, match="the map 'ms_plain' this layer is synced with no longer exists"):
        sync(layer)
    assert writes(sandbox, "mapsemble") == []


@pytest.mark.parametrize("kind", ["error_after", "drop_after"])
def test_an_answer_lost_after_the_map_changed_duplicates_nothing(sandbox_env, tmp_path, kind):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(12))
    sync(layer)
    edit(layer, attributes=[(feature_id(layer, "code", "P-1"), "name", "Changed")],
         deletes=[feature_id(layer, "code", "P-2")],
         adds=[(5.0, 52.0, {"name": f"Added {i}", "code": f"A-{i}", "rank": i}) for i in range(4)])
    for method in ("POST", "PUT", "DELETE"):
        sandbox.add_fault("mapsemble", kind, method=method, path=r"/features$", count=1, status=504)
    result, feedback = sync(layer)
    assert (result["CREATED"], result["UPDATED"], result["DELETED"], result["FAILED"]) == (4, 1, 1, 0)
    assert_map_holds_exactly(sandbox, layer, result["OUTPUT"], foreign=on_map(sandbox).keys() - {
        r["remote_id"] for r in report_rows(result["OUTPUT"])})
    assert len(on_map(sandbox)) == 5 + 15, "nothing created twice"
    posts = requests_of(sandbox, "mapsemble", "POST", "/features")
    assert [r.status for r in posts][-1] in (0, 504), "the lost create was found on the map, not sent again"
    assert "had arrived" in feedback.text()


def test_upsert_by_key_on_a_map_with_a_remote_field(sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(6))
    sandbox.add_fault("mapsemble", "drop_after", method="POST", path=r"/features$", count=1)
    result, _ = sync(layer, MAP_ID="ms_demo", KEY_FIELD="code")
    assert (result["CREATED"], result["FAILED"]) == (6, 0)
    mine = [f for f in sandbox.state.mapsemble.features("ms_demo")
            if str(f["properties"].get("external_id", "")).startswith("P-")]
    assert sorted(f["properties"]["external_id"] for f in mine) == sorted(f"P-{i}" for i in range(6))
    posts = requests_of(sandbox, "mapsemble", "POST", "/features")
    # Upsert is proven, not assumed: the map is listed and the features found there are not sent again.
    assert [r.status for r in posts] == [0], "the lost creates were found on the map by their key"


def test_the_selection_is_the_input_and_features_outside_it_leave_the_map(sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(6))
    sync(layer)
    layer.selectByExpression("\"rank\" < 2")
    result, _ = sync(QgsProcessingFeatureSourceDefinition(layer.id(), True))
    assert (result["UNCHANGED"], result["DELETED"]) == (2, 4)
    assert len(on_map(sandbox)) == 5 + 2


def test_skipped_features_say_why_and_one_that_cannot_be_sent_any_more_leaves_the_map(sandbox_env, tmp_path):
    layer = write_gpkg(tmp_path / "places.gpkg", places(4))
    first, _ = sync(layer, KEY_FIELD="code")
    assert first["CREATED"] == 4
    edit(layer, attributes=[(feature_id(layer, "code", "P-1"), "code", "P-0")],          # a duplicate key
         adds=[(5.0, 52.0, {"name": "No key", "code": None})])
    assert layer.startEditing()
    assert layer.changeGeometry(feature_id(layer, "code", "P-2"), QgsGeometry())          # no geometry any more
    assert layer.commitChanges()
    result, _ = sync(layer, KEY_FIELD="code")
    rows = report_rows(result["OUTPUT"])
    by_name = {r["name"]: r for r in rows if r["push_status"] != "deleted" or r["name"]}
    assert by_name["Place 1"]["push_status"] == "skipped"
    assert by_name["Place 1"]["push_error"].startswith("duplicate key 'P-0' (input feature 1 has it too)")
    assert by_name["No key"]["push_error"] == "no key (field 'code' is NULL or empty)"
    assert by_name["Place 2"]["push_status"] == "deleted"
    assert "cannot be sent any more (no geometry)" in by_name["Place 2"]["push_error"]
    left = [r for r in rows if r["push_status"] == "deleted" and r["code"] == "P-1"]
    assert len(left) == 1 and left[0]["push_error"] == "left the layer; deleted from the map"
    assert (result["SKIPPED"], result["DELETED"], result["UNCHANGED"]) == (2, 2, 2)


def test_a_layer_outside_a_geopackage_keeps_its_link_in_the_data_folder(sandbox_env, tmp_path):
    from mapbridge.core.sync.place import data_folder

    sandbox = sandbox_env
    gpkg = write_gpkg(tmp_path / "source.gpkg", places(5))
    path = str(tmp_path / "places.geojson")
    from qgis.core import QgsVectorFileWriter

    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GeoJSON"
    error = QgsVectorFileWriter.writeAsVectorFormatV3(gpkg, path, QgsProject.instance().transformContext(), options)
    assert error[0] == QgsVectorFileWriter.WriterError.NoError
    layer = QgsVectorLayer(path, "places", "ogr")
    first, feedback = sync(layer, KEY_FIELD="code")
    assert first["CREATED"] == 5 and "in the Mapbridge data folder" in feedback.text()
    assert (tmp_path / "places.geojson").read_text().count("mapbridge") == 0, "the data file is not touched"
    assert data_folder() in feedback.text()
    sandbox.clear_requests()
    again, _ = sync(QgsVectorLayer(path, "same file, another layer object", "ogr"), KEY_FIELD="code")
    assert again["UNCHANGED"] == 5 and writes(sandbox, "mapsemble") == []


def test_cancel_part_way_then_sync_again_finishes_the_job(sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(3000))
    sandbox.latency_ms = 300
    try:
        feedback = RecordingFeedback()
        feedback.progressChanged.connect(lambda p: feedback.cancel() if p >= 30 else None)
        first, _ = sync(layer, feedback, OUTPUT=str(tmp_path / "report.gpkg"))
    finally:
        sandbox.latency_ms = 0
    # Cancel aborts the requests in flight; the service still finishes them (300 ms each here). A sync run while
    # the service is still acting cannot see what it has not stored yet: the re-run comes after, as a user's would.
    time.sleep(1.5)
    assert first["NOT_SENT"] > 0 and first["CREATED"] > 0 and first["FAILED"] == 0
    assert first["CREATED"] + first["NOT_SENT"] == 3000
    rows = report_rows(QgsVectorLayer(str(tmp_path / "report.gpkg"), "report", "ogr"))
    assert len(rows) == 3000 and {r["push_error"] for r in rows if r["push_status"] == "not_sent"} == {
        "not sent: cancelled"}
    again, _ = sync(layer)
    assert (again["CREATED"], again["UNCHANGED"]) == (first["NOT_SENT"], first["CREATED"])
    assert len(on_map(sandbox)) == 5 + 3000, "nothing created twice"


def test_a_long_rate_limit_wait_is_announced_and_a_rerun_finishes(sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(3))
    sync(layer)
    edit(layer, attributes=[(feature_id(layer, "code", "P-0"), "name", "Later")])
    sandbox.add_fault("mapsemble", "429", method="PUT", count=1, retry_after=600)
    feedback = RecordingFeedback(cancel_on="going on at")
    result, _ = sync(layer, feedback)
    assert re.search(r"rate limit reached \(HTTP 429\); waiting 10 min, going on at \d\d:\d\d:\d\d", feedback.text())
    assert (result["UPDATED"], result["NOT_SENT"]) == (0, 1)
    again, _ = sync(layer)
    assert (again["UPDATED"], again["UNCHANGED"]) == (1, 2)


@pytest.fixture
def api_add(sandbox_env):
    """Add features through the public API, as another user of the map would; returns their ids."""
    import requests

    def add(map_id, n):
        features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [3.0 + i * 0.01, 50.0]},
                     "properties": {"label": f"Theirs {i}"}} for i in range(n)]
        answer = requests.post(f"{sandbox_env.base_urls['mapsemble']}/maps/{map_id}/features",
                               json={"type": "FeatureCollection", "features": features},
                               headers={"Authorization": f"Bearer {sandbox_env.tokens['mapsemble']}"}, timeout=10)
        answer.raise_for_status()
        return answer.json()["ids"]

    return add


def remote_ids(report):
    return {r["code"]: r["remote_id"] for r in report_rows(report) if r["remote_id"]}


@pytest.mark.usefixtures("large_map")
def test_a_404_for_features_gone_from_the_map_finds_them_and_finishes_the_sync(sandbox_env, api_delete, api_add,
                                                                               tmp_path):
    sandbox = sandbox_env
    sandbox.state.mapsemble.set_strict(MAP)         # PUT/DELETE naming a feature the map lacks: 404, nothing done
    foreign = set(on_map(sandbox))
    layer = write_gpkg(tmp_path / "places.gpkg", places(8))
    first, _ = sync(layer)
    ids = remote_ids(first["OUTPUT"])
    api_delete("mapsemble", MAP, [ids["P-1"], ids["P-2"]])
    theirs = api_add(MAP, 2)                        # the count is as the last sync left it: no listing
    edit(layer, attributes=[(feature_id(layer, "code", "P-1"), "name", "Changed 1"),
                            (feature_id(layer, "code", "P-3"), "name", "Changed 3")],
         deletes=[feature_id(layer, "code", "P-2"), feature_id(layer, "code", "P-4")])
    sandbox.clear_requests()
    second, feedback = sync(layer)
    assert {k: second[k] for k in ("CREATED", "UPDATED", "DELETED", "UNCHANGED", "FAILED", "NOT_SENT")} == {
        "CREATED": 1, "UPDATED": 1, "DELETED": 2, "UNCHANGED": 4, "FAILED": 0, "NOT_SENT": 0}
    rows = {r["code"]: r for r in report_rows(second["OUTPUT"]) if r["code"]}
    assert rows["P-1"]["push_status"] == "created" and "deleted on Mapsemble" in rows["P-1"]["push_error"]
    assert rows["P-1"]["remote_id"] != ids["P-1"]
    gone = [r for r in report_rows(second["OUTPUT"]) if r["push_status"] == "deleted" and r["remote_id"] == ids["P-2"]]
    assert len(gone) == 1 and "already gone from Mapsemble" in gone[0]["push_error"]
    assert_map_holds_exactly(sandbox, layer, second["OUTPUT"], foreign=foreign | set(theirs))
    methods = [(r.method, r.status) for r in writes(sandbox, "mapsemble")]
    assert ("PUT", 404) in methods and ("DELETE", 404) in methods and methods[-1] == ("POST", 201)
    assert "no longer exists" not in feedback.text()
    sandbox.clear_requests()
    third, _ = sync(layer)
    assert third["UNCHANGED"] == 6 and writes(sandbox, "mapsemble") == []


def test_a_404_to_a_write_because_the_map_was_deleted_meanwhile_says_so(sandbox_env, tmp_path):
    import threading

    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(4))
    sync(layer)
    edit(layer, attributes=[(feature_id(layer, "code", "P-0"), "name", "Late")])
    sandbox.add_fault("mapsemble", "latency", method="PUT", latency_ms=1500, count=1)
    timer = threading.Timer(0.5, sandbox.state.mapsemble.remove_map, (MAP,))
    timer.start()
    try:
        with pytest.raises(QgsProcessingException, match="the map 'ms_plain' this layer is synced with no longer "
                                                          "exists"):
            sync(layer)
    finally:
        timer.join()
    assert [(r.method, r.status) for r in writes(sandbox, "mapsemble")][-1] == ("PUT", 404)


def test_deletes_of_features_the_listing_shows_gone_are_not_sent(sandbox_env, api_delete, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(5))
    first, _ = sync(layer)
    ids = remote_ids(first["OUTPUT"])
    api_delete("mapsemble", MAP, [ids["P-1"]])
    edit(layer, deletes=[feature_id(layer, "code", "P-1")])
    sandbox.clear_requests()
    second, _ = sync(layer)
    assert (second["DELETED"], second["UNCHANGED"]) == (1, 4)
    assert writes(sandbox, "mapsemble") == [], "nothing to send: the feature was gone already"
    row = next(r for r in report_rows(second["OUTPUT"]) if r["push_status"] == "deleted")
    assert row["remote_id"] == ids["P-1"] and "already gone from Mapsemble" in row["push_error"]
    sandbox.clear_requests()
    third, _ = sync(layer)
    assert (third["DELETED"], third["UNCHANGED"]) == (0, 4), "the link forgot it"


def test_a_delete_answer_counting_fewer_than_sent_is_checked_on_the_map(sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(5))
    first, _ = sync(layer)
    ids = remote_ids(first["OUTPUT"])
    edit(layer, deletes=[feature_id(layer, "code", "P-1"), feature_id(layer, "code", "P-2")])
    sandbox.state.mapsemble.lock_features(MAP, [ids["P-2"]])    # deleted in the count only, without an error
    second, _ = sync(layer)
    assert (second["DELETED"], second["FAILED"]) == (1, 1)
    rows = {r["remote_id"]: r for r in report_rows(second["OUTPUT"]) if r["push_status"] in ("deleted", "failed")}
    assert rows[ids["P-1"]]["push_status"] == "deleted"
    assert rows[ids["P-2"]]["push_status"] == "failed"
    assert "1 of the 2 features of the request were deleted" in rows[ids["P-2"]]["push_error"]
    assert "still on the map" in rows[ids["P-2"]]["push_error"]
    assert ids["P-1"] not in on_map(sandbox) and ids["P-2"] in on_map(sandbox)
    sandbox.state.mapsemble.lock_features(MAP, [])
    again, _ = sync(layer)
    assert (again["DELETED"], again["FAILED"], again["UNCHANGED"]) == (1, 0, 3), "the next sync tries again"
    assert ids["P-2"] not in on_map(sandbox)


def test_a_feature_deleted_remotely_while_someone_added_another_is_noticed(sandbox_env, api_delete, api_add,
                                                                            tmp_path):
    layer = write_gpkg(tmp_path / "places.gpkg", places(5))
    first, _ = sync(layer)
    ids = remote_ids(first["OUTPUT"])
    api_delete("mapsemble", MAP, [ids["P-3"]])
    api_add(MAP, 1)                                 # same count as after the last sync
    second, feedback = sync(layer)
    assert (second["CREATED"], second["UNCHANGED"]) == (1, 4)
    row = next(r for r in report_rows(second["OUTPUT"]) if r["code"] == "P-3")
    assert row["push_status"] == "created" and "deleted on Mapsemble" in row["push_error"]
    assert "deleted on the map by someone else" in feedback.text()


@pytest.mark.usefixtures("large_map")
def test_a_large_map_is_listed_when_its_last_full_check_is_a_day_old(sandbox_env, api_delete, api_add, tmp_path):
    from osgeo import ogr

    sandbox = sandbox_env
    path = tmp_path / "places.gpkg"
    layer = write_gpkg(path, places(5))
    first, _ = sync(layer)
    ids = remote_ids(first["OUTPUT"])
    api_delete("mapsemble", MAP, [ids["P-3"]])
    api_add(MAP, 1)
    sandbox.clear_requests()
    second, _ = sync(layer)
    assert second["UNCHANGED"] == 5, "checked less than a day ago and the count did not move: not listed"
    assert len(sandbox.requests) == 1
    ds = ogr.Open(str(path), 1)
    ds.ExecuteSQL("UPDATE mapbridge_sync_links SET checked = '2020-01-01T00:00:00Z'")
    ds = None
    third, feedback = sync(layer)
    assert (third["CREATED"], third["UNCHANGED"]) == (1, 4)
    assert "its last full check is over a day old" in feedback.text()


def test_a_map_that_gains_a_remote_field_gets_every_feature_again_with_its_key(sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(4))
    first, _ = sync(layer, KEY_FIELD="code")
    assert all("external_id" not in f["properties"] for f in on_map(sandbox).values())
    sandbox.state.mapsemble.set_remote_field(MAP, "external_id")
    sandbox.clear_requests()
    second, _ = sync(layer, KEY_FIELD="code")
    assert (second["UPDATED"], second["UNCHANGED"]) == (4, 0), "the payload now carries the key: sent again"
    put = requests_of(sandbox, "mapsemble", "PUT", "/features")[0]
    assert sorted(f["properties"]["external_id"] for f in put.json["features"]) == [f"P-{i}" for i in range(4)]
    edit(layer, deletes=[feature_id(layer, "code", "P-2")])
    sandbox.clear_requests()
    third, _ = sync(layer, KEY_FIELD="code")
    assert (third["DELETED"], third["UNCHANGED"]) == (1, 3)
    [delete] = requests_of(sandbox, "mapsemble", "DELETE", "/features")
    assert delete.json["features"] == [{"type": "Feature", "id": remote_ids(first["OUTPUT"])["P-2"],
                                        "geometry": None, "properties": {"external_id": "P-2"}}]
    assert "P-2" not in {f["properties"].get("external_id") for f in on_map(sandbox).values()}


@pytest.mark.usefixtures("large_map")
def test_a_listing_shorter_than_the_maps_count_sends_nothing(sandbox_env, api_add, tmp_path):
    """Features a short listing leaves out would be taken for deleted on the map and sent again: refused instead."""
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(5))
    sync(layer)
    api_add(MAP, 1)                                         # the count moves: the map is listed to compare
    service = sandbox.state.mapsemble
    full = service.list_features

    def short(req, map_id):
        page = full(req, map_id)
        return dict(page, features=page["features"][:-2])   # meta.total still counts them

    index = next(i for i, route in enumerate(service._routes) if route[2].__name__ == "list_features")
    original = service._routes[index]
    service._routes[index] = original[:2] + (short,) + original[3:]
    sandbox.clear_requests()
    try:
        with pytest.raises(QgsProcessingException) as err:
            sync(layer)
    finally:
        service._routes[index] = original
    assert "listing gave" in str(err.value) and "nothing was sent" in str(err.value)
    assert writes(sandbox, "mapsemble") == []
