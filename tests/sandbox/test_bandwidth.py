"""The client's line in the sandbox (sandbox/bandwidth.py): requests cross an uplink and answers a downlink of a
stated speed, one transfer after another, and the control endpoints stay off the line."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from mapbridge.sandbox.bandwidth import Link

BASE_RECORD = {"form_id": "form_Incident", "coordinates": [0, 0]}


def test_link_queues_transfers_at_its_speed():
    line = Link(8)                  # 8 Mbit/s: a megabyte a second
    assert line.delay(500_000) == pytest.approx(0.5, abs=0.02)
    assert line.delay(250_000) == pytest.approx(0.75, abs=0.02)     # behind the first half megabyte
    assert Link(0).delay(10 ** 9) == 0.0
    with pytest.raises(ValueError):
        Link(-1)


def test_uplink_slows_requests_by_their_size(api, srv):
    body = dict(BASE_RECORD, data={"description": "x" * 50_000})
    started = time.perf_counter()
    assert api("mapalyze", "POST", "/records", json=body).status_code == 201
    unlimited = time.perf_counter() - started
    srv.uplink.rate_mbps = 1        # 125 kB/s: 50 kB take 0.4 s
    started = time.perf_counter()
    assert api("mapalyze", "POST", "/records", json=body).status_code == 201
    assert time.perf_counter() - started >= 0.4 > unlimited
    started = time.perf_counter()
    assert api("mapalyze", "GET", "/records", params={"limit": 1}).status_code == 200
    assert time.perf_counter() - started < 0.2      # a small request crosses at once


def test_concurrent_requests_share_the_uplink(api, srv):
    srv.uplink.rate_mbps = 1
    body = dict(BASE_RECORD, data={"description": "y" * 25_000})
    answers = []

    def post():
        answers.append(requests.post(srv.base_urls["mapalyze"] + "/records", json=body, timeout=30,
                                     headers={"Authorization": f"Bearer {srv.tokens['mapalyze']}"}).status_code)

    started = time.perf_counter()
    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [201, 201]
    assert time.perf_counter() - started >= 0.4     # 2 × 25 kB one after the other, not side by side


def test_downlink_slows_answers_by_their_size(api, srv):
    params = {"format": "json", "limit": 500}
    size = len(api("mapalyze", "GET", "/records", params=params).content)
    assert size > 50_000
    base = f"http://127.0.0.1:{srv.port}/_sandbox"
    config = requests.post(base + "/config", json={"download_mbps": 2}).json()["config"]
    assert (config["upload_mbps"], config["download_mbps"]) == (0, 2)
    started = time.perf_counter()
    assert len(api("mapalyze", "GET", "/records", params=params).content) == size
    assert time.perf_counter() - started >= size * 8 / 2e6
    assert requests.post(base + "/config", json={"upload_mbps": -2}).status_code == 400


def test_control_endpoints_stay_off_the_line(srv):
    srv.uplink.rate_mbps = srv.downlink.rate_mbps = 0.01       # 1.25 kB/s
    base = f"http://127.0.0.1:{srv.port}/_sandbox"
    started = time.perf_counter()
    assert requests.get(base + "/config", timeout=10).json()["upload_mbps"] == 0.01
    assert requests.get(base + "/requests", timeout=10).status_code == 200
    assert time.perf_counter() - started < 0.5
