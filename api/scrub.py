"""Every secret the HTTP layer has seen, and the one scrub that takes them (and their escaped forms) out of text.

Tokens and proxy passwords are registered when a configuration or proxy snapshot is made; every MapbridgeError
and every line of the Mapbridge log goes through scrub(). Escaped forms count: a page that echoes our request
headers may show the token percent-encoded, JSON-escaped (also with "\\/"), HTML-escaped, or cut short at the end.
"""

from __future__ import annotations

import re
import threading

MASK = "***"
MIN_SECRET = 6          # shorter values are not treated as secrets (masking "tok" would garble every "token")
MIN_PARTIAL = 8         # a text ending with at least this many leading characters of a secret is cut mid-secret

_lock = threading.Lock()
_variants = {}          # secret -> tuple of its written forms
_pattern = None         # one regex over every form of every secret (case-insensitive: %2f and %2F alike)


def _forms(secret):
    # Imported here, not at the top: QGIS imports this module at start, and none of these is needed before a
    # secret is registered (together they are a third of the plugin's start-up).
    import html
    import json
    from urllib.parse import quote, quote_plus

    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), html.escape(secret),
             json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    forms.add(json.dumps(secret)[1:-1].replace("/", "\\/"))
    return tuple(sorted((f for f in forms if f), key=len, reverse=True))


def register(*secrets):
    """Remember secrets (tokens, passwords) so that scrub() removes them from any text from now on."""
    global _pattern
    with _lock:
        added = False
        for secret in secrets:
            if isinstance(secret, str) and len(secret) >= MIN_SECRET and secret not in _variants:
                _variants[secret] = _forms(secret)
                added = True
        if added:
            every = sorted({form for forms in _variants.values() for form in forms}, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(form) for form in every), re.IGNORECASE)


def register_basic_auth(user, password):
    """Remember a user/password pair also in its Basic-auth form (what a proxy receives)."""
    import base64

    register(password)
    if user and password:
        register(base64.b64encode(f"{user}:{password}".encode()).decode("ascii"))


def scrub(text):
    """The text without any registered secret (in any of its forms), each replaced by ***."""
    if not text or not isinstance(text, str):
        return text
    pattern = _pattern
    if pattern is None:
        return text
    text = pattern.sub(MASK, text)
    return _cut_tail(text)


def _cut_tail(text):
    """Mask the end of a text that stops part-way into a secret (an excerpt cut by someone else)."""
    with _lock:
        forms = [form for forms in _variants.values() for form in forms if len(form) > MIN_PARTIAL]
    for form in forms:
        for size in range(len(form) - 1, MIN_PARTIAL - 1, -1):
            if text.endswith(form[:size]):
                return text[:-size] + MASK
    return text


def excerpt(text, limit):
    """The first `limit` characters of a scrubbed text (scrub first, so no secret is ever cut in half)."""
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return scrub(text)[:limit]
