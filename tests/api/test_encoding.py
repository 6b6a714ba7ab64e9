"""The Mapiry and Mapsemble clients on the wire: ids as one encoded path segment, compact JSON bodies."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mapbridge.api.config import token_env_var, url_env_var
from mapbridge.core.service_factory import client_for


class _Recorder(BaseHTTPRequestHandler):
    """Answers every request with {"data": {"id": "m1"}} and keeps the raw request line's path and body."""

    seen = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append((self.command, self.path, self.headers.get("Content-Type"), body))
        payload = json.dumps({"data": {"id": "m1"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer  # noqa: N815 - http.server names

    def log_message(self, *args):
        """Quiet."""


@pytest.fixture
def raw_server(monkeypatch):
    """A plain HTTP server on 127.0.0.1 that records request paths exactly as they were sent."""
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    for service in ("mapiry", "mapsemble"):
        monkeypatch.setenv(url_env_var(service), f"{base}/{service}")
        monkeypatch.setenv(token_env_var(service), "test-token")
    yield _Recorder.seen
    server.shutdown()
    server.server_close()


def test_mapiry_ids_with_a_space_or_slash_reach_the_server_encoded(raw_server):
    client = client_for("mapiry")
    try:
        client.get_map("team a/b")
        client.list_locations("team a/b")
        client.bulk_create_locations("team a/b", [{"name": "Café", "lat": 1.5, "lng": 2.5}])
        client.get_location("m 1", "loc/2")
    finally:
        client.close()
    paths = [path.split("?")[0] for _, path, _, _ in raw_server]
    assert paths == ["/mapiry/maps/team%20a%2Fb", "/mapiry/maps/team%20a%2Fb/locations",
                     "/mapiry/maps/team%20a%2Fb/locations/bulk", "/mapiry/maps/m%201/locations/loc%2F2"]
    _, _, content_type, body = raw_server[2]
    assert content_type == "application/json"
    assert body == '{"locations":[{"name":"Café","lat":1.5,"lng":2.5}]}'.encode()


def test_mapsemble_ids_with_a_space_or_slash_reach_the_server_encoded(raw_server):
    client = client_for("mapsemble")
    try:
        client.get_map("my map/1")
        client.list_features("my map/1")
        client.create_features("my map/1", [{"type": "Feature", "geometry": None, "properties": {"label": "A"}}])
        client.delete_features("my map/1", [{"type": "Feature", "id": "f 1", "geometry": None, "properties": {}}])
    finally:
        client.close()
    assert [(method, path.split("?")[0]) for method, path, _, _ in raw_server] == [
        ("GET", "/mapsemble/maps/my%20map%2F1"), ("GET", "/mapsemble/maps/my%20map%2F1/features"),
        ("POST", "/mapsemble/maps/my%20map%2F1/features"), ("DELETE", "/mapsemble/maps/my%20map%2F1/features")]
    assert json.loads(raw_server[2][3]) == {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": None, "properties": {"label": "A"}}]}
