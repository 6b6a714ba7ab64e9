"""The sandbox tests' own sandbox: one per test module with 5000 records and quick processings, back to its seeded
state after every test, and `api`, a requests client for service-relative URLs."""

from __future__ import annotations

import pytest
import requests

from mapbridge.sandbox import SandboxServer


@pytest.fixture(scope="module")
def srv():
    with SandboxServer(records=5000, seed=1, processing_seconds=0.6) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(srv):
    srv.latency_ms = 0
    srv.uplink.rate_mbps = srv.downlink.rate_mbps = 0
    srv.processing_seconds = 0.6
    srv.result_features = None
    srv.mapiry_rate_limits = True
    yield
    srv.reset()


class Client:
    """Tiny helper: service-relative URLs and the right auth header."""

    def __init__(self, srv):
        self.srv = srv
        self.session = requests.Session()

    def __call__(self, service, method, path, *, token=None, scheme="Bearer", auth=True, **kwargs):
        headers = kwargs.pop("headers", {})
        if auth:
            headers["Authorization"] = f"{scheme} {token or self.srv.tokens[service]}"
        return self.session.request(method, self.srv.base_urls[service] + path, headers=headers, timeout=30,
                                    **kwargs)


@pytest.fixture()
def api(srv):
    client = Client(srv)
    yield client
    client.session.close()
