"""X-RateLimit-* headers: what the last answer said about a rate-limit bucket."""

from __future__ import annotations

import time


class RateLimitState:
    """What the X-RateLimit-* headers of the last answer in one bucket said."""

    def __init__(self, limit=None, remaining=None, reset_at=None, seen_at=None):
        self.limit = limit
        self.remaining = remaining
        self.reset_at = reset_at          # epoch seconds, or None when not given
        self.seen_at = seen_at

    def seconds_until_reset(self, now=None):
        """Seconds until the bucket refills (0 when unknown or past)."""
        if self.reset_at is None:
            return 0.0
        return max(0.0, self.reset_at - (time.time() if now is None else now))

    def exhausted(self):
        """True when the server said no request is left in this bucket."""
        return self.remaining is not None and self.remaining <= 0

    def __repr__(self):
        return f"RateLimitState(limit={self.limit}, remaining={self.remaining}, reset_at={self.reset_at})"


def parse_rate_limit(headers, now=None):
    """RateLimitState from X-RateLimit-Limit/Remaining/Reset, or None when absent.

    Assumption: Reset is an epoch timestamp in seconds (the Mapiry docs show 1740000000); a small
    value is read as seconds from now, and a millisecond timestamp is recognised by its size.
    """
    remaining = _number(headers.get("X-RateLimit-Remaining"))
    if remaining is None:
        return None
    now = time.time() if now is None else now
    reset = _number(headers.get("X-RateLimit-Reset"))
    if reset is not None:
        if reset > 1e12:
            reset /= 1000.0
        elif reset < 1e9:
            reset = now + reset
    return RateLimitState(_number(headers.get("X-RateLimit-Limit")), remaining, reset, now)


def _number(value):
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
