"""The load and refresh jobs (core/mapalyze/load.py).

Paging against other readings of the docs: a server that caps `limit`, omits `total`, answers in plain JSON,
repeats a record across pages, or loses one (a small real HTTP server, not the sandbox). Refresh against the
sandbox: it asks for what was created on the server since the watermark (the server's clock), not captured."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from mapbridge.api.config import resolve
from mapbridge.api.errors import MapbridgeError
from mapbridge.api.mapalyze import MapalyzeClient
from mapbridge.core.mapalyze.gpkg_layer import WATERMARK_NOTE, GpkgLayer
from mapbridge.core.mapalyze.load import WATERMARK_MARGIN_SECONDS, load_records, refresh_records
from mapbridge.core.timestamps import epoch_seconds
from mapbridge.tests.core.mapalyze.helpers import features_by_id, gpkg_layer

TOKEN = "variant-token"
RECORDS = [{"id": f"r{i:04d}", "form_id": "form_A", "coordinates": [10 + i / 1000, 50.0],
            "captured_at": f"2025-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
            "data": {"n": i, "note": f"record {i}"}} for i in range(730)]


class VariantServer:
    """Serves RECORDS with a given quirk."""

    def __init__(self, cap=100, total=False, plain=False, repeat=False, lose=False, ignore_offset=False):
        self.cap, self.total, self.plain, self.repeat, self.lose = cap, total, plain, repeat, lose
        self.ignore_offset = ignore_offset
        self.queries = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                owner.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def page(self, offset, limit):
        start = offset - 1 if self.repeat and offset > 0 else offset  # everything shifted by one: one repeat
        if self.ignore_offset:
            start = 0
        items = RECORDS[start:start + min(limit, self.cap)]
        if self.lose and offset == self.cap - 1:
            items = items[:1] + items[2:]  # one record (the first new one of the second page) never comes
        if self.plain:
            return {"records": items, **({"total": len(RECORDS)} if self.total else {})}
        features = [{"type": "Feature", "id": r["id"],
                     "geometry": {"type": "Point", "coordinates": r["coordinates"]},
                     "properties": {"form_id": r["form_id"], "captured_at": r["captured_at"], **r["data"]}}
                    for r in items]
        return {"type": "FeatureCollection", "features": features,
                **({"total": len(RECORDS)} if self.total else {})}

    def handle(self, handler):
        url = urlsplit(handler.path)
        query = parse_qs(url.query)
        self.queries.append(query)
        if handler.headers.get("Authorization") != f"Bearer {TOKEN}":
            body, status = {"error": {"code": "unauthorized", "message": "Bad key"}}, 401
        else:
            body, status = self.page(int(query.get("offset", ["0"])[0]), int(query.get("limit", ["50"])[0])), 200
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def variant(request):
    server = VariantServer(**request.param)
    yield server
    server.close()


def load(server, path):
    client = MapalyzeClient(resolve("mapalyze", server.base, TOKEN, environ={}))
    try:
        return load_records(client, path, "records")
    finally:
        client.close()


@pytest.mark.parametrize("variant", [dict(cap=100, total=False), dict(cap=100, total=True, plain=True),
                                     dict(cap=500, total=False, repeat=True)], indirect=True)
def test_every_record_once_whatever_the_paging_style(variant, tmp_path):
    path = str(tmp_path / "variant.gpkg")
    result = load(variant, path)
    by_id = features_by_id(gpkg_layer(path))
    assert result.count == len(by_id) == len(RECORDS)
    assert by_id["r0123"]["n"] == 123 and by_id["r0123"]["note"] == "record 123"
    assert by_id["r0123"]["form_id"] == "form_A"
    offsets = sorted(int(q["offset"][0]) for q in variant.queries)
    # steps by what the server actually gives, each later page starting one record early (the overlap that proves
    # nothing shifted); without a total a few pages past the end may be asked for
    expected = [0] + list(range(variant.cap - 1, len(RECORDS) - 1, variant.cap - 1))
    assert [o for o in offsets if o < len(RECORDS) - 1] == expected
    assert len(offsets) <= len(expected) + 4


@pytest.mark.parametrize("variant", [dict(cap=100, total=True, lose=True)], indirect=True)
def test_a_missing_record_fails_clearly_and_saves_nothing(variant, tmp_path):
    path = tmp_path / "gap.gpkg"
    with pytest.raises(MapbridgeError) as err:
        load(variant, str(path))
    assert "729 of the 730 records" in err.value.user_message()
    assert not path.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("variant", [dict(cap=100, total=False, ignore_offset=True)], indirect=True)
def test_a_server_ignoring_offset_without_a_total_is_not_paged_forever(variant, tmp_path):
    path = tmp_path / "same.gpkg"
    with pytest.raises(MapbridgeError) as err:
        load(variant, str(path))
    assert "ignores the `offset`" in err.value.user_message()
    assert len(variant.queries) <= 8, "a handful of requests, not an endless loop"
    assert list(tmp_path.iterdir()) == []


def sandbox_client(sandbox):
    return MapalyzeClient(resolve("mapalyze", sandbox.base_urls["mapalyze"], sandbox.tokens["mapalyze"], environ={}))


def sandbox_ids(sandbox):
    return {r["id"] for r in sandbox.state.mapalyze.records()}


@pytest.mark.parametrize("kind", ["delete", "insert"])
def test_records_deleted_or_added_during_a_load_are_read_again_and_the_layer_matches_the_server(
        sandbox, tmp_path, kind):
    """A record deleted (or added) near the start after the first page shifts every later page by one."""
    from mapbridge.tests.core.mapalyze.helpers import LogFeedback

    sandbox.add_fault("mapalyze", kind, path="^/records$", after=1, count=1, position=10)
    client = sandbox_client(sandbox)
    feedback = LogFeedback()
    path = str(tmp_path / "changing.gpkg")
    try:
        result = load_records(client, path, "records", feedback=feedback, workers=1)
    finally:
        client.close()
    held = sandbox_ids(sandbox)
    stored = set(features_by_id(gpkg_layer(path)))
    assert stored == held, f"missing {len(held - stored)}, extra {len(stored - held)}"
    assert result.count == len(held) == result.total
    assert any("changed while loading" in line for line in feedback.lines)


def test_records_that_keep_changing_fail_clearly_and_save_nothing(sandbox, tmp_path):
    sandbox.add_fault("mapalyze", "delete", path="^/records$", after=1, count=None, position=0)
    client = sandbox_client(sandbox)
    path = tmp_path / "never.gpkg"
    try:
        with pytest.raises(MapbridgeError) as err:
            load_records(client, str(path), "records", workers=1)
    finally:
        client.close()
    text = err.value.user_message()
    assert "kept changing" in text and "nothing was saved" in text and "3 attempts" in text
    assert list(tmp_path.iterdir()) == []


def test_a_killed_load_leaves_no_partial_files_after_the_next_run(sandbox, tmp_path, gone_pid):
    import os

    stale = [tmp_path / f".trees.{gone_pid}-0123abcd.partial.gpkg", tmp_path / ".trees.89abcdef.partial.gpkg"]
    for path in stale:
        path.write_bytes(b"half a GeoPackage")
    (tmp_path / f".trees.{gone_pid}-0123abcd.partial.gpkg-journal").write_bytes(b"journal")
    running = tmp_path / ".trees.1-76543210.partial.gpkg"      # pid 1 is alive: another load may be writing it
    running.write_bytes(b"in use")
    client = sandbox_client(sandbox)
    try:
        load_records(client, str(tmp_path / "trees.gpkg"), "records", form_id="form_TreeSurvey")
    finally:
        client.close()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["trees.gpkg", running.name]), left
    assert os.path.getsize(tmp_path / "trees.gpkg") > 0


def test_records_wider_than_a_geopackage_table_say_so(sandbox, tmp_path):
    data = {f"field_{i:04d}": i for i in range(2100)}
    sandbox.state.mapalyze.add_record("form_TreeSurvey", [13.4, 52.5], data)
    client = sandbox_client(sandbox)
    path = tmp_path / "wide.gpkg"
    try:
        with pytest.raises(MapbridgeError) as err:
            load_records(client, str(path), "records", form_id="form_TreeSurvey")
    finally:
        client.close()
    text = err.value.user_message()
    assert "2,000 columns" in text and "GeoPackage" in text and "FORM_ID" in text
    assert "writable" not in text
    assert list(tmp_path.iterdir()) == []


def test_records_too_wide_from_the_first_page_name_their_width(sandbox, tmp_path):
    seeded = sandbox.records
    sandbox.reseed_mapalyze(0)
    sandbox.state.mapalyze.add_record("form_TreeSurvey", [13.4, 52.5], {f"f{i}": "x" for i in range(2500)})
    client = sandbox_client(sandbox)
    try:
        with pytest.raises(MapbridgeError) as err:
            load_records(client, str(tmp_path / "wide.gpkg"), "records")
    finally:
        client.close()
        sandbox.reseed_mapalyze(seeded)
    assert "2,50" in err.value.user_message() and "2,000 columns" in err.value.user_message()


@pytest.mark.parametrize("after", [0, 1])
def test_cancel_while_a_records_page_stalls_takes_effect_within_two_seconds(sandbox, tmp_path, after):
    """The first page (caller's thread) or a later one (the fetchers' threads) hangs; cancel still ends the load."""
    import threading
    import time

    from qgis.core import QgsProcessingFeedback

    from mapbridge.api.errors import CancelledError

    sandbox.add_fault("mapalyze", "stall", path="^/records$", after=after, latency_ms=120_000, count=None)
    feedback = QgsProcessingFeedback()
    client = sandbox_client(sandbox)
    start = time.monotonic()
    threading.Timer(0.7, feedback.cancel).start()      # from another thread, as the dock's Cancel does
    try:
        with pytest.raises(CancelledError):
            load_records(client, str(tmp_path / "stalled.gpkg"), "records", feedback=feedback)
    finally:
        client.close()
    assert time.monotonic() - start < 2.7, "cancelled within 2 s of the request"
    assert list(tmp_path.iterdir()) == []


def test_refresh_catches_records_captured_long_ago_but_created_since(sandbox, tmp_path):
    """The watermark is the server's clock (an hour behind ours here), and `since` is on server creation time."""
    svc = sandbox.state.mapalyze
    sandbox.clock_offset = -3600.0
    path = str(tmp_path / "incidents.gpkg")
    client = sandbox_client(sandbox)
    first = load_records(client, path, "incidents", form_id="form_Incident")
    assert abs(epoch_seconds(first.watermark) - (time.time() - 3600)) < 5, "the server's clock, not ours"
    # Captured offline a week ago (older than every record's capture in the layer) and synced now.
    offline = svc.add_record("form_Incident", [2.0, 45.0], {"severity": 3}, captured_at="2025-01-01T00:00:00Z")
    pushed = svc.add_record("form_Incident", [2.1, 45.1], {"severity": 1}, captured_at="2024-06-01T12:00:00Z")
    assert first.newest > offline["properties"]["captured_at"]
    sandbox.clear_requests()
    again = refresh_records(client, path, "incidents", form_id="form_Incident", watermark=first.watermark)
    assert again.added == 2
    asked = {r.query["since"][0] for r in sandbox.requests if r.path == "/records"}
    assert asked == {again.since} and \
        epoch_seconds(again.since) == epoch_seconds(first.watermark) - WATERMARK_MARGIN_SECONDS
    ids = set(features_by_id(gpkg_layer(path)))
    assert {offline["id"], pushed["id"]} <= ids and len(ids) == first.count + 2
    assert epoch_seconds(again.watermark) >= epoch_seconds(first.watermark)
    client.close()


def test_refresh_within_the_margin_skips_what_the_layer_holds_and_reads_the_files_watermark(sandbox, tmp_path):
    svc = sandbox.state.mapalyze
    path = str(tmp_path / "trees.gpkg")
    client = sandbox_client(sandbox)
    first = load_records(client, path, "trees", form_id="form_TreeSurvey")
    recent = [svc.add_record("form_TreeSurvey", [10.0, 59.9], {"species": f"t{i}"}) for i in range(3)]
    second = refresh_records(client, path, "trees", form_id="form_TreeSurvey", watermark=first.watermark)
    assert second.added == 3
    # Inside the margin: the same three come again and are recognised by record_id; one more is new.
    newer = svc.add_record("form_TreeSurvey", [10.1, 59.9], {"species": "t3"})
    sandbox.clear_requests()
    third = refresh_records(client, path, "trees", form_id="form_TreeSurvey")   # no watermark given: the file's
    assert third.received >= 4 and third.added == 1
    layer = GpkgLayer(path, "trees").open()
    assert layer.note(WATERMARK_NOTE) == third.watermark
    layer.close()
    assert set(features_by_id(gpkg_layer(path))) >= {r["id"] for r in recent + [newer]}
    assert len(features_by_id(gpkg_layer(path))) == first.count + 4
    client.close()


def test_a_layer_without_a_watermark_is_checked_in_full(sandbox, tmp_path):
    path = str(tmp_path / "old.gpkg")
    client = sandbox_client(sandbox)
    first = load_records(client, path, "old", form_id="form_WaterPoint")
    layer = GpkgLayer(path, "old").open()
    layer.set_note(WATERMARK_NOTE, "")
    layer.finish()
    new = sandbox.state.mapalyze.add_record("form_WaterPoint", [1.0, 1.0], {"source_type": "well"})
    sandbox.clear_requests()
    result = refresh_records(client, path, "old", form_id="form_WaterPoint")
    assert result.since is None and all("since" not in r.query for r in sandbox.requests if r.path == "/records")
    assert result.added == 1 and result.count == first.count + 1 and new["id"] in features_by_id(gpkg_layer(path))
    client.close()
