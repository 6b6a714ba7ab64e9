"""The processings list (core/mapflow/listing.py): pages with terms and sorting, rows, what a round means."""

from __future__ import annotations

from mapbridge.api.config import ServiceConfig
from mapbridge.api.mapflow import MapflowClient
from mapbridge.core.mapflow.listing import ListQuery, list_round, merge_round, row_of


def test_a_round_asks_one_page_with_the_query_and_tracked_ones_elsewhere(sandbox):
    client = MapflowClient(ServiceConfig("mapflow", sandbox.base_urls["mapflow"], sandbox.tokens["mapflow"]))
    project = sandbox.state.mapflow.default_project_id
    tracked = [{"id": "elsewhere", "status": "IN_PROGRESS"}]
    sandbox.clear_requests()
    result = list_round(client, "", tracked, ListQuery(offset=30, terms="roofs", sort_by="area", descending=False))
    page = next(r for r in sandbox.requests if r.path.endswith("/page"))
    assert page.path == f"/projects/{project}/processings/v2/page"
    assert page.json == {"limit": 30, "offset": 30, "terms": "roofs", "sortBy": "AREA", "sortOrder": "ASC"}
    assert result["extra"][0]["status"] == "NOT_FOUND" and result["total"] == 0


def test_rows_and_merging():
    row = row_of({"id": "a", "name": "n", "status": "IN_PROGRESS", "percentCompleted": 35, "aoiArea": 2_000_000,
                  "cost": 7, "created": "2025-01-01T10:00:00Z", "workflowDef": {"name": "🏠 Buildings"}})
    assert row["status_text"] == "Running 35 %" and row["area_km2"] == 2.0 and row["cost"] == 7.0
    done = {"id": "a", "name": "n", "status": "OK", "percentCompleted": 100, "workflowDef": {"name": "m"}}
    result = {"projectId": "p", "results": [done], "extra": [], "total": 1, "query": ListQuery()}
    tracked = [{"id": "a", "status": "IN_PROGRESS", "percent": 50, "loaded": False, "qgisProject": "/x.qgz"},
               {"id": "lost", "status": "IN_PROGRESS", "projectId": ""}]
    project, shown, updates, ready, running = merge_round(result, tracked, set(), set(), True)
    assert updates == {"a": {"status": "OK", "percent": 100.0}} and ready[0]["qgisProject"] == "/x.qgz"
    assert [r["id"] for r in shown] == ["a", "lost"] and running
    paged = dict(result, query=ListQuery(offset=30))
    assert [r["id"] for r in merge_round(paged, tracked, set(), set(), True)[1]] == ["a"]
