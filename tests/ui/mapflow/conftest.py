"""Fixtures of the Mapflow tab tests: a WGS84 canvas over Moscow and the tab shown against the sandbox."""

from __future__ import annotations

import time

import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsProject, QgsRectangle
from qgis.PyQt.QtCore import QCoreApplication


def wait_until(condition, timeout=20.0):
    """Run the event loop until condition() is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QCoreApplication.processEvents()
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class FakeAsker:
    """Answers the tab's questions as a test says, and remembers what was asked."""

    def __init__(self):
        self.asked = []
        self.answers = {}

    def _answer(self, kind, *question):
        self.asked.append((kind,) + question)
        answer = self.answers.get(kind)
        return answer(*question) if callable(answer) else answer

    def yes_no(self, title, text, yes="Yes", no="No"):
        return bool(self._answer("yes_no", title, text))

    def text(self, title, label, value=""):
        return self._answer("text", title, label, value)

    def rating(self, name):
        return self._answer("rating", name)

    def review(self, name):
        return self._answer("review", name)

    def files(self, title):
        return self._answer("files", title) or []


@pytest.fixture(autouse=True)
def _sandbox_config_restored(sandbox_server):
    """Tests that slow processings down or change results leave the session sandbox as they found it."""
    saved = (sandbox_server.processing_seconds, sandbox_server.result_features, sandbox_server.latency_ms)
    yield
    sandbox_server.processing_seconds, sandbox_server.result_features, sandbox_server.latency_ms = saved


@pytest.fixture
def canvas(qgis_iface):
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    canvas.setExtent(QgsRectangle(37.60, 55.75, 37.64, 55.77))
    canvas.refresh()
    return canvas


def use_fake_asker(widget):
    """Replace every asker of the tab (and its panels) with one FakeAsker."""
    asker = FakeAsker()
    widget.asker = asker
    widget.project_panel.asker = asker
    widget.actions.asker = asker
    widget.imagery_page.my_imagery.asker = asker
    return asker


@pytest.fixture
def tab(qgis_iface, sandbox_env, canvas, tmp_path, fresh_runs, mapbridge_processing):
    from mapbridge.ui.mapflow.tab import MapflowTab

    widget = MapflowTab(qgis_iface)
    widget.new_page.folder_widget.setFilePath(str(tmp_path / "results"))
    widget.fake = use_fake_asker(widget)
    assert not widget.started  # nothing is read before the tab is shown (no master-password prompt at start)
    widget.resize(400, 900)
    widget.show()
    label = widget.project_panel.account_label
    assert wait_until(lambda: "credits" in label.text()), label.text()
    yield widget
    widget.shutdown()
    widget.hide()
    widget.deleteLater()
    for layer in list(QgsProject.instance().mapLayers().values()):
        QgsProject.instance().removeMapLayer(layer.id())


MOSCOW = QgsRectangle(37.6156, 55.7558, 37.6256, 55.7608)   # the Processing page's example AOI, ~0.35 km²
DOC_AOI = QgsRectangle(37.34396696090698, 55.6731196654679, 37.35926628112793, 55.67997991819218)


def requests_to(sandbox, method, path_end):
    """The sandbox's Mapflow requests of a method whose path ends so."""
    return [r for r in sandbox.requests if r.service == "mapflow" and r.method == method and r.path.endswith(path_end)]


def use_extent(tab, canvas, rectangle):
    """The map extent as the AOI (measured at once)."""
    from mapbridge.ui.mapflow.aoi_panel import EXTENT

    canvas.setExtent(rectangle)
    tab.new_page.aoi_panel.set_source(EXTENT)
    tab.new_page.aoi_panel.refresh()


def start_processing(tab, canvas, name, rectangle=MOSCOW, wait_for_layer=True):
    """Start a processing from the New page (confirmed) and wait for its layer; returns its id."""
    from mapbridge.core.mapflow.tracked import TrackedProcessings

    use_extent(tab, canvas, rectangle)
    tab.new_page.name_edit.setText(name)
    tab.fake.answers["yes_no"] = True
    assert wait_until(lambda: tab.new_page.start_button.isEnabled(), 10), tab.new_page.problems_label.text()
    tab.new_page.start_button.click()
    assert wait_until(lambda: any(p["name"] == name for p in TrackedProcessings().all()), 20), \
        tab.new_page.run_label.text()
    processing_id = next(p["id"] for p in TrackedProcessings().all() if p["name"] == name)
    if wait_for_layer:
        assert wait_until(lambda: QgsProject.instance().mapLayersByName(name), 30), tab.new_page.run_label.text()
    return processing_id


def finished_processing(sandbox, name, **extra):
    """A processing created on the sandbox and finished at once; returns its id."""
    body = {"name": name, "wdName": "🏠 Buildings", "geometry": {"type": "Polygon", "coordinates": [[
        [37.6156, 55.7558], [37.6256, 55.7558], [37.6256, 55.7608], [37.6156, 55.7608], [37.6156, 55.7558]]]}}
    body.update(extra)
    mapflow = sandbox.state.mapflow
    with mapflow.lock:
        proc = mapflow._new_processing(body, charge=False)
    mapflow.finish(proc["id"], "FAILED" if "fail" in name.lower() else None)
    return proc["id"]


def show_processings(tab):
    """The Processings page, polled now; waits for the first rows."""
    from mapbridge.ui.mapflow.tab import PROCESSINGS

    tab.pages.setCurrentIndex(PROCESSINGS)
    tab.poller.poll_now()
    assert wait_until(lambda: tab.processings_page.model.rows, 10)


def select_row(tab, processing_id):
    """Select a processing in the list (polling until it is there)."""
    page = tab.processings_page
    tab.poller.poll_now()
    assert wait_until(lambda: page.model.row_by_id(processing_id) is not None, 15)
    assert page.select_id(processing_id)
