"""qgis_process runs `mapbridge:mapalyze_records` like a user's script would (conftest's `qgis_process`)."""

from __future__ import annotations

from qgis.core import QgsVectorLayer

ALG = "mapbridge:mapalyze_records"


def test_qgis_process_writes_the_geopackage(qgis_process, sandbox, tmp_path):
    out = str(tmp_path / "water.gpkg")
    code, result, stderr = qgis_process.run_json(ALG, FORM_ID="form_WaterPoint", SINCE="2025-06-01T00:00:00Z",
                                                 OUTPUT=out)
    assert code == 0, stderr
    expected = [r for r in sandbox.state.mapalyze.records("form_WaterPoint")
                if r["properties"]["captured_at"] > "2025-06-01T00:00:00Z"]
    assert result["results"]["RECORDS"] == len(expected)
    layer = QgsVectorLayer(out, "water", "ogr")
    assert layer.featureCount() == len(expected)
    assert {r.query.get("since", [""])[0] for r in sandbox.requests if r.path == "/records"} == {
        "2025-06-01T00:00:00Z"}


def test_qgis_process_reports_a_bad_token_without_traceback(qgis_process, tmp_path):
    qgis_process.env["MAPBRIDGE_MAPALYZE_TOKEN"] = "nope"
    out = tmp_path / "denied.gpkg"
    proc = qgis_process("run", ALG, "--", f"OUTPUT={out}")
    assert proc.returncode != 0
    assert "Invalid API token" in proc.stderr + proc.stdout and "Traceback" not in proc.stderr
    assert not out.exists()
