"""Paging against other readings of the docs: a server that caps `limit`, omits `total`, answers in plain JSON,
repeats a record across pages, or loses one (a small real HTTP server, not the sandbox)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from mapbridge.api.config import resolve
from mapbridge.api.errors import MapbridgeError
from mapbridge.api.mapalyze import MapalyzeClient
from mapbridge.core.mapalyze.load import load_records
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
