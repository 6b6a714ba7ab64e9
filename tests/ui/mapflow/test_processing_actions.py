"""Managing processings from the Processings page (ui/mapflow/processing_actions.py) against the sandbox: rename,
delete several after asking, restart, duplicate into the form, rate or review, details with the AOI as a layer."""

from __future__ import annotations

import os
import time

import pytest
from qgis.core import QgsProject

from mapbridge.tests.ui.mapflow.conftest import (
    finished_processing,
    requests_to,
    select_row,
    show_processings,
    wait_until,
)
from mapbridge.ui.mapflow.tab import NEW


def test_rename_and_delete_several_after_asking(tab, sandbox_env):
    sandbox = sandbox_env
    ids = [finished_processing(sandbox, f"Old {n}") for n in range(3)]
    show_processings(tab)
    page, fake = tab.processings_page, tab.fake
    select_row(tab, ids[0])
    fake.answers["text"] = "New name"
    page.rename_button.click()
    assert wait_until(lambda: (page.model.row_by_id(ids[0]) or {}).get("name") == "New name", 15)
    assert sandbox.state.mapflow.processings[ids[0]]["name"] == "New name"
    assert fake.asked[-1][:3] == ("text", "Rename the processing", "New name:")

    tab.poller.poll_now()
    assert wait_until(lambda: all(page.model.row_by_id(i) for i in ids), 10)
    page.table.clearSelection()
    for processing_id in ids[1:]:
        number = next(i for i, r in enumerate(page.model.rows) if r["id"] == processing_id)
        page.table.selectionModel().select(page.model.index(number, 0), page.table.selectionModel().SelectionFlag.Select
                                           | page.table.selectionModel().SelectionFlag.Rows)
    assert page.selected_ids() and set(page.selected_ids()) == set(ids[1:]) and page.delete_button.isEnabled()
    fake.answers["yes_no"] = False
    page.delete_button.click()
    assert "Delete 2 processing(s) on Mapflow" in fake.asked[-1][2] and "cannot be restored" in fake.asked[-1][2]
    assert not requests_to(sandbox, "DELETE", ids[1])
    fake.answers["yes_no"] = True
    page.delete_button.click()
    assert wait_until(lambda: not any(page.model.row_by_id(i) for i in ids[1:]), 15)
    assert all(i not in sandbox.state.mapflow.processings for i in ids[1:])
    assert len([r for r in sandbox.requests if r.method == "DELETE"]) == 2
    assert "2 processing(s) deleted on Mapflow" in page.status_label.text()


def test_restart_a_failed_processing(tab, sandbox_env):
    sandbox = sandbox_env
    sandbox.processing_seconds = 30
    failed = finished_processing(sandbox, "please fail")
    show_processings(tab)
    page = tab.processings_page
    select_row(tab, failed)
    assert page.restart_button.isEnabled() and not page.load_button.isEnabled()
    page.restart_button.click()
    assert wait_until(lambda: (page.model.row_by_id(failed) or {}).get("status") == "IN_PROGRESS", 15)
    assert requests_to(sandbox, "POST", f"/processings/{failed}/restart/v2")
    assert page.model.row_by_id(failed)["status_text"].startswith("Running")


def test_duplicate_fills_the_form_with_the_processing_and_its_area(tab, sandbox_env, canvas):
    sandbox = sandbox_env
    original = finished_processing(sandbox, "Roofs", blocks=[{"name": "Classification", "enabled": False},
                                                             {"name": "Heights", "enabled": True}],
                                   params={"sourceParams": {"dataProvider": {"providerName": "Maxar SecureWatch",
                                                                             "zoom": 17}}})
    show_processings(tab)
    select_row(tab, original)
    tab.processings_page.duplicate_button.click()
    new = tab.new_page
    assert wait_until(lambda: tab.pages.currentIndex() == NEW and new.name_edit.text() == "Roofs (copy)", 15)
    assert new.model_panel.model().name == "🏠 Buildings" and new.model_panel.options() == ("Heights",)
    assert new.source_panel.provider().name == "Maxar SecureWatch" and new.source_panel.zoom_combo.currentData() == 17
    area = sandbox.state.mapflow.processings[original]["aoiArea"] / 1e6
    assert new.aoi_panel.aoi.area_km2 == pytest.approx(area, rel=0.02)
    assert wait_until(lambda: new.start_button.isEnabled(), 10), new.problems_label.text()


def duplicate(tab, processing_id):
    """Duplicate a processing from the list; waits for the refilled New page."""
    select_row(tab, processing_id)
    tab.processings_page.duplicate_button.click()
    assert wait_until(lambda: tab.pages.currentIndex() == NEW and tab.new_page.name_edit.text().endswith("(copy)"), 15)
    tab.new_page.name_edit.clear()
    return tab.new_page


def test_duplicate_says_what_could_not_be_copied_and_names_a_catalog_image(tab, sandbox_env, canvas):
    from mapbridge.core.mapflow.sources import CATALOG

    sandbox = sandbox_env
    processings = sandbox.state.mapflow.processings
    retired = finished_processing(sandbox, "Old times")
    processings[retired]["workflowDef"] = {"id": "wd-retired", "name": "🏢 Retired model"}
    processings[retired]["params"] = {"sourceParams": {"dataProvider": {"providerName": "Old provider", "zoom": 15}}}
    odd_zoom = finished_processing(sandbox, "Odd zoom", params={"sourceParams": {"dataProvider": {
        "providerName": "Maxar SecureWatch", "zoom": 18}}})
    processings[odd_zoom]["params"]["sourceParams"]["dataProvider"]["zoom"] = 15
    on_image = finished_processing(sandbox, "On an image")
    processings[on_image]["params"] = {"sourceParams": {"imagerySearch": {
        "dataProvider": "maxar", "imageIds": ["a518230a236664891bfb2d8041028a59"], "zoom": 18}}}
    show_processings(tab)

    new = duplicate(tab, retired)
    problems = new.problems_label.text()
    assert "model '🏢 Retired model' is not in this project; 🏠 Buildings is chosen instead" in problems, problems
    assert "provider 'Old provider' is not offered to your account" in problems, problems
    assert new.problems_label.isVisible() or not tab.isVisible()
    new.model_panel.combo.activated.emit(0)   # the user picks the model and the imagery: the notes go
    assert "Retired" not in new.problems_label.text()

    tab.pages.setCurrentIndex(1)
    new = duplicate(tab, odd_zoom)
    assert new.source_panel.provider().name == "Maxar SecureWatch"
    assert "does not offer the copied zoom 15; zoom 18 is chosen instead" in new.problems_label.text(), \
        new.problems_label.text()

    tab.pages.setCurrentIndex(1)
    new = duplicate(tab, on_image)
    panel = new.source_panel
    assert panel.kind() == CATALOG and panel.catalog_label.text() == "Maxar image of 2021-07-07"
    assert "is chosen instead" not in new.problems_label.text()
    assert requests_to(sandbox, "GET", "/catalog/meta/a518230a236664891bfb2d8041028a59")
    assert panel.source().image_ids == ["a518230a236664891bfb2d8041028a59"] and panel.source().zoom == 18


def test_rate_a_finished_processing_or_review_it(tab, sandbox_env):
    sandbox = sandbox_env
    done = finished_processing(sandbox, "Rate me")
    show_processings(tab)
    page, fake = tab.processings_page, tab.fake
    select_row(tab, done)
    assert page.rate_button.text() == "Rate…"
    fake.answers["rating"] = (4, "Some roofs missing")
    page.rate_button.click()
    assert wait_until(lambda: sandbox.state.mapflow.processings[done].get("rating"), 10)
    assert sandbox.state.mapflow.processings[done]["rating"] == {"rating": 4, "feedback": "Some roofs missing"}

    sandbox.state.mapflow.review_enabled = True
    review = finished_processing(sandbox, "Review me")
    select_row(tab, review)
    assert wait_until(lambda: page.rate_button.text() == "Review…", 10)
    fake.answers["review"] = (False, "Wrong roofs in the north")
    page.rate_button.click()
    assert wait_until(lambda: sandbox.state.mapflow.processings[review].get("reviewStatus", {}).get(
        "reviewStatus") == "REFUSED", 10)
    assert requests_to(sandbox, "PUT", f"/processings/{review}/rejection")[0].json["comment"] == \
        "Wrong roofs in the north"


def answer_dialog(kind, fill):
    """When a dialog of this kind opens (modal, in exec()), fill it as a user would and press OK."""
    from qgis.PyQt.QtCore import QTimer
    from qgis.PyQt.QtWidgets import QApplication, QDialogButtonBox

    seen = []

    def look():
        dialog = next((w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()), None)
        if dialog is None:
            QTimer.singleShot(20, look)
            return
        seen.append(dialog.windowTitle())
        fill(dialog)
        dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()

    QTimer.singleShot(0, look)
    return seen


def test_the_real_rate_and_review_dialogs(tab, sandbox_env):
    from mapbridge.ui.mapflow.asker import Asker
    from mapbridge.ui.mapflow.dialogs import RateDialog, ReviewDialog

    sandbox = sandbox_env
    tab.actions.asker = Asker(tab)   # the dialogs the user sees, not the tests' answers
    page = tab.processings_page
    done = finished_processing(sandbox, "Rate me for real")
    show_processings(tab)
    select_row(tab, done)

    def rate(dialog):
        dialog.group.button(3).click()
        dialog.comment.setPlainText("Trees counted as roofs")

    seen = answer_dialog(RateDialog, rate)
    page.rate_button.click()
    assert seen == ["Rate the processing"]
    assert wait_until(lambda: requests_to(sandbox, "PUT", f"/processings/{done}/rate"), 10)
    assert requests_to(sandbox, "PUT", f"/processings/{done}/rate")[0].json == {"rating": 3,
                                                                                 "feedback": "Trees counted as roofs"}

    sandbox.state.mapflow.review_enabled = True
    review = finished_processing(sandbox, "Accept me")
    select_row(tab, review)
    assert wait_until(lambda: page.rate_button.text() == "Review…", 10)
    seen = answer_dialog(ReviewDialog, lambda dialog: dialog.accept_button.click())
    page.rate_button.click()
    assert seen == ["Review the processing"]
    assert wait_until(lambda: sandbox.state.mapflow.processings[review].get("reviewStatus", {}).get(
        "reviewStatus") == "ACCEPTED", 10)
    accepted = requests_to(sandbox, "PUT", f"/processings/{review}/acceptation")
    assert len(accepted) == 1 and not accepted[0].body
    assert not requests_to(sandbox, "PUT", f"/processings/{review}/rejection")
    assert not requests_to(sandbox, "PUT", f"/processings/{review}/rate")


def test_details_in_local_time_and_the_aoi_as_a_layer(tab, sandbox_env, monkeypatch):
    sandbox = sandbox_env
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        failed = finished_processing(sandbox, "Detailed fail", blocks=[{"name": "Classification", "enabled": True},
                                                                       {"name": "Heights", "enabled": False}])
        sandbox.state.mapflow.processings[failed]["created"] = "2025-03-01T10:00:00.000Z"
        show_processings(tab)
        select_row(tab, failed)
        tab.processings_page.details_button.click()
        assert wait_until(lambda: tab.actions.details is not None and tab.actions.details.isVisible(), 10)
        values = {k: v.text() for k, v in tab.actions.details.values.items()}
        assert values["Model"] == "🏠 Buildings" and values["Status"].startswith("Failed")
        assert values["Blocks"] == "Building detection, Building classification (off: Building heights)"
        assert values["Imagery"] == "Mapbox" and values["Area"] == "0.349 km²" and values["Cost"].endswith("credits")
        assert values["Created"] == "2025-03-01 19:00 JST (UTC+09:00)"
        assert "The imagery source is not available" in values["Messages"] and "Finished" in values
        tab.actions.details.aoi_button.click()
        assert wait_until(lambda: QgsProject.instance().mapLayersByName("Detailed fail (AOI)"), 10)
        layer = QgsProject.instance().mapLayersByName("Detailed fail (AOI)")[0]
        assert layer.featureCount() == 1 and layer.extent().xMinimum() == pytest.approx(37.6156, abs=1e-6)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
        if tab.actions.details is not None:
            tab.actions.details.close()
    assert os.environ.get("TZ") is None
