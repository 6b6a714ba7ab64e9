"""A forward HTTP proxy that asks for credentials (407), as a company proxy does; forwards plain HTTP when given them.

Requests through it: `http://host:port/...` in absolute form (plain HTTP) or CONNECT host:port (HTTPS tunnels,
refused with 407 without credentials and with 501 otherwise: the sandbox tests need only the 407).
"""

from __future__ import annotations

import base64
import http.client
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class AuthProxy:
    """Proxy on 127.0.0.1 requiring Basic `user`/`password`; `requests` counts what it saw (method, target, ok)."""

    def __init__(self, user="proxyuser", password="proxy-secret"):
        self.expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self.requests = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                owner.handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_CONNECT = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def port(self):
        """The bound TCP port."""
        return self.httpd.server_address[1]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(self, handler):
        ok = handler.headers.get("Proxy-Authorization") == self.expected
        self.requests.append((handler.command, handler.path, ok))
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        if not ok:
            page = b"<html><head><title>407 Proxy Authentication Required</title></head><body>Denied</body></html>"
            handler.send_response(407)
            handler.send_header("Proxy-Authenticate", 'Basic realm="sandbox proxy"')
            handler.send_header("Content-Type", "text/html")
            handler.send_header("Content-Length", str(len(page)))
            handler.end_headers()
            handler.wfile.write(page)
            return
        if handler.command == "CONNECT":
            handler.send_response(501)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        target = urlsplit(handler.path)
        upstream = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=30)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("proxy-authorization", "host")}
        try:
            upstream.request(handler.command, target.path + (f"?{target.query}" if target.query else ""), body,
                             headers)
            answer = upstream.getresponse()
            data = answer.read()
        except (OSError, http.client.HTTPException):
            # The service hung up: the proxy resets its client's connection (as a transparent proxy does).
            upstream.close()
            handler.close_connection = True
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.connection.close()
            return
        handler.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("transfer-encoding", "content-length", "connection"):
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        upstream.close()
