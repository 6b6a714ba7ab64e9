"""A client's internet line as the sandbox sees it: bytes cross an uplink and a downlink of a stated speed, one
transfer after another (concurrent requests share the line, as they share a real one)."""

from __future__ import annotations

import threading
import time


class Link:
    """One direction of the line: `rate_mbps` megabits per second (0 = no limit) shared by every connection."""

    def __init__(self, rate_mbps=0.0):
        self._lock = threading.Lock()
        self._free_at = 0.0         # monotonic time at which the bytes queued so far have crossed
        self.rate_mbps = rate_mbps

    @property
    def rate_mbps(self):
        """The speed in megabits per second (0: unlimited)."""
        return self._rate

    @rate_mbps.setter
    def rate_mbps(self, value):
        value = float(value or 0)
        if value < 0:
            raise ValueError("a line speed must be >= 0 Mbit/s (0 = unlimited)")
        self._rate = value

    def delay(self, size):
        """Seconds until `size` more bytes have crossed, queued behind what is crossing now (reserves the line)."""
        if not self._rate or size <= 0:
            return 0.0
        seconds = size * 8 / (self._rate * 1e6)
        with self._lock:
            now = time.monotonic()
            start = max(now, self._free_at)
            self._free_at = start + seconds
            return self._free_at - now

    def carry(self, size):
        """Wait while `size` bytes cross the line; returns the seconds waited."""
        wait = self.delay(size)
        if wait > 0:
            time.sleep(wait)
        return wait


def request_size(handler, body):
    """Bytes a request puts on the line: request line, headers and body."""
    head = len(handler.requestline) + 2 + sum(len(k) + len(v) + 4 for k, v in handler.headers.items()) + 2
    return head + len(body)
