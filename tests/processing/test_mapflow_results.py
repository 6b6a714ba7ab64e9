"""mapbridge:mapflow_results against the sandbox: results by processing id to memory and to a file, refusals."""

from __future__ import annotations

import pytest
from qgis.core import QgsProcessingException, QgsVectorLayer

from mapbridge.tests.processing.mapflow_helpers import run
from mapbridge.tests.processing.mapflow_helpers import seed_processing_id as _seed_id

pytestmark = pytest.mark.usefixtures("fresh_runs", "mapbridge_processing")  # tests/conftest.py


def test_results_by_id_to_memory_and_file(sandbox_env, tmp_gpkg):
    sandbox = sandbox_env
    seed_id = _seed_id(sandbox)
    result, _ = run("mapbridge:mapflow_results", {"PROCESSING_ID": seed_id, "OUTPUT": tmp_gpkg})
    assert result["STATUS"] == "OK" and result["FEATURE_COUNT"] == 50
    layer = QgsVectorLayer(result["OUTPUT"], "r", "ogr")
    assert layer.featureCount() == 50 and "building_height" in layer.fields().names()
    memory, _ = run("mapbridge:mapflow_results", {"PROCESSING_ID": seed_id, "OUTPUT": "TEMPORARY_OUTPUT"})
    assert memory["FEATURE_COUNT"] == 50


def test_results_of_a_running_or_unknown_processing_are_refused(sandbox_env, tmp_gpkg):
    sandbox = sandbox_env
    sandbox.processing_seconds = 30
    try:
        proc = sandbox.state.mapflow._new_processing({
            "name": "running", "wdName": "🏠 Buildings",
            "geometry": {"type": "Polygon", "coordinates": [[[37.6, 55.7], [37.61, 55.7], [37.61, 55.71],
                                                              [37.6, 55.7]]]}})
        with pytest.raises(QgsProcessingException, match="still IN_PROGRESS"):
            run("mapbridge:mapflow_results", {"PROCESSING_ID": proc["id"], "OUTPUT": tmp_gpkg})
    finally:
        sandbox.processing_seconds = 1.5
    with pytest.raises(QgsProcessingException, match="Mapflow: GET /processings/nope/v2 failed with HTTP 404"):
        run("mapbridge:mapflow_results", {"PROCESSING_ID": "nope", "OUTPUT": tmp_gpkg})


@pytest.mark.parametrize("kind", ["gzip", "gzip_body"])
def test_a_compressed_result_loads(sandbox_env, tmp_gpkg, kind):
    """Served with Content-Encoding: gzip (as any proxy or CDN may), or as a gzip file: all 50 features load."""
    sandbox = sandbox_env
    sandbox.add_fault("mapflow", kind, path="/result$", count=None)
    result, feedback = run("mapbridge:mapflow_results", {"PROCESSING_ID": _seed_id(sandbox), "OUTPUT": tmp_gpkg})
    assert result["FEATURE_COUNT"] == 50
    assert QgsVectorLayer(result["OUTPUT"], "r", "ogr").featureCount() == 50
    served = [r for r in sandbox.requests if r.path.endswith("/result")]
    assert len(served) == 1 and served[0].status == 200
    assert "gzip" in served[0].headers.get("accept-encoding", "")


def test_cancel_during_a_stalled_result_download_takes_effect_within_two_seconds(sandbox_env, tmp_gpkg):
    """Half the result arrives, then nothing: cancel ends it at once (not after a long read timeout)."""
    import threading
    import time

    from mapbridge.tests.processing.mapflow_helpers import LogFeedback

    sandbox = sandbox_env
    sandbox.result_features = 20_000            # a result of a few MB
    sandbox.add_fault("mapflow", "stall_body", path="/result$", latency_ms=120_000, count=None)
    feedback = LogFeedback()
    start = time.monotonic()
    threading.Timer(1.0, feedback.cancel).start()
    try:
        with pytest.raises(QgsProcessingException) as info:
            run("mapbridge:mapflow_results", {"PROCESSING_ID": _seed_id(sandbox), "OUTPUT": tmp_gpkg}, feedback)
    finally:
        sandbox.result_features = None
    assert time.monotonic() - start < 3.0
    assert "cancelled" in str(info.value).lower() and "interrupted" not in str(info.value)


@pytest.mark.parametrize("output", ["out.gpkg", "out.geojson", "TEMPORARY_OUTPUT"])
def test_a_result_mixing_polygons_lines_and_points_gives_one_layer_per_type(sandbox_env, tmp_path, output):
    from qgis.core import QgsWkbTypes

    sandbox = sandbox_env
    sandbox.result_features = 30
    try:
        proc = sandbox.state.mapflow._new_processing({
            "name": "mixed kinds", "wdName": "🏠 Buildings",
            "geometry": {"type": "Polygon", "coordinates": [[[37.6, 55.75], [37.62, 55.75], [37.62, 55.76],
                                                              [37.6, 55.76], [37.6, 55.75]]]}})
        sandbox.state.mapflow.finish(proc["id"])
        target = output if output == "TEMPORARY_OUTPUT" else str(tmp_path / output)
        result, feedback = run("mapbridge:mapflow_results", {"PROCESSING_ID": proc["id"], "OUTPUT": target})
    finally:
        sandbox.result_features = None
    assert len(result["LAYERS"]) == 3
    assert output == "TEMPORARY_OUTPUT" or result["OUTPUT"] == result["LAYERS"][0]
    kinds = []
    for source in result["LAYERS"]:
        layer = QgsVectorLayer(source, "part", "ogr")
        if not layer.isValid():   # the temporary output's first layer lives in the run's context
            continue
        assert layer.featureCount() == 10 and "bbox" in layer.fields().names()
        kinds.append(QgsWkbTypes.geometryType(layer.wkbType()))
    assert len(kinds) == (2 if output == "TEMPORARY_OUTPUT" else 3)
    assert QgsWkbTypes.GeometryType.LineGeometry in kinds and QgsWkbTypes.GeometryType.PointGeometry in kinds
    assert any("mixes 10 polygons, 10 lines, 10 points" in line for line in feedback.lines)
