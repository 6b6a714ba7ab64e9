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

    def __init__(self, cap=100, total=False, plain=False, repeat=False, lose=False):
        self.cap, self.total, self.plain, self.repeat, self.lose = cap, total, plain, repeat, lose
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
        items = RECORDS[start:start + min(limit, self.cap)]
        if self.lose and offset == self.cap:
            items = items[1:]  # one record never comes
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
    # steps by what the server actually gives; without a total a few pages past the end may be asked for
    assert [o for o in offsets if o < len(RECORDS)] == list(range(0, len(RECORDS), variant.cap))
    assert len(offsets) <= len(range(0, len(RECORDS), variant.cap)) + 4


@pytest.mark.parametrize("variant", [dict(cap=100, total=True, lose=True)], indirect=True)
def test_a_missing_record_fails_clearly_and_saves_nothing(variant, tmp_path):
    path = tmp_path / "gap.gpkg"
    with pytest.raises(MapbridgeError) as err:
        load(variant, str(path))
    assert "729 of the 730 records" in err.value.user_message()
    assert not path.exists() and list(tmp_path.iterdir()) == []


def sandbox_client(sandbox):
    return MapalyzeClient(resolve("mapalyze", sandbox.base_urls["mapalyze"], sandbox.tokens["mapalyze"], environ={}))


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
