"""Waiting for a Mapflow processing (core/mapflow/polling.py) against the sandbox: back-off, progress, server
errors, cancel."""

from __future__ import annotations

import pytest
from qgis.core import QgsFeedback

from mapbridge.api.config import ServiceConfig
from mapbridge.api.errors import CancelledError
from mapbridge.api.mapflow import MapflowClient
from mapbridge.core.mapflow.polling import Backoff, wait_for_processing
from mapbridge.core.mapflow.processings import processing_body

FAST = Backoff(initial=0.05, factor=1.5, maximum=0.2)


class Feedback(QgsFeedback):
    """A QgsFeedback with the Processing-style log methods the core jobs call."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def pushInfo(self, text):  # noqa: N802
        self.lines.append(text)

    def pushWarning(self, text):  # noqa: N802
        self.lines.append("WARNING " + text)


def client_for_sandbox(sandbox):
    return MapflowClient(ServiceConfig("mapflow", sandbox.base_urls["mapflow"], sandbox.tokens["mapflow"]))


def test_polling_backs_off_reports_progress_and_survives_server_errors(sandbox):
    client = client_for_sandbox(sandbox)
    body = processing_body("poll", "🏠 Buildings", {"type": "Polygon", "coordinates": [[
        [37.6, 55.7], [37.61, 55.7], [37.61, 55.71], [37.6, 55.7]]]})
    processing_id = client.create_processing(body)["id"]
    sandbox.add_fault("mapflow", "500", method="GET", path=r"/processings/.*/v2", count=2, after=1)
    feedback, progress = Feedback(), []
    feedback.progressChanged.connect(progress.append)
    answer = wait_for_processing(client, processing_id, feedback, backoff=FAST)
    assert answer["status"] == "OK" and progress[-1] == 100 and any(0 < p < 100 for p in progress)
    assert sum("trying again" in line for line in feedback.lines) == 2
    gaps = [b.time - a.time for a, b in zip(sandbox.requests, sandbox.requests[1:])
            if a.path.endswith("/v2") and b.path.endswith("/v2") and a.method == b.method == "GET"]
    assert gaps and max(gaps) <= 0.5  # the fast schedule was used


def test_polling_cancel_names_the_processing(sandbox):
    client = client_for_sandbox(sandbox)
    processing_id = client.create_processing(processing_body("c", "🏠 Buildings", {"type": "Polygon", "coordinates": [[
        [37.6, 55.7], [37.61, 55.7], [37.61, 55.71], [37.6, 55.7]]]}))["id"]
    feedback = Feedback()
    feedback.progressChanged.connect(lambda value: feedback.cancel())
    with pytest.raises(CancelledError, match=f"Stopped waiting for processing {processing_id}"):
        wait_for_processing(client, processing_id, feedback, backoff=FAST)


@pytest.mark.parametrize("status", ["ARCHIVING", None])
def test_an_undocumented_status_is_not_polled_forever(sandbox, status):
    from mapbridge.api.errors import MapbridgeError
    from mapbridge.core.mapflow.polling import MAX_UNKNOWN_POLLS

    client = client_for_sandbox(sandbox)
    processing_id = client.create_processing(processing_body("odd", "🏠 Buildings", {
        "type": "Polygon", "coordinates": [[[37.6, 55.7], [37.61, 55.7], [37.61, 55.71], [37.6, 55.7]]]}))["id"]
    stored = sandbox.state.mapflow.processings[processing_id]
    stored["_seconds"] = 10 ** 6            # never finishes by itself
    stored["status"] = status
    with pytest.raises(MapbridgeError) as info:
        wait_for_processing(client, processing_id, Feedback(), backoff=Backoff(initial=0.01, maximum=0.02))
    assert "does not document" in str(info.value) and processing_id in str(info.value)
    polls = [r for r in sandbox.requests if r.method == "GET" and r.path.endswith("/v2")]
    assert len(polls) == MAX_UNKNOWN_POLLS


def test_the_dock_list_stops_polling_a_processing_with_an_undocumented_status():
    from mapbridge.core.mapflow.listing import merge_round

    result = {"projectId": "p", "results": [{"id": "a", "status": "ARCHIVING"}, {"id": "b", "status": "OK"}],
              "extra": []}
    tracked = [{"id": "a", "status": "ARCHIVING", "projectId": "p"}]
    _, shown, _, _, running = merge_round(result, tracked, set(), set(), auto_load=True)
    assert not running and {row["status"] for row in shown} == {"ARCHIVING", "OK"}
    result["results"][0]["status"] = "IN_PROGRESS"
    assert merge_round(result, tracked, set(), set(), auto_load=True)[4]


def test_429_without_retry_after_while_waiting_backs_off_and_does_not_claim_a_named_wait(sandbox):
    from mapbridge.api.http import make_retry

    client = MapflowClient(ServiceConfig("mapflow", sandbox.base_urls["mapflow"], sandbox.tokens["mapflow"]),
                           retry=make_retry(total=0))
    processing_id = client.create_processing(processing_body("rl", "🏠 Buildings", {"type": "Polygon", "coordinates": [[
        [37.6, 55.7], [37.61, 55.7], [37.61, 55.71], [37.6, 55.7]]]}))["id"]
    sandbox.state.mapflow.finish(processing_id)
    sandbox.add_fault("mapflow", "no_retry_after", method="GET", path=r"/processings/.*/v2", count=2)
    feedback = Feedback()
    slept = []
    answer = wait_for_processing(client, processing_id, feedback, backoff=FAST, sleep=slept.append,
                                 clock=lambda: float(sum(slept)))
    assert answer["status"] == "OK"
    assert sum(slept) == pytest.approx(2 + 4, abs=0.5), "capped exponential back-off, not a fixed 30 s"
    lines = [line for line in feedback.lines if "429" in line]
    assert len(lines) == 2 and all("without saying how long" in line for line in lines)
    assert not any("asks to wait" in line for line in feedback.lines)


def test_cancel_while_a_status_read_stalls_stops_waiting_within_two_seconds(sandbox):
    import threading
    import time

    client = client_for_sandbox(sandbox)
    processing_id = client.create_processing(processing_body("stall", "🏠 Buildings", {
        "type": "Polygon", "coordinates": [[[37.6, 55.7], [37.61, 55.7], [37.61, 55.71], [37.6, 55.7]]]}))["id"]
    sandbox.add_fault("mapflow", "stall", method="GET", path=r"/processings/.*/v2", latency_ms=120_000, count=None)
    feedback = Feedback()
    client.cancel_check = feedback.isCanceled          # as processing/base.py and the dock's runner set it
    start = time.monotonic()
    threading.Timer(0.5, feedback.cancel).start()
    with pytest.raises(CancelledError, match=f"Stopped waiting for processing {processing_id}"):
        wait_for_processing(client, processing_id, feedback, backoff=FAST)
    assert time.monotonic() - start < 2.5
