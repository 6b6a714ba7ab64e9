"""`mapbridge:mapalyze_records` against the sandbox: exact paging, typing, filters, faults, errors, cancel."""

from __future__ import annotations

import json
import os
import time

import pytest
from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingOutputLayerDefinition,
    QgsProcessingUtils,
    QgsWkbTypes,
)

from mapbridge.core.timestamps import epoch_seconds, iso_utc
from mapbridge.core.qgis_compat import (
    FIELD_BOOL,
    FIELD_DATETIME,
    FIELD_DOUBLE,
    FIELD_INT,
    FIELD_LIST,
    FIELD_LONG,
    FIELD_MAP,
    FIELD_STRING,
    FIELD_STRING_LIST,
)
from mapbridge.tests.core.mapalyze.helpers import (
    LogFeedback,
    assert_matches_sandbox,
    assert_spatial_index,
    assert_valid_gpkg,
    features_by_id,
    gpkg_layer,
    is_null,
    run_records,
    settle,
)

def a_minute_ago():
    """A `since` that keeps only the records a test adds now (the seeded ones reached the server in 2025)."""
    return iso_utc(time.time() - 60)


KINDS = {
    "form_id": "string", "operator": "string", "captured_at": "datetime", "gps_accuracy_m": "double",
    "synced": "bool", "photos": "strlist", "asset_id": "string", "pole_count": "int", "voltage_kv": "double",
    "condition": "string", "inspection": "json", "species": "string", "height_m": "double", "dbh_cm": "int",
    "health": "string", "tags": "json", "source_type": "string", "functional": "bool", "flow_lpm": "double",
    "depth_m": "double", "last_serviced_at": "datetime", "category": "string", "severity": "int",
    "description": "string", "resolved": "bool",
}
QGIS_TYPES = {"string": (FIELD_STRING,), "datetime": (FIELD_DATETIME,), "double": (FIELD_DOUBLE,),
              "bool": (FIELD_BOOL,), "int": (FIELD_INT,), "json": (FIELD_STRING,),
              # GeoPackage has no list type: string lists are JSON arrays that QGIS reads back as a container
              # (a map on 3.22, a list or string list on newer QGIS); the values are compared as lists below.
              "strlist": (FIELD_MAP, FIELD_LIST, FIELD_STRING_LIST)}

pytestmark = pytest.mark.usefixtures("mapbridge_processing")  # tests/conftest.py

PAGE_OFFSETS = [0] + list(range(499, 2999, 499))   # pages of 3,000 records


def record_requests(sandbox):
    return [r for r in sandbox.requests if r.service == "mapalyze" and r.path == "/records"]


def leftovers(folder):
    return sorted(name for name in os.listdir(folder) if "partial" in name or name.endswith(("-journal", "-wal")))


def test_every_record_exactly_once_with_inferred_types(sandbox_env, tmp_path):
    out = str(tmp_path / "records.gpkg")
    results = run_records({"OUTPUT": out})
    assert results["RECORDS"] == 3000
    layer = gpkg_layer(out)
    assert layer.featureCount() == 3000
    assert layer.crs().authid() == "EPSG:4326"
    assert layer.wkbType() == QgsWkbTypes.PointZ  # some records carry an altitude
    names = layer.fields().names()
    assert names[:2] == ["fid", "record_id"]
    assert set(names[2:]) == set(KINDS)
    for name, kind in KINDS.items():
        assert layer.fields().field(name).type() in QGIS_TYPES[kind], name
    records = sandbox_env.state.mapalyze.records()
    assert_matches_sandbox(layer, records, KINDS)
    assert_spatial_index(layer)
    assert_valid_gpkg(out)
    assert results["NEWEST"] == max(r["properties"]["captured_at"] for r in records)
    requests = record_requests(sandbox_env)
    # 500 a page; each later page starts one record early (the overlap proving nothing shifted meanwhile)
    assert sorted(int(r.query["offset"][0]) for r in requests) == PAGE_OFFSETS
    assert all(r.query["limit"] == ["500"] and r.query["format"] == ["geojson"] for r in requests)
    assert all("form_id" not in r.query and "since" not in r.query for r in requests)
    assert leftovers(tmp_path) == []


def test_unicode_quotes_newlines_and_nulls_survive(sandbox_env, tmp_path):
    text = 'Ünïcödé “quotes” \'single\' "double"\nsecond line\ttab 李雷 🌍'
    added = sandbox_env.state.mapalyze.add_record(
        "form_Incident", [2.35, 48.85, 35.5], {"description": text, "operator": None, "severity": None},
        captured_at="2031-01-01T00:00:00Z")
    out = str(tmp_path / "unicode.gpkg")
    run_records({"FORM_ID": "form_Incident", "SINCE": a_minute_ago(), "OUTPUT": out})
    feature = features_by_id(gpkg_layer(out))[added["id"]]
    assert feature["description"] == text
    assert is_null(feature["operator"]) and is_null(feature["severity"])
    assert feature.geometry().constGet().z() == 35.5


def test_form_filter_and_since_reach_the_server(sandbox_env, tmp_path):
    svc = sandbox_env.state.mapalyze
    # Just after the capture of a record that reached the server days later: since filters on the latter.
    late = next(r for r in svc.records("form_TreeSurvey")
                if svc.created_at(r["id"]) - epoch_seconds(r["properties"]["captured_at"]) > 2 * 86400)
    since = iso_utc(epoch_seconds(late["properties"]["captured_at"]) + 3600)
    out = str(tmp_path / "trees.gpkg")
    results = run_records({"FORM_ID": "form_TreeSurvey", "SINCE": since, "OUTPUT": out})
    created = set(sandbox_env.state.mapalyze.created_after(epoch_seconds(since), "form_TreeSurvey"))
    expected = [r for r in sandbox_env.state.mapalyze.records("form_TreeSurvey") if r["id"] in created]
    assert any(r["properties"]["captured_at"] < since for r in expected), "captured before, created after"
    assert results["RECORDS"] == len(expected) > 0
    requests = record_requests(sandbox_env)
    assert requests and all(r.query["form_id"] == ["form_TreeSurvey"] and r.query["since"] == [since]
                            for r in requests)
    layer = gpkg_layer(out)
    assert {f["form_id"] for f in layer.getFeatures()} == {"form_TreeSurvey"}
    assert set(features_by_id(layer)) == {r["id"] for r in expected}


def test_retried_pages_after_429_and_503_keep_the_count_exact(sandbox_env, tmp_path):
    sandbox_env.add_fault("mapalyze", "429", path="^/records$", after=2, count=1, retry_after=1)
    sandbox_env.add_fault("mapalyze", "503", path="^/records$", after=4, count=2)
    out = str(tmp_path / "faults.gpkg")
    results = run_records({"OUTPUT": out})
    assert results["RECORDS"] == 3000
    statuses = [r.status for r in record_requests(sandbox_env)]
    assert 429 in statuses and statuses.count(503) == 2
    # Retry-After: 1 held every fetcher, not only the one that was told (the gate)
    limited = [r.time for r in record_requests(sandbox_env) if r.status == 429][0]
    assert not [r for r in record_requests(sandbox_env) if limited + 0.15 < r.time < limited + 0.85]
    ok_offsets = [int(r.query["offset"][0]) for r in record_requests(sandbox_env) if r.status == 200]
    assert sorted(set(ok_offsets)) == PAGE_OFFSETS
    assert len(features_by_id(gpkg_layer(out))) == 3000


def test_types_are_inferred_across_all_pages(sandbox_env, tmp_path):
    """Values seen late widen a field (int→double, mixed→string, strings→JSON) and earlier rows stay exact."""
    svc = sandbox_env.state.mapalyze
    added = []
    for i in range(1100):
        late = i >= 1000  # on the third page
        data = {
            "count": 2.5 if late and i == 1050 else i,                      # int, then a double
            "flag": "maybe" if late and i == 1060 else (i % 2 == 0),       # bool, then a string
            "big": 2 ** 40 if late and i == 1070 else i,                    # int32, then int64
            "labels": [1, "x"] if late and i == 1080 else ["a", f"l{i}"],   # strings, then a mixed list
            "when": "soon" if late and i == 1090 else f"2031-02-0{1 + i % 9}T10:00:00Z",  # timestamps, then text
            "mixed": "text" if late and i == 1099 else 0.25 * i,            # double, then text
        }
        if late and i == 1095:
            data["late_field"] = {"nested": True}                           # a property seen only at the end
        coords = [10.0 + i / 1000, 50.0] + ([120.5] if late and i == 1030 else [])  # altitude only late
        added.append(svc.add_record("form_Incident", coords, data, captured_at=f"2031-01-01T00:{i // 60:02d}:"
                                                                             f"{i % 60:02d}Z"))
    out = str(tmp_path / "widen.gpkg")
    feedback = LogFeedback()
    results = run_records({"FORM_ID": "form_Incident", "SINCE": a_minute_ago(), "OUTPUT": out}, feedback)
    assert results["RECORDS"] == 1100
    layer = gpkg_layer(out)
    fields = layer.fields()
    assert fields.field("count").type() == FIELD_DOUBLE
    assert fields.field("flag").type() == FIELD_STRING
    assert fields.field("big").type() == FIELD_LONG
    assert fields.field("labels").type() == FIELD_STRING  # JSON text
    assert fields.field("when").type() == FIELD_STRING
    assert fields.field("mixed").type() == FIELD_STRING
    assert fields.field("late_field").type() == FIELD_STRING
    assert layer.wkbType() == QgsWkbTypes.PointZ
    by_id = features_by_id(layer)
    for i, record in enumerate(added):
        f = by_id[record["id"]]
        data = record["properties"]
        assert f["count"] == float(data["count"]) and isinstance(f["count"], float)
        assert f["flag"] == (data["flag"] if isinstance(data["flag"], str) else json.dumps(data["flag"]))
        assert f["big"] == data["big"]
        assert json.loads(f["labels"]) == data["labels"]
        assert f["when"] == data["when"]
        assert f["mixed"] == (data["mixed"] if isinstance(data["mixed"], str) else json.dumps(data["mixed"]))
        z = f.geometry().constGet().z()
        assert z == 120.5 if i == 1030 else z != z
    assert json.loads(by_id[added[1095]["id"]]["late_field"]) == {"nested": True}
    assert_spatial_index(layer, (10.2, 49.0, 10.6, 51.0))
    assert_valid_gpkg(out)
    assert any("Field count" in line for line in feedback.lines)


def test_memory_output_has_real_string_lists(sandbox_env):
    context = QgsProcessingContext()
    results = run_records({"FORM_ID": "form_WaterPoint", "OUTPUT": "memory:"}, context=context)
    layer = results["OUTPUT"]  # processing.run hands temporary layers back as layer objects
    if isinstance(layer, str):
        layer = QgsProcessingUtils.mapLayerFromString(layer, context)
    expected = sandbox_env.state.mapalyze.records("form_WaterPoint")
    assert layer.providerType() == "memory" and layer.featureCount() == len(expected)
    assert layer.fields().field("photos").type() == FIELD_STRING_LIST
    kinds = {k: ("string" if v == "strlist" else v) for k, v in KINDS.items()}
    by_id = features_by_id(layer)
    for record in expected:
        feature = by_id[record["id"]]
        assert feature["photos"] == record["properties"]["photos"]
        assert feature["flow_lpm"] == record["properties"]["flow_lpm"] or is_null(feature["flow_lpm"])
    assert kinds


def test_bad_token_fails_with_the_service_message(sandbox_env, tmp_path, monkeypatch):
    monkeypatch.setenv("MAPBRIDGE_MAPALYZE_TOKEN", "wrong-token")
    out = str(tmp_path / "denied.gpkg")
    with pytest.raises(QgsProcessingException) as err:
        run_records({"OUTPUT": out})
    message = str(err.value)
    assert "Mapalyze" in message and "Invalid API token" in message and "token" in message.split(".")[-2]
    assert "wrong-token" not in message and "Traceback" not in message
    assert not os.path.exists(out) and leftovers(tmp_path) == []


def test_unknown_form_names_the_form(sandbox_env, tmp_path):
    out = str(tmp_path / "nope.gpkg")
    with pytest.raises(QgsProcessingException) as err:
        run_records({"FORM_ID": "form_Nope", "OUTPUT": out})
    assert "Form 'form_Nope' not found" in str(err.value)
    assert not os.path.exists(out)


def test_bad_since_is_refused_before_any_request(sandbox_env, tmp_path):
    with pytest.raises(QgsProcessingException) as err:
        run_records({"SINCE": "last tuesday", "OUTPUT": str(tmp_path / "x.gpkg")})
    assert "ISO 8601" in str(err.value)
    assert record_requests(sandbox_env) == []


def test_server_error_midway_leaves_no_output(sandbox_env, tmp_path):
    out = str(tmp_path / "broken.gpkg")
    sandbox_env.add_fault("mapalyze", "500", path="^/records$", after=3, count=None)
    with pytest.raises(QgsProcessingException) as err:
        run_records({"OUTPUT": out})
    assert "Mapalyze" in str(err.value) and "500" in str(err.value) and "try again later" in str(err.value)
    assert not os.path.exists(out) and leftovers(tmp_path) == []


def test_existing_output_is_only_replaced_by_a_complete_load(sandbox_env, tmp_path):
    out = str(tmp_path / "keep.gpkg")
    run_records({"FORM_ID": "form_Incident", "OUTPUT": out})
    before = gpkg_layer(out).featureCount()
    sandbox_env.add_fault("mapalyze", "error", status=400, path="^/records$", after=2, count=None)
    with pytest.raises(QgsProcessingException):
        run_records({"OUTPUT": out})
    assert gpkg_layer(out).featureCount() == before


def test_cancel_leaves_no_half_layer(sandbox_env, tmp_path):
    sandbox_env.add_fault("mapalyze", "latency", path="^/records$", after=3, count=None, latency_ms=1500)
    out = str(tmp_path / "cancelled.gpkg")
    feedback = LogFeedback(cancel_at=10)
    with pytest.raises(QgsProcessingException) as err:
        run_records({"OUTPUT": out}, feedback)
    assert "Cancelled" in str(err.value) and "nothing was saved" in str(err.value)
    assert not os.path.exists(out) and leftovers(tmp_path) == []
    settle(1.5)


def load_outputs_like_the_toolbox(context, feedback):
    """What the toolbox does once an algorithm ends: add each output layer, then run its post-processor.

    (processing.runAndLoadResults needs the real QGIS interface on QGIS >= 3.40, which pytest-qgis mocks.)"""
    from qgis.core import QgsProject

    for layer_ref, details in context.layersToLoadOnCompletion().items():
        layer = QgsProcessingUtils.mapLayerFromString(layer_ref, context)
        assert layer is not None and layer.isValid(), layer_ref
        QgsProject.instance().addMapLayer(context.temporaryLayerStore().takeMapLayer(layer) or layer)
        if details.postProcessor() is not None:
            details.postProcessor().postProcessLayer(layer, context, feedback)


def test_toolbox_run_loads_a_styled_marked_layer(sandbox_env, qgis_new_project, tmp_path):
    from qgis.core import QgsProject, QgsSingleSymbolRenderer

    out = str(tmp_path / "toolbox.gpkg")
    context, feedback = QgsProcessingContext(), LogFeedback()
    context.setProject(QgsProject.instance())
    output = QgsProcessingOutputLayerDefinition(out, QgsProject.instance())
    run_records({"FORM_ID": "form_WaterPoint", "OUTPUT": output}, context=context, feedback=feedback)
    load_outputs_like_the_toolbox(context, feedback)
    layers = [lyr for lyr in QgsProject.instance().mapLayers().values() if lyr.source().startswith(out)]
    assert len(layers) == 1
    layer = layers[0]
    assert layer.customProperty("mapbridge/service") == "mapalyze"
    assert layer.customProperty("mapbridge/form_id") == "form_WaterPoint"
    assert layer.customProperty("mapbridge/newest")
    assert layer.customProperty("mapbridge/watermark")
    assert isinstance(layer.renderer(), QgsSingleSymbolRenderer) and not layer.labelsEnabled(), "one form"
    QgsProject.instance().removeAllMapLayers()


def test_temporary_output(sandbox_env):
    context = QgsProcessingContext()
    results = run_records({"FORM_ID": "form_Incident", "OUTPUT": "TEMPORARY_OUTPUT"}, context=context)
    layer = results["OUTPUT"]
    if isinstance(layer, str):
        layer = QgsProcessingUtils.mapLayerFromString(layer, context)
    assert layer.featureCount() == len(sandbox_env.state.mapalyze.records("form_Incident"))


def test_reserved_and_case_clashing_names_keep_their_columns_across_a_refresh(sandbox_env, tmp_path):
    from mapbridge.core.mapalyze.load import refresh_records
    from mapbridge.core.service_factory import client_for

    data = {"fid": 7, "geom": "g", "record_id": "mine", "Name": "upper", "name": "lower"}
    first = sandbox_env.state.mapalyze.add_record("form_Incident", [1.0, 2.0], data,
                                                  captured_at="2031-01-01T00:00:00Z")
    out = str(tmp_path / "names.gpkg")
    results = run_records({"FORM_ID": "form_Incident", "SINCE": a_minute_ago(), "OUTPUT": out})
    names = gpkg_layer(out).fields().names()
    assert {"fid_2", "geom_2", "record_id_2", "Name", "name_2"} <= set(names)
    second = sandbox_env.state.mapalyze.add_record("form_Incident", [1.0, 2.0], data,
                                                   captured_at="2031-01-02T00:00:00Z")
    client = client_for("mapalyze")
    refresh_records(client, out, "names", form_id="form_Incident", watermark=results["WATERMARK"])
    client.close()
    layer = gpkg_layer(out)
    assert layer.fields().names() == names
    by_id = features_by_id(layer)
    for record in (first, second):
        feature = by_id[record["id"]]
        assert (feature["fid_2"], feature["geom_2"], feature["record_id_2"]) == (7, "g", "mine")
        assert (feature["Name"], feature["name_2"]) == ("upper", "lower")
