"""Managing processings (core/mapflow/manage.py) against the sandbox: several deleted, restart on a lost answer,
duplicating, rating and review."""

from __future__ import annotations

import pytest
from qgis.core import QgsFeedback

from mapbridge.api.config import ServiceConfig
from mapbridge.api.errors import MapbridgeError
from mapbridge.api.mapflow import MapflowClient
from mapbridge.core.mapflow import manage

AOI = {"type": "Polygon", "coordinates": [[[37.6156, 55.7558], [37.6256, 55.7558], [37.6256, 55.7608],
                                           [37.6156, 55.7608], [37.6156, 55.7558]]]}


@pytest.fixture
def client(sandbox):
    client = MapflowClient(ServiceConfig("mapflow", sandbox.base_urls["mapflow"], sandbox.tokens["mapflow"]))
    yield client
    client.close()


def create(client, name, **extra):
    return client.create_processing(dict({"name": name, "wdName": "🏠 Buildings", "geometry": AOI}, **extra))["id"]


def test_delete_several_reports_each(client, sandbox):
    ids = [create(client, f"p{i}") for i in range(3)]
    sandbox.add_fault("mapflow", "error", status=500, method="DELETE", path=f"/processings/{ids[1]}$", count=None)
    report = manage.delete_many(client, ids + ["gone-already"], QgsFeedback())
    assert report.deleted == [ids[0], ids[2], "gone-already"] and [i for i, _ in report.failed] == [ids[1]]
    assert report.summary().startswith("3 processing(s) deleted on Mapflow; 1 not deleted")
    assert ids[1] in sandbox.state.mapflow.processings and ids[0] not in sandbox.state.mapflow.processings


def test_restart_with_a_lost_answer_looks_before_sending_again(client, sandbox):
    processing_id = create(client, "will fail")
    sandbox.state.mapflow.finish(processing_id, "FAILED")
    sandbox.add_fault("mapflow", "drop_after", method="POST", path="/restart/v2$", count=1)
    answer = manage.restart(client, processing_id)
    assert answer["status"] == "IN_PROGRESS"
    restarts = [r for r in sandbox.requests if r.path.endswith("/restart/v2")]
    assert len(restarts) == 1  # not sent twice: the status was read instead


def test_duplicate_rate_review_and_rename(client, sandbox):
    processing_id = create(client, "Roofs", blocks=[{"name": "Classification", "enabled": False},
                                                    {"name": "Heights", "enabled": True}],
                           params={"sourceParams": {"dataProvider": {"providerName": "Maxar SecureWatch",
                                                                     "zoom": 17}}})
    form = manage.duplicate_form(client, processing_id)
    assert form["name"] == "Roofs (copy)" and form["model"] == "🏠 Buildings" and form["options"] == ["Heights"]
    assert form["source"].provider == "Maxar SecureWatch" and form["source"].zoom == 17
    assert form["geometries"] == [AOI]
    with pytest.raises(MapbridgeError, match="needs a name"):
        manage.rename(client, processing_id, "  ")
    assert manage.rename(client, processing_id, "Roofs 2")["name"] == "Roofs 2"
    sandbox.state.mapflow.finish(processing_id)
    assert manage.rate(client, processing_id, 5, "fine")["rating"]["rating"] == 5
    sandbox.state.mapflow.review_enabled = True
    other = create(client, "review me")
    sandbox.state.mapflow.finish(other)
    assert manage.in_review(client.processing(other))
    with pytest.raises(MapbridgeError, match="needs a comment"):
        manage.review(client, other, accept=False)
    assert manage.review(client, other, accept=True)["reviewStatus"]["reviewStatus"] == "ACCEPTED"
