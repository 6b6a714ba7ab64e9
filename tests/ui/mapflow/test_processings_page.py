"""The Processings page (ui/mapflow/processings_page.py, processings_model.py) against the sandbox: status in words
and colours, sorting by any column with numbers as numbers, filtering and paging 30 at a time."""

from __future__ import annotations

from qgis.PyQt.QtCore import Qt

from mapbridge.tests.ui.mapflow.conftest import finished_processing, requests_to, show_processings, wait_until
from mapbridge.ui.mapflow.processings_model import COLOURS, COLUMNS, RUNNING_COLOUR


def square(size):
    """A square AOI of about size × size degrees-ish near Moscow."""
    return {"type": "Polygon", "coordinates": [[[37.6, 55.7], [37.6 + size, 55.7], [37.6 + size, 55.7 + size / 2],
                                                [37.6, 55.7 + size / 2], [37.6, 55.7]]]}


def column(key):
    return next(i for i, (k, _) in enumerate(COLUMNS) if k == key)


def test_status_words_and_colours(tab, sandbox_env):
    sandbox = sandbox_env
    sandbox.processing_seconds = 100
    failed = finished_processing(sandbox, "will fail")
    with sandbox.state.mapflow.lock:
        running = sandbox.state.mapflow._new_processing({"name": "running", "wdName": "🌲 Forest",
                                                          "geometry": square(0.01)}, charge=False)
    running["_start"] -= 35   # 35 % of 100 s
    show_processings(tab)
    model = tab.processings_page.model
    assert wait_until(lambda: model.row_by_id(running["id"]) is not None, 10)

    def cell(processing_id, role=Qt.ItemDataRole.DisplayRole):
        row = next(i for i, r in enumerate(model.rows) if r["id"] == processing_id)
        return model.index(row, column("status")).data(role)

    assert cell(running["id"]).startswith("Running 3")
    assert cell(failed) == "Failed: The imagery source is not available for this area " \
                           "[source-validator.SourceNotAvailable] (source_type: Mapbox)"
    seed = next(r["id"] for r in model.rows if r["name"].startswith("Seed"))
    assert cell(seed) == "Finished"
    assert cell(seed, Qt.ItemDataRole.ForegroundRole).color() == COLOURS["OK"]
    assert cell(failed, Qt.ItemDataRole.ForegroundRole).color() == COLOURS["FAILED"]
    assert cell(running["id"], Qt.ItemDataRole.ForegroundRole).color() == RUNNING_COLOUR


def test_sorting_filtering_and_paging_through_the_service(tab, sandbox_env):
    sandbox = sandbox_env
    sizes = [0.002, 0.08, 0.012, 0.03, 0.007, 0.06]   # 0.06 and 0.08 are 10–25 km²: two digits before the point
    for number in range(36):
        finished_processing(sandbox, f"Area {number}", geometry=square(sizes[number % len(sizes)]))
    show_processings(tab)
    page = tab.processings_page
    tab.resize(1200, 900)
    assert wait_until(lambda: page.page_label.text() == "1–30 of 37", 10), page.page_label.text()
    assert len(page.model.rows) == 30 and page.next_button.isEnabled() and not page.previous_button.isEnabled()
    page.next_button.click()
    assert wait_until(lambda: page.page_label.text() == "31–37 of 37", 10), page.page_label.text()
    assert len(page.model.rows) == 7
    assert requests_to(sandbox, "POST", "/page")[-1].json["offset"] == 30

    header = page.table.horizontalHeader()
    header.setSortIndicator(column("area"), Qt.SortOrder.AscendingOrder)   # what a click on "Area km²" does
    assert wait_until(lambda: page.page_label.text() == "1–30 of 37" and page.model.rows[0]["area_km2"] < 0.1, 10)
    request = requests_to(sandbox, "POST", "/page")[-1].json
    assert request["sortBy"] == "AREA" and request["sortOrder"] == "ASC" and request["offset"] == 0
    shown = [page.model.index(r, column("area")).data() for r in range(len(page.model.rows))]
    numbers = [float(text) for text in shown]
    assert numbers == sorted(numbers) and any(n >= 10 for n in numbers) and any(n < 1 for n in numbers)
    assert sorted(shown) != shown, "sorted as numbers, not as text"

    page.filter_edit.setText("area 3")
    assert wait_until(lambda: page.page_label.text() == "1–7 of 7", 10), page.page_label.text()
    assert {r["name"] for r in page.model.rows} == {"Area 3"} | {f"Area {n}" for n in range(30, 36)}
    assert requests_to(sandbox, "POST", "/page")[-1].json["terms"] == "area 3"
