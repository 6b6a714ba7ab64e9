"""Sync (core/mapalyze/sync.py): the layer's GeoPackage made exactly what the service holds, in place."""

from __future__ import annotations

import os

import pytest

from mapbridge.api.config import resolve
from mapbridge.api.errors import MapbridgeError
from mapbridge.api.mapalyze import MapalyzeClient
from mapbridge.core.mapalyze.load import load_records
from mapbridge.core.mapalyze.sync import sync_records
from mapbridge.core.qgis_compat import FIELD_DOUBLE, FIELD_STRING
from mapbridge.tests.core.mapalyze.helpers import LogFeedback, features_by_id, gpkg_layer, is_null


@pytest.fixture
def client(sandbox):
    client = MapalyzeClient(resolve("mapalyze", sandbox.base_urls["mapalyze"], sandbox.tokens["mapalyze"],
                                    environ={}))
    yield client
    client.close()


def fids(path):
    return {f["record_id"]: f.id() for f in gpkg_layer(path).getFeatures()}


def test_sync_adds_updates_and_removes_in_place(sandbox, client, tmp_path):
    svc = sandbox.state.mapalyze
    path = str(tmp_path / "incidents.gpkg")
    first = load_records(client, path, "incidents", form_id="form_Incident")
    before = fids(path)
    records = svc.records("form_Incident")
    changed, moved, gone = records[3]["id"], records[4]["id"], records[5]["id"]
    svc.update_record(changed, {"severity": 5, "description": "now resolved", "photos": ["ph_new"]})
    svc.update_record(moved, coordinates=[7.5, 46.5])
    svc.delete_record(gone)
    new = svc.add_record("form_Incident", [2.0, 45.0], {"severity": 2.5, "note": "a new property"})
    feedback = LogFeedback()
    result = sync_records(client, path, "incidents", form_id="form_Incident", feedback=feedback)
    assert (result.added, result.changed, result.removed) == (1, 2, 1)
    assert result.describe() == "+1 added, ~2 changed, −1 removed"
    assert result.unchanged == first.count - 3 and result.count == first.count
    layer = gpkg_layer(path)
    by_id = features_by_id(layer)
    assert set(by_id) == {r["id"] for r in svc.records("form_Incident")}
    assert by_id[changed]["severity"] == 5 and by_id[changed]["description"] == "now resolved"
    assert list(by_id[changed]["photos"]) == ["ph_new"]
    point = by_id[moved].geometry().constGet()
    assert (point.x(), point.y()) == (7.5, 46.5)
    assert by_id[new["id"]]["note"] == "a new property" and is_null(by_id[records[6]["id"]]["note"])
    assert layer.fields().field("severity").type() == FIELD_DOUBLE, "2.5 widened the integer field"
    after = fids(path)
    assert all(after[rec_id] == fid for rec_id, fid in before.items() if rec_id in after), "rows keep their fid"
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")], "no temporary file left"
    assert any("Synced" in line and "+1 added" in line for line in feedback.lines)


def test_sync_with_nothing_changed_changes_nothing(sandbox, client, tmp_path):
    path = str(tmp_path / "trees.gpkg")
    first = load_records(client, path, "trees", form_id="form_TreeSurvey")
    before = fids(path)
    result = sync_records(client, path, "trees", form_id="form_TreeSurvey")
    assert (result.added, result.changed, result.removed) == (0, 0, 0) and result.unchanged == first.count
    assert result.describe() == "no changes" and fids(path) == before


def test_values_compare_by_meaning_across_widened_fields(sandbox, client, tmp_path):
    """A field widened to text earlier (an integer and a word) still matches the same integer from the server."""
    svc = sandbox.state.mapalyze
    path = str(tmp_path / "mixed.gpkg")
    load_records(client, path, "mixed", form_id="form_Incident")
    rec = svc.records("form_Incident")[0]["id"]
    svc.update_record(rec, {"severity": "high"})
    assert sync_records(client, path, "mixed", form_id="form_Incident").changed == 1
    layer = gpkg_layer(path)
    assert layer.fields().field("severity").type() == FIELD_STRING
    assert features_by_id(layer)[rec]["severity"] == "high"
    again = sync_records(client, path, "mixed", form_id="form_Incident")
    assert (again.added, again.changed, again.removed) == (0, 0, 0), "3 stored as text '3' is still 3"


def test_a_failed_sync_leaves_the_layer_unchanged(sandbox, client, tmp_path):
    svc = sandbox.state.mapalyze
    path = str(tmp_path / "grid.gpkg")
    load_records(client, path, "grid", form_id="form_GridInspection")
    before = features_by_id(gpkg_layer(path))
    svc.delete_record(svc.records("form_GridInspection")[0]["id"])
    sandbox.add_fault("mapalyze", "error", path="^/records$", status=500, after=1, count=None)
    with pytest.raises(MapbridgeError) as info:
        sync_records(client, path, "grid", form_id="form_GridInspection")
    assert "the layer was left unchanged" in info.value.user_message()
    assert set(features_by_id(gpkg_layer(path))) == set(before)
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]


def test_cancel_while_comparing_leaves_the_rows_unchanged(sandbox, client, tmp_path):
    svc = sandbox.state.mapalyze
    path = str(tmp_path / "all.gpkg")
    load_records(client, path, "all")
    before = features_by_id(gpkg_layer(path))
    for rec in svc.records()[:50]:
        svc.delete_record(rec["id"])
    feedback = LogFeedback(cancel_at=85.0)       # past the load (0-80 %), while comparing
    with pytest.raises(MapbridgeError) as info:
        sync_records(client, path, "all", feedback=feedback)
    assert info.value.user_message().startswith("Cancelled")
    assert set(features_by_id(gpkg_layer(path))) == set(before)
