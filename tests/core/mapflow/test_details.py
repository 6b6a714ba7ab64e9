"""A processing's details (core/mapflow/details.py) and status words (core/mapflow/processings.py)."""

from __future__ import annotations

import os
import time

import pytest

from mapbridge.core.mapflow.details import detail_rows, local_time
from mapbridge.core.mapflow.processings import status_text


@pytest.fixture
def berlin_time():
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Berlin"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_times_are_local_with_the_zone(berlin_time):
    assert local_time("2025-01-15T12:00:00Z") == "2025-01-15 13:00 CET (UTC+01:00)"
    assert local_time("2025-07-15T12:00:00.123Z") == "2025-07-15 14:00 CEST (UTC+02:00)"
    assert local_time("not a time") == "not a time"


def test_status_words_and_detail_rows(berlin_time):
    assert status_text("IN_PROGRESS", 35.4) == "Running 35 %"
    assert status_text("UNPROCESSED") == "Queued" and status_text("OK", 100) == "Finished"
    assert status_text("FAILED", 100, [{"code": "dataloader.NoDataTile", "parameters": {}}]) == \
        "Failed: [dataloader.NoDataTile]"
    rows = dict(detail_rows({
        "id": "p1", "name": "Roofs", "status": "FAILED", "percentCompleted": 100, "aoiArea": 512000, "cost": 14,
        "created": "2025-01-15T12:00:00Z", "updated": "2025-01-15T12:30:00Z",
        "workflowDef": {"name": "🏠 Buildings"},
        "blocks": [{"name": "Buildings", "displayName": "Detection", "enabled": True},
                   {"name": "Heights", "displayName": "Heights", "enabled": False}],
        "params": {"sourceParams": {"dataProvider": {"providerName": "Mapbox", "zoom": 18}}},
        "messages": [{"code": "source-validator.PixelSizeTooHigh", "parameters": {"max_res": 1.2}}],
        "rating": {"rating": 4, "feedback": "ok"}}))
    assert rows["Model"] == "🏠 Buildings" and rows["Blocks"] == "Detection (off: Heights)"
    assert rows["Imagery"] == "Mapbox, zoom 18" and rows["Area"] == "0.512 km²" and rows["Cost"] == "14 credits"
    assert rows["Created"] == "2025-01-15 13:00 CET (UTC+01:00)" and rows["Finished"].startswith("2025-01-15 13:30")
    assert "PixelSizeTooHigh" in rows["Messages"] and rows["Rating"] == "★★★★ ok"
