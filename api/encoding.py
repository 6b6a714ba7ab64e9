"""Request pieces the service clients share: ids as URL path segments, compact JSON bodies."""

from __future__ import annotations

import json
from urllib.parse import quote

JSON_HEADERS = {"Content-Type": "application/json"}


def segment(value):
    """An id as one URL path segment: spaces, slashes and the like percent-encoded."""
    return quote(str(value), safe="")


def compact_json(body):
    """UTF-8 JSON without spaces, encoded once for the whole request (NaN refused, as requests does)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def json_with_array(head, array_bytes):
    """compact_json({**head, key: items}) from `array_bytes` = compact_json(items), head's last key being that key.

    `head` is the body's leading text, e.g. b'{"locations":'; the result is byte for byte what compact_json gives.
    """
    return head + array_bytes + b"}"
