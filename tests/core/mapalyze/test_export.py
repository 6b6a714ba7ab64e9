"""Mapalyze export (core/mapalyze/export.py): the file straight away, or through the async job (202, /jobs polling,
download_url); a download from another host never carries the token."""

from __future__ import annotations

import csv
import json
import os

import pytest

from mapbridge.api.config import resolve
from mapbridge.api.errors import CancelledError, ServiceError
from mapbridge.api.mapalyze import MapalyzeClient
from mapbridge.core.mapalyze.export import export_records
from mapbridge.sandbox import mapalyze as sandbox_mapalyze
from mapbridge.tests.core.mapalyze.helpers import LogFeedback


@pytest.fixture
def client(sandbox):
    c = MapalyzeClient(resolve("mapalyze", sandbox.base_urls["mapalyze"], sandbox.tokens["mapalyze"], environ={}))
    yield c
    c.close()


@pytest.fixture
def async_exports(monkeypatch, sandbox):
    """Exports over 100 records become async jobs taking 0.6 s."""
    monkeypatch.setattr(sandbox_mapalyze, "SYNC_EXPORT_MAX", 100)
    sandbox.state.mapalyze.job_seconds = 0.6
    return sandbox


def export_requests(sandbox):
    return [(r.path, r.status) for r in sandbox.requests if r.path.startswith(("/export", "/jobs"))]


def test_download_from_another_host_never_carries_the_token(client, sandbox):
    # The sandbox under another host name is, for the client, another host (a pre-signed storage URL).
    elsewhere = sandbox.base_urls["mapalyze"].replace("127.0.0.1", "localhost") + "/forms?signature=abc"
    with pytest.raises(ServiceError):  # the sandbox asks for a token, and none was sent
        client.download(elsewhere)
    client.download(sandbox.base_urls["mapalyze"] + "/forms").close()  # the API's own host: the token goes along
    sent = [r.headers for r in sandbox.requests if r.path == "/forms"]
    assert len(sent) == 2 and "authorization" not in sent[0]
    assert sent[1]["authorization"] == f"Bearer {sandbox.tokens['mapalyze']}"


def test_small_geojson_export_is_saved_directly(client, sandbox, tmp_path):
    path = str(tmp_path / "trees.geojson")
    export_records(client, "geojson", path, form_id="form_TreeSurvey")
    with open(path, encoding="utf-8") as src:
        data = json.load(src)
    expected = sandbox.state.mapalyze.records("form_TreeSurvey")
    assert [f["id"] for f in data["features"]] == [r["id"] for r in expected]
    request = [r for r in sandbox.requests if r.path == "/export/geojson"][0]
    assert request.query["form_id"] == ["form_TreeSurvey"]
    assert not any(r.path.startswith("/jobs") for r in sandbox.requests)
    assert os.listdir(tmp_path) == ["trees.geojson"]


def test_large_csv_export_follows_the_job_to_its_download(client, async_exports, tmp_path):
    path = str(tmp_path / "incidents.csv")
    feedback = LogFeedback()
    export_records(client, "csv", path, form_id="form_Incident", feedback=feedback, poll=(0.1, 0.3))
    with open(path, encoding="utf-8", newline="") as src:
        rows = list(csv.reader(src))
    expected = async_exports.state.mapalyze.records("form_Incident")
    assert rows[0][0] == "id" and [row[0] for row in rows[1:]] == [r["id"] for r in expected]
    calls = export_requests(async_exports)
    assert calls[0] == ("/export/csv", 202)
    job_polls = [p for p, s in calls if p.startswith("/jobs/") and not p.endswith("/download")]
    assert len(job_polls) >= 2 and calls[-1][0].endswith("/download") and calls[-1][1] == 200
    assert any("job" in line for line in feedback.lines)


def test_failed_job_reports_the_service_message_and_leaves_no_file(client, async_exports, tmp_path):
    async_exports.state.mapalyze.fail_jobs = True
    path = str(tmp_path / "report.pdf")
    with pytest.raises(ServiceError) as err:
        export_records(client, "pdf", path, poll=(0.1, 0.3))
    assert "Export failed while rendering" in err.value.user_message()
    assert os.listdir(tmp_path) == []


def test_cancel_while_waiting_for_the_job(client, async_exports, tmp_path):
    async_exports.state.mapalyze.job_seconds = 30
    feedback = LogFeedback()
    feedback.cancel()  # checked while waiting for the job, before anything is downloaded
    with pytest.raises(CancelledError):
        export_records(client, "geojson", str(tmp_path / "x.geojson"), feedback=feedback, poll=(0.1, 0.3))
    assert not any(p.endswith("/download") for p, _ in export_requests(async_exports))
    assert os.listdir(tmp_path) == []


def test_a_gzip_export_is_counted_in_wire_bytes_and_saved_whole(client, sandbox, tmp_path):
    """Content-Length counts compressed bytes: the progress and the completeness check count the same bytes."""
    sandbox.add_fault("mapalyze", "gzip", path="^/export/geojson$", count=1)
    path = str(tmp_path / "packed.geojson")
    feedback = LogFeedback()
    export_records(client, "geojson", path, form_id="form_TreeSurvey", feedback=feedback)
    with open(path, encoding="utf-8") as src:
        assert len(json.load(src)["features"]) == len(sandbox.state.mapalyze.records("form_TreeSurvey"))


def test_a_cut_gzip_export_is_refused_and_leaves_no_file(client, sandbox, tmp_path):
    """Cut part-way, the decoded bytes may already outnumber the compressed Content-Length: never taken as whole."""
    import gzip

    whole = str(tmp_path / "whole.geojson")
    export_records(client, "geojson", whole, form_id="form_TreeSurvey")
    with open(whole, "rb") as src:
        packed = len(gzip.compress(src.read()))
    os.remove(whole)
    # Cut at 80 % of the compressed bytes: what decodes from them is already more than the whole compressed size.
    sandbox.add_fault("mapalyze", "gzip", path="^/export/geojson$", count=1, position=int(packed * 0.8))
    path = str(tmp_path / "cut.geojson")
    with pytest.raises(ServiceError) as info:
        export_records(client, "geojson", path, form_id="form_TreeSurvey")
    assert "stopped" in str(info.value) or "interrupted" in str(info.value)
    assert os.listdir(tmp_path) == []


def test_a_killed_export_leaves_no_part_files_after_the_next_run(client, tmp_path, gone_pid):
    """What a killed export left is swept by the next export of the same file; a live process's download is not."""
    stale = tmp_path / f".trees.geojson.{gone_pid}-0123abcd.part"
    stale.write_bytes(b'{"type": "FeatureCollection", "features": [')
    running = tmp_path / ".trees.geojson.1-76543210.part"      # pid 1 is alive: another export may be writing it
    running.write_bytes(b"in use")
    other = tmp_path / f".other.geojson.{gone_pid}-0123abcd.part"    # another file's: left to its own next export
    other.write_bytes(b"{")
    feedback = LogFeedback()
    export_records(client, "geojson", str(tmp_path / "trees.geojson"), form_id="form_TreeSurvey", feedback=feedback)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["trees.geojson", running.name, other.name])
    with open(tmp_path / "trees.geojson", encoding="utf-8") as src:
        assert json.load(src)["features"]
    assert any(stale.name in line and "interrupted export" in line for line in feedback.lines)
