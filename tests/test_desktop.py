"""The real QGIS desktop under Xvfb loads the plugin and shows the dock."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from mapbridge.tests.deprecations import our_deprecations

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not shutil.which("xvfb-run") or not shutil.which("qgis"),
                                reason="needs the qgis desktop and xvfb-run (installed by make setup)")


def run_in_desktop(script, out):
    """Run a --code script in the real QGIS desktop under Xvfb; return the report.json it wrote."""
    subprocess.run(["bash", str(ROOT / "tools" / "run_desktop.sh"), str(ROOT / "tools" / script), str(out)],
                   check=True, timeout=300)
    report = json.loads((out / "report.json").read_text())
    assert report["errors"] == []
    assert our_deprecations((out / "qgis.log").read_text(errors="replace")) == [], "deprecated API used"
    return report


def test_desktop_loads_plugin_and_opens_dock(tmp_path):
    report = run_in_desktop("desktop_check.py", tmp_path / "desktop")
    assert report["plugin_loaded"] and not report["dock_built_at_start"]
    assert report["dock_found"] and report["dock_visible_after_toggle"]
    assert report["provider_registered"]
    assert report["tabs"] == ["Mapalyze", "Mapflow", "Push", "Settings"]
    for png in report["screenshots"]:
        assert Path(png).stat().st_size > 10_000, "a real screenshot, not an empty image"


def test_desktop_dock_loads_syncs_pushes_asks_cancels_and_tests(tmp_path):
    """The scene `make screenshots` shoots, at the dock's default width, as an end-to-end test."""
    report = run_in_desktop("screenshot_scene.py", tmp_path / "scene")
    assert report["mapalyze_features"] == 1500, "all sandbox records loaded through the Mapalyze tab"
    assert report["legend"] == ["Grid inspection", "Tree survey", "Water point", "Incident", "Other forms"]
    assert report["sync_status"] == ("Mapalyze records (all forms): +1 added, ~1 changed, −1 removed "
                                     "(1,500 records)")
    assert report["selected"] == 20, "20 features of the shown city selected"
    assert report["push_preview"] == "20 features will be sent"
    assert report["push_report"] == {"created": 20}, report.get("push_status_text")
    assert report["mapiry_locations"] == 20, "the 20 selected features arrived on the new Mapiry map"
    assert "/push_reports/push_report_Mapalyze_records_all_forms_to_mapiry_" in report["push_report_path"]
    question, informative = report["question"]
    assert question == "Push all 1,499 features of “Mapalyze records (all forms)” to a new Mapiry map “Everything”?"
    assert "Nothing is selected, so the whole layer goes." in informative and "15 bulk requests" in informative
    assert report["cancel_status_text"].startswith("Mapiry: push cancelled: 1,499 not sent, 1 skipped: no name (field "
                                                   "'operator' is NULL or empty). The new map “Everything”")
    assert "was created and is empty" in report["cancel_status_text"]
    # A push cancelled after more than 5 s: one message, ours; no "Task failed" from QGIS beside it.
    assert report["bars"]["after_cancel"] == ["Mapbridge: " + report["cancel_status_text"]]
    assert report["settings_status"].startswith("Connected to Mapiry: token accepted (read and write)")
    assert report["settings_env"].endswith("The token comes from the environment (MAPBRIDGE_MAPIRY_TOKEN).")
    assert len(report["bars"]["after_test"]) == 1
    assert report["failed_test_seconds"] > 5 and "answered HTTP 503" in report["failed_test_status"]
    assert report["bars"]["after_failed_test"] == ["Mapbridge: " + report["failed_test_status"]], \
        "a test failing after 5 s: one message, no 'Task failed' beside it"
    assert [Path(p).name for p in report["screenshots"]] == [
        "dock-mapalyze.png", "dock-push.png", "dock-push-question.png", "dock-push-cancelled.png",
        "dock-settings.png", "dock-mapflow-new.png",
        "dock-mapflow-processings.png", "dock-mapflow-catalog.png", "dock-mapflow-myimagery.png"]
    # Each Mapflow sub-page at the default width, 350 and 1,200 px: nothing cut.
    assert set(report["mapflow_clipped"]) == {f"{page}@{width}" for page in ("new", "processings", "catalog",
                                                                               "myimagery") for width in
                                              (400, 350, 1200)}
    assert all(problems == [] for problems in report["mapflow_clipped"].values()), report["mapflow_clipped"]
    assert "credits" in report["mapflow_cost"] and report["mapflow_catalog_rows"] > 0
    assert report["mapflow_images"] == 1 and "used" in report["mapflow_storage"]
    assert any(text.startswith("Running") for text in report["mapflow_rows"])
    assert any(text.startswith("Failed:") for text in report["mapflow_rows"])
