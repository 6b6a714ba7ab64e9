"""mapbridge:mapiry_sync against the sandbox: locations mirror the layer after edits, new ones in bulk and the rest
location by location, layers and memberships, remote deletions, lost answers, rate limits, a map made once."""

from __future__ import annotations

import re

import pytest
import requests
from qgis.core import QgsProcessingException

from mapbridge.tests.processing.push_helpers import RecordingFeedback, report_rows, requests_of, run_alg
from mapbridge.tests.processing.sync_helpers import edit, feature_id, places, write_gpkg, writes

pytestmark = pytest.mark.usefixtures("mapbridge_processing")


def sync(layer, feedback=None, **params):
    params = {"INPUT": layer, "NAME_FIELD": "name", "OUTPUT": "memory:", **params}
    if "MAP_ID" not in params:
        params.setdefault("NEW_MAP_TITLE", "Synced places")
    return run_alg("mapbridge:mapiry_sync", params, feedback)


def locations(sandbox, map_id):
    return {loc["id"]: loc for loc in sandbox.state.mapiry.locations(map_id)}


def assert_map_holds_exactly(sandbox, layer, map_id, description=None):
    stored = locations(sandbox, map_id)
    features = list(layer.getFeatures())
    assert len(stored) == len(features)
    by_name = {loc["name"]: loc for loc in stored.values()}
    assert len(by_name) == len(features)
    for feature in features:
        loc = by_name[feature["name"]]
        point = feature.geometry().asPoint()
        assert (loc["lng"], loc["lat"]) == pytest.approx((point.x(), point.y()), abs=1e-7)
        if description:
            assert loc["description"] == (feature[description] or None)
    return by_name


def test_a_new_map_is_made_once_and_edits_are_mirrored_location_by_location(sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(150))
    first, _ = sync(layer, DESCRIPTION_FIELD="kind")
    map_id = first["MAP_ID"]
    assert first["CREATED"] == 150
    assert [r.path for r in writes(sandbox, "mapiry")] == ["/maps", f"/maps/{map_id}/locations/bulk",
                                                           f"/maps/{map_id}/locations/bulk"]
    assert_map_holds_exactly(sandbox, layer, map_id, "kind")

    edit(layer, attributes=[(feature_id(layer, "code", "P-1"), "name", "Renamed"),
                            (feature_id(layer, "code", "P-2"), "kind", None)],
         moves=[(feature_id(layer, "code", "P-3"), 5.5, 51.5)],
         deletes=[feature_id(layer, "code", "P-4")],
         adds=[(6.0, 50.0, {"name": "Brand new", "code": "N-1", "kind": "Bar"})])
    sandbox.clear_requests()
    second, _ = sync(layer, DESCRIPTION_FIELD="kind")
    assert second["MAP_ID"] == map_id, "the map made for this title is used again"
    assert (second["CREATED"], second["UPDATED"], second["DELETED"], second["UNCHANGED"]) == (1, 3, 1, 146)
    sent = sorted((r.method, r.path.rsplit("/", 1)[-1] if r.method != "POST" else "bulk")
                  for r in writes(sandbox, "mapiry"))
    assert [m for m, _ in sent] == ["DELETE", "POST", "PUT", "PUT", "PUT"]
    cleared = next(r for r in requests_of(sandbox, "mapiry", "PUT") if r.json.get("name") == "Place 2")
    assert cleared.json["description"] is None, "an emptied description is cleared on the map"
    assert_map_holds_exactly(sandbox, layer, map_id, "kind")

    sandbox.clear_requests()
    third, _ = sync(layer, DESCRIPTION_FIELD="kind")
    assert third["UNCHANGED"] == 150 and writes(sandbox, "mapiry") == []
    # A map of two pages is read in full at each sync (a deletion offset by someone's addition shows); no count.
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in sandbox.requests] == [("GET", "locations")] * 2


def test_layer_field_values_become_layers_and_locations_join_them(sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(5, kinds=("Cafe", "Shop", None)))
    first, _ = sync(layer, LAYER_FIELD="kind")
    map_id = first["MAP_ID"]
    layers = {layer_["name"]: layer_["id"] for layer_ in sandbox.state.mapiry.maps[map_id]["_layers"].values()}
    assert set(layers) == {"Cafe", "Shop"}
    by_name = {loc["name"]: [x["name"] for x in loc["layers"]] for loc in locations(sandbox, map_id).values()}
    assert by_name == {"Place 0": ["Cafe"], "Place 1": ["Shop"], "Place 2": [], "Place 3": ["Cafe"],
                       "Place 4": ["Shop"]}
    assert len(requests_of(sandbox, "mapiry", "PUT", "/layers")) == 4, "only locations in a layer need one"

    edit(layer, attributes=[(feature_id(layer, "code", "P-0"), "kind", "Bar"),
                            (feature_id(layer, "code", "P-1"), "kind", None)])
    sandbox.clear_requests()
    second, _ = sync(layer, LAYER_FIELD="kind")
    assert (second["UPDATED"], second["UNCHANGED"]) == (2, 3)
    assert [r.method + " " + r.path.split("/")[-1] for r in writes(sandbox, "mapiry")] == [
        "POST layers", "PUT layers", "PUT layers"], "a new layer, then two memberships; no location PUT"
    by_name = {loc["name"]: [x["name"] for x in loc["layers"]] for loc in locations(sandbox, map_id).values()}
    assert by_name["Place 0"] == ["Bar"] and by_name["Place 1"] == []
    sandbox.clear_requests()
    third, _ = sync(layer, LAYER_FIELD="kind")
    assert third["UNCHANGED"] == 5 and writes(sandbox, "mapiry") == []


def api(sandbox, method, path, **kwargs):
    answer = requests.request(method, sandbox.base_urls["mapiry"] + path, timeout=10,
                              headers={"Authorization": f"Bearer {sandbox.tokens['mapiry']}"}, **kwargs)
    answer.raise_for_status()
    return answer


def test_locations_deleted_by_someone_else_come_back_whether_changed_or_not(sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(6))
    first, _ = sync(layer)
    map_id = first["MAP_ID"]
    ids = {r["code"]: r["remote_id"] for r in report_rows(first["OUTPUT"])}
    api(sandbox, "DELETE", f"/maps/{map_id}/locations/{ids['P-1']}")
    api(sandbox, "DELETE", f"/maps/{map_id}/locations/{ids['P-2']}")
    edit(layer, attributes=[(feature_id(layer, "code", "P-2"), "name", "Changed meanwhile")])
    second, feedback = sync(layer)
    assert (second["CREATED"], second["UPDATED"], second["UNCHANGED"]) == (2, 0, 4)
    rows = {r["code"]: r for r in report_rows(second["OUTPUT"])}
    for code in ("P-1", "P-2"):
        assert rows[code]["push_status"] == "created" and "deleted on Mapiry" in rows[code]["push_error"]
    assert "deleted on the map by someone else" in feedback.text()
    assert_map_holds_exactly(sandbox, layer, map_id)


@pytest.mark.usefixtures("large_map")
def test_a_location_gone_when_its_update_is_sent_is_created_again(sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(3))
    first, _ = sync(layer)
    map_id = first["MAP_ID"]
    victim = next(r for r in report_rows(first["OUTPUT"]) if r["code"] == "P-0")["remote_id"]
    edit(layer, attributes=[(feature_id(layer, "code", "P-0"), "name", "Edited")])
    # Deleted and replaced by someone else: the count stays, so only the update finds out.
    api(sandbox, "DELETE", f"/maps/{map_id}/locations/{victim}")
    api(sandbox, "POST", f"/maps/{map_id}/locations", json={"name": "Theirs", "lat": 1, "lng": 1})
    second, _ = sync(layer)
    row = next(r for r in report_rows(second["OUTPUT"]) if r["code"] == "P-0")
    assert row["push_status"] == "created" and "deleted on Mapiry" in row["push_error"]
    stored = {loc["name"] for loc in locations(sandbox, map_id).values()}
    assert stored == {"Edited", "Place 1", "Place 2", "Theirs"}


def test_a_lost_bulk_answer_duplicates_nothing(sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(130))
    sandbox.add_fault("mapiry", "drop_after", method="POST", path=r"/locations/bulk", count=1)
    first, feedback = sync(layer)
    assert (first["CREATED"], first["FAILED"]) == (130, 0)
    assert "had arrived" in feedback.text()
    assert_map_holds_exactly(sandbox, layer, first["MAP_ID"])
    sandbox.add_fault("mapiry", "error_after", method="PUT", count=1, status=504)
    sandbox.add_fault("mapiry", "error_after", method="DELETE", count=1, status=504)
    edit(layer, attributes=[(feature_id(layer, "code", "P-9"), "name", "Nine")],
         deletes=[feature_id(layer, "code", "P-10")])
    second, _ = sync(layer)
    assert (second["UPDATED"], second["DELETED"], second["FAILED"]) == (1, 1, 0)
    assert_map_holds_exactly(sandbox, layer, first["MAP_ID"])


def test_an_empty_bulk_bucket_is_waited_for_with_the_time_shown_and_a_rerun_finishes(sandbox_env, tmp_path):
    sandbox = sandbox_env
    sandbox.state.mapiry.limits["bulk"] = 1
    layer = write_gpkg(tmp_path / "places.gpkg", places(150))
    feedback = RecordingFeedback(cancel_on="going on at")
    first, _ = sync(layer, feedback)
    assert re.search(r"bulk creation rate limit is used up.*going on at \d\d:\d\d:\d\d", feedback.text())
    assert (first["CREATED"], first["NOT_SENT"]) == (100, 50)
    sandbox.state.mapiry.reset_rate_limits()
    again, _ = sync(layer)
    assert (again["CREATED"], again["UNCHANGED"]) == (50, 100)
    assert_map_holds_exactly(sandbox, layer, first["MAP_ID"])


def test_a_deleted_or_emptied_map_is_reported(sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(2))
    first, _ = sync(layer)
    for loc_id in locations(sandbox, first["MAP_ID"]):
        api(sandbox, "DELETE", f"/maps/{first['MAP_ID']}/locations/{loc_id}")
    api(sandbox, "POST", f"/maps/{first['MAP_ID']}/locations", json={"name": "Someone else's", "lat": 1, "lng": 1})
    sandbox.clear_requests()
    with pytest.raises(QgsProcessingException, match="holds none of the 2 features this layer synced to it"):
        sync(layer)
    assert writes(sandbox, "mapiry") == []
    api(sandbox, "DELETE", f"/maps/{first['MAP_ID']}")
    sandbox.clear_requests()
    with pytest.raises(QgsProcessingException, match="no longer exists on Mapiry.*Unlink"):
        sync(layer)
    assert writes(sandbox, "mapiry") == [], "not silently made again"
    with pytest.raises(QgsProcessingException, match="MAP_ID.*NEW_MAP_TITLE"):
        run_alg("mapbridge:mapiry_sync", {"INPUT": layer, "NAME_FIELD": "name", "OUTPUT": "memory:"})


def layer_names(sandbox, map_id):
    return {loc["name"]: [x["name"] for x in loc["layers"]] for loc in locations(sandbox, map_id).values()}


def test_layer_memberships_go_in_the_body_shape_the_service_accepts(sandbox_env, tmp_path):
    sandbox = sandbox_env
    sandbox.state.mapiry.layer_body_key = "layers"          # not the first shape tried (the docs give none)
    layer = write_gpkg(tmp_path / "places.gpkg", places(4, kinds=("Cafe", "Shop")))
    first, _ = sync(layer, LAYER_FIELD="kind")
    assert (first["CREATED"], first["FAILED"]) == (4, 0)
    assert layer_names(sandbox, first["MAP_ID"]) == {"Place 0": ["Cafe"], "Place 1": ["Shop"], "Place 2": ["Cafe"],
                                                     "Place 3": ["Shop"]}
    puts = requests_of(sandbox, "mapiry", "PUT", "/layers")
    assert [(sorted(r.json), r.status) for r in puts][:2] == [(["layerIds"], 400), (["layers"], 200)]
    assert all(sorted(r.json) == ["layers"] and r.status == 200 for r in puts[2:]) and len(puts) == 5, \
        "the accepted shape is used from then on"


def test_layer_values_are_trimmed_so_each_sync_uses_the_same_layer(sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(4, kinds=(" Cafe ", "Cafe")))
    first, _ = sync(layer, LAYER_FIELD="kind")
    map_id = first["MAP_ID"]
    assert [x["name"] for x in sandbox.state.mapiry.maps[map_id]["_layers"].values()] == ["Cafe"]
    assert set(map(tuple, layer_names(sandbox, map_id).values())) == {("Cafe",)}
    sandbox.clear_requests()
    again, _ = sync(layer, LAYER_FIELD="kind")
    assert again["UNCHANGED"] == 4 and writes(sandbox, "mapiry") == [], "no second layer, no membership change"


def test_a_description_cleared_is_sent_as_empty_text_where_null_is_refused(sandbox_env, tmp_path):
    sandbox = sandbox_env
    sandbox.state.mapiry.null_description = False
    layer = write_gpkg(tmp_path / "places.gpkg", places(3))
    first, _ = sync(layer, DESCRIPTION_FIELD="kind")
    edit(layer, attributes=[(feature_id(layer, "code", "P-0"), "kind", None),
                            (feature_id(layer, "code", "P-1"), "kind", None)])
    sandbox.clear_requests()
    second, _ = sync(layer, DESCRIPTION_FIELD="kind")
    assert (second["UPDATED"], second["FAILED"]) == (2, 0)
    sent = [(r.json.get("description"), r.status) for r in requests_of(sandbox, "mapiry", "PUT")]
    assert sent[0] == (None, 400) and sorted(sent[1:]) == [("", 200), ("", 200)]
    stored = {loc["name"]: loc["description"] for loc in locations(sandbox, first["MAP_ID"]).values()}
    assert stored == {"Place 0": "", "Place 1": "", "Place 2": "Cafe"}


def test_a_key_field_keeps_locations_apart_from_their_feature_ids(sandbox_env, tmp_path):
    from mapbridge.tests.processing.test_mapsemble_sync import renumber

    sandbox = sandbox_env
    by_key = write_gpkg(tmp_path / "by_key.gpkg", places(5))
    by_fid = write_gpkg(tmp_path / "by_fid.gpkg", places(5, start=100))
    keyed, _ = sync(by_key, KEY_FIELD="code", NEW_MAP_TITLE="By key")
    plain, _ = sync(by_fid, NEW_MAP_TITLE="By feature id")
    renumber(by_key)
    renumber(by_fid)
    sandbox.clear_requests()
    again, _ = sync(by_key, KEY_FIELD="code", NEW_MAP_TITLE="By key")
    assert again["UNCHANGED"] == 5 and writes(sandbox, "mapiry") == [], "same keys: nothing to send"
    moved, _ = sync(by_fid, NEW_MAP_TITLE="By feature id")
    assert (moved["CREATED"], moved["DELETED"], moved["UNCHANGED"]) == (5, 5, 0), "new feature ids: new locations"
    assert len(locations(sandbox, keyed["MAP_ID"])) == 5 and len(locations(sandbox, plain["MAP_ID"])) == 5
    with pytest.raises(QgsProcessingException, match="by the field 'code', not by the feature id"):
        sync(by_key, NEW_MAP_TITLE="By key")


def test_cancel_part_way_then_sync_again_finishes_the_job(sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(600))     # 6 bulk requests, each slow
    sandbox.latency_ms = 800
    try:
        feedback = RecordingFeedback()
        feedback.progressChanged.connect(lambda p: feedback.cancel() if p > 5 else None)  # 5: the scan
        first, _ = sync(layer, feedback)
    finally:
        sandbox.latency_ms = 0
    assert first["NOT_SENT"] > 0 and first["CREATED"] > 0 and first["FAILED"] == 0
    assert first["CREATED"] + first["NOT_SENT"] == 600
    again, _ = sync(layer)
    assert (again["CREATED"], again["UNCHANGED"]) == (first["NOT_SENT"], first["CREATED"])
    assert_map_holds_exactly(sandbox, layer, again["MAP_ID"]), "each feature once: nothing created twice"


def test_a_location_deleted_on_both_sides_is_not_deleted_again(sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = write_gpkg(tmp_path / "places.gpkg", places(4))
    first, _ = sync(layer)
    victim = next(r for r in report_rows(first["OUTPUT"]) if r["code"] == "P-1")["remote_id"]
    api(sandbox, "DELETE", f"/maps/{first['MAP_ID']}/locations/{victim}")
    edit(layer, deletes=[feature_id(layer, "code", "P-1")])
    sandbox.clear_requests()
    second, _ = sync(layer)
    assert (second["DELETED"], second["UNCHANGED"]) == (1, 3) and writes(sandbox, "mapiry") == []
    row = next(r for r in report_rows(second["OUTPUT"]) if r["push_status"] == "deleted")
    assert row["remote_id"] == victim and "already gone from Mapiry" in row["push_error"]
