"""mapbridge:mapalyze_push against the sandbox: records with data and capture time, no duplicates."""

from __future__ import annotations

import pytest
from qgis.core import QgsProcessingException

from mapbridge.tests.processing.push_helpers import (
    memory_layer,
    report_rows,
    requests_of,
    run_alg,
)

FORM = "form_TreeSurvey"

pytestmark = pytest.mark.usefixtures("mapbridge_processing")


def trees(n=3):
    rows = [(f"POINT Z({10.75 + i * 0.001} {59.91 + i * 0.001} {20 + i})",
             [f"oak {i}", 10.5 + i, f"2025-03-1{i}T09:22:11Z"]) for i in range(n)]
    return memory_layer("PointZ", "EPSG:4326", ["species:string", "height_m:double", "seen:string"], rows)


def records(sandbox):
    return sandbox.state.mapalyze.records(FORM)


def test_push_creates_records_with_data_capture_time_and_altitude(sandbox_env):
    sandbox = sandbox_env
    before = len(records(sandbox))
    result, _ = run_alg("mapbridge:mapalyze_push", {"INPUT": trees(), "FORM_ID": FORM, "CAPTURED_AT_FIELD": "seen",
                                                    "OUTPUT": "memory:"})
    assert result["CREATED"] == 3
    posts = requests_of(sandbox, "mapalyze", "POST", "/records")
    assert posts[0].json == {"form_id": FORM, "coordinates": [10.75, 59.91, 20.0],
                             "data": {"species": "oak 0", "height_m": 10.5}, "captured_at": "2025-03-10T09:22:11Z"}
    stored = records(sandbox)
    assert len(stored) == before + 3
    ids = {r["remote_id"] for r in report_rows(result["OUTPUT"])}
    assert ids <= {f["id"] for f in stored}


def test_polygons_give_a_point_on_surface_and_a_rerun_does_not_duplicate(sandbox_env):
    sandbox = sandbox_env
    layer = memory_layer("Polygon", "EPSG:4326", ["species:string", "seen:string"], [
        ("POLYGON((0 0, 2 0, 2 2, 0 2, 0 0))", ["stand", "2025-01-01T00:00:00Z"]),
        (None, ["lost", "2025-01-01T00:00:00Z"])])
    first, _ = run_alg("mapbridge:mapalyze_push", {"INPUT": layer, "FORM_ID": FORM, "CAPTURED_AT_FIELD": "seen",
                                                   "OUTPUT": "memory:"})
    assert (first["CREATED"], first["SKIPPED"]) == (1, 1)
    coords = requests_of(sandbox, "mapalyze", "POST", "/records")[0].json["coordinates"]
    assert 0 < coords[0] < 2 and 0 < coords[1] < 2
    again, _ = run_alg("mapbridge:mapalyze_push", {"INPUT": layer, "FORM_ID": FORM, "CAPTURED_AT_FIELD": "seen",
                                                   "OUTPUT": "memory:"})
    assert (again["CREATED"], again["SKIPPED"]) == (0, 2)
    assert len(requests_of(sandbox, "mapalyze", "POST", "/records")) == 1
    assert "already in Mapalyze" in report_rows(again["OUTPUT"])[0]["push_error"]


def test_dropped_answer_is_checked_before_sending_again(sandbox_env):
    sandbox = sandbox_env
    before = len(records(sandbox))
    sandbox.add_fault("mapalyze", "drop_after", method="POST", path=r"/records", count=1, after=1)
    layer = trees(3)
    result, feedback = run_alg("mapbridge:mapalyze_push", {"INPUT": layer, "FORM_ID": FORM, "OUTPUT": "memory:"})
    assert (result["CREATED"], result["FAILED"]) == (3, 0)
    assert len(records(sandbox)) == before + 3
    assert [r.status for r in requests_of(sandbox, "mapalyze", "POST", "/records")] == [201, 0, 201]
    assert "had arrived" in feedback.text()


def test_unknown_form_is_reported_clearly(sandbox_env):
    with pytest.raises(QgsProcessingException, match="Mapalyze: .*form 'form_nope' was not found"):
        run_alg("mapbridge:mapalyze_push", {"INPUT": trees(1), "FORM_ID": "form_nope", "OUTPUT": "memory:"})


def test_a_service_refusing_every_record_stops_early_with_its_message(sandbox_env):
    sandbox = sandbox_env
    sandbox.add_fault("mapalyze", "error", status=400, method="POST", path=r"/records", count=None)
    with pytest.raises(QgsProcessingException, match="Mapalyze: every item was refused"):
        run_alg("mapbridge:mapalyze_push", {"INPUT": trees(20), "FORM_ID": FORM, "OUTPUT": "memory:"})
    assert len(requests_of(sandbox, "mapalyze", "POST", "/records")) == 3


@pytest.mark.parametrize("totals", [0, 1])
def test_a_listing_that_ignores_offset_stops_the_push_before_sending_on_a_guess(sandbox_env, totals):
    """The check for records already there pages through /records; a server repeating a full page is refused (the
    listing is incomplete, so records already there could be created twice), after a bounded number of pages."""
    sandbox = sandbox_env
    sandbox.add_fault("mapalyze", "no_paging", method="GET", path="^/records$", count=None, position=totals)
    old = memory_layer("Point", "EPSG:4326", ["species:string", "seen:string"],
                       [("POINT(10.75 59.91)", ["elm", "2001-01-01T00:00:00Z"])])
    with pytest.raises(QgsProcessingException, match="ignores paging; the listing is incomplete"):
        run_alg("mapbridge:mapalyze_push", {"INPUT": old, "FORM_ID": FORM, "CAPTURED_AT_FIELD": "seen",
                                            "OUTPUT": "memory:"})
    assert len(requests_of(sandbox, "mapalyze", "GET", "/records")) <= 3
    assert not requests_of(sandbox, "mapalyze", "POST", "/records")


def mapalyze_layer(sandbox, tmp_path, form_id):
    """Records of a form as the Mapalyze tab loads them: a GeoPackage layer with fid, record_id, lists, JSON."""
    from qgis.core import QgsVectorLayer

    from mapbridge.api.config import resolve
    from mapbridge.api.mapalyze import MapalyzeClient
    from mapbridge.core.mapalyze.load import load_records

    path = str(tmp_path / f"{form_id}.gpkg")
    client = MapalyzeClient(resolve("mapalyze", sandbox.base_urls["mapalyze"], sandbox.tokens["mapalyze"],
                                    environ={}))
    load_records(client, path, "records", form_id=form_id)
    client.close()
    layer = QgsVectorLayer(f"{path}|layername=records", "records", "ogr")
    assert layer.isValid() and "fid" in layer.fields().names() and "record_id" in layer.fields().names()
    return layer


def test_records_that_came_from_the_form_are_recognised_and_never_created_again(sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = mapalyze_layer(sandbox, tmp_path, FORM)
    before = len(records(sandbox))
    result, feedback = run_alg("mapbridge:mapalyze_push", {"INPUT": layer, "FORM_ID": FORM,
                                                           "CAPTURED_AT_FIELD": "captured_at", "OUTPUT": "memory:"})
    assert (result["CREATED"], result["SKIPPED"]) == (0, layer.featureCount())
    assert requests_of(sandbox, "mapalyze", "POST") == [] and len(records(sandbox)) == before
    rows = report_rows(result["OUTPUT"])
    assert {r["remote_id"] for r in rows} == {r["record_id"] for r in rows}
    assert "same record_id" in rows[0]["push_error"]
    assert "are records of form" in feedback.text()


def test_records_copied_into_another_form_send_neither_fid_nor_record_id(sandbox_env, tmp_path):
    sandbox = sandbox_env
    layer = mapalyze_layer(sandbox, tmp_path, "form_Incident")
    layer.setSubsetString("fid <= 3")
    result, _ = run_alg("mapbridge:mapalyze_push", {"INPUT": layer, "FORM_ID": FORM, "OUTPUT": "memory:"})
    assert result["CREATED"] == 3
    for post in requests_of(sandbox, "mapalyze", "POST", "/records"):
        data = post.json["data"]
        assert "fid" not in data and "record_id" not in data, "the file's row id and the record id are not data"
        assert isinstance(data["photos"], list), "lists go as lists"
    explicit, _ = run_alg("mapbridge:mapalyze_push", {"INPUT": layer, "FORM_ID": FORM, "FIELDS": ["fid", "severity"],
                                                      "OUTPUT": "memory:"})
    assert requests_of(sandbox, "mapalyze", "POST", "/records")[-1].json["data"].keys() == {"fid", "severity"}, \
        "chosen explicitly, fid is sent"


def test_already_there_compares_values_by_meaning(sandbox_env):
    """1 and 1.0, a timestamp with and without milliseconds, a list and its JSON text: the same record."""
    from mapbridge.core.push.mapalyze import same_value

    sandbox = sandbox_env
    sandbox.state.mapalyze.add_record(FORM, [10.5, 59.5], {"dbh_cm": 40, "height_m": 12.0, "tags": ["a", "b"],
                                                           "inspected": "2025-05-01T10:00:00Z"},
                                      captured_at="2025-05-01T10:00:00Z")
    layer = memory_layer("Point", "EPSG:4326", ["dbh_cm:double", "height_m:integer", "tags:string",
                                                "inspected:string", "seen:string"],
                         [("POINT(10.5 59.5)", [40.0, 12, '["a", "b"]', "2025-05-01T10:00:00.000Z",
                                                "2025-05-01T10:00:00.000Z"])])
    result, _ = run_alg("mapbridge:mapalyze_push", {"INPUT": layer, "FORM_ID": FORM, "CAPTURED_AT_FIELD": "seen",
                                                    "OUTPUT": "memory:"})
    assert (result["CREATED"], result["SKIPPED"]) == (0, 1)
    assert requests_of(sandbox, "mapalyze", "POST") == []
    assert same_value(0.1 + 0.2, 0.30000000000000004) and not same_value("0.1", 0.2)
    assert same_value({"ok": True, "n": [1, 2]}, '{"n": [1.0, 2], "ok": true}')
    assert not same_value(True, 1) and not same_value(None, "") and same_value(None, None)

