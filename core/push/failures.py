"""How a push treats a failed request: unknown outcome, worth retrying, a bad item, or the end of the job."""

from __future__ import annotations

import json
import re

from ...api.errors import OutcomeUnknownError, RateLimitedError, ServiceError

# A POST answered with one of these may have been carried out before the gateway gave up.
UNCERTAIN_STATUSES = (500, 502, 504)
# The server refused without acting (after urllib3's own retries): send again later.
REFUSED_STATUSES = (503,)
# The whole job cannot go on: bad token, no right, map not found.
FATAL_STATUSES = (401, 404)
INDEX_PATTERNS = (
    re.compile(r"(?:locations|features)\s*\[\s*(\d+)\s*\]"),
    re.compile(r"\"index\"\s*:\s*(\d+)"),
    re.compile(r"\bindex\s+(\d+)\b"),
)


def outcome_unknown(exc):
    """True when a non-idempotent request may or may not have been carried out."""
    if isinstance(exc, OutcomeUnknownError):
        return True
    # A success status whose answer could not be used: the service acted (never a refusal of the content).
    return isinstance(exc, ServiceError) and (exc.status in UNCERTAIN_STATUSES
                                              or (exc.status is not None and 200 <= exc.status < 300))


def retryable(exc):
    """True when the request was not carried out and may simply be sent again (refused, never left)."""
    if isinstance(exc, RateLimitedError):
        return True
    if isinstance(exc, ServiceError) and not isinstance(exc, OutcomeUnknownError):
        return exc.status in REFUSED_STATUSES or exc.status is None
    return False


def fatal(exc):
    """True when nothing more can be pushed (authentication, permission, unknown map)."""
    if not isinstance(exc, ServiceError):
        return True
    if exc.status in FATAL_STATUSES:
        return True
    return exc.status == 403 and not about_a_limit(exc)


def about_a_limit(exc):
    """True for a 403 that is about a plan's quota rather than about the key."""
    text = f"{exc.code or ''} {exc.server_message or ''}".lower()
    return "limit" in text or "quota" in text or "plan" in text


def error_body(exc):
    """The parsed JSON error body when the details hold one, else None."""
    try:
        return json.loads(exc.details) if exc.details else None
    except (TypeError, ValueError):
        return None


def item_errors(exc, size):
    """{index: message} of the items a validation error names (empty when it names none)."""
    found = {}
    body = error_body(exc)
    for detail in _details(body):
        index = detail.get("index")
        if isinstance(index, int) and 0 <= index < size:
            message = detail.get("message") or exc.server_message or "rejected"
            field = detail.get("field")
            if field and field not in str(message):
                message = f"{field}: {message}"
            found.setdefault(index, str(message))
    if found:
        return found
    text = " ".join(t for t in (exc.server_message, exc.details) if t)
    for pattern in INDEX_PATTERNS:
        for match in pattern.finditer(text):
            index = int(match.group(1))
            if 0 <= index < size:
                found.setdefault(index, exc.server_message or "rejected")
    return found


def _details(body):
    """The list of per-item problems in any of the usual places of an error body."""
    if isinstance(body, list):
        return [d for d in body if isinstance(d, dict)]
    if not isinstance(body, dict):
        return []
    for key in ("error", "detail"):
        inner = body.get(key)
        if isinstance(inner, (dict, list)):
            found = _details(inner)
            if found:
                return found
    for key in ("details", "errors"):
        inner = body.get(key)
        if isinstance(inner, list):
            return [d for d in inner if isinstance(d, dict)]
    return []


def short(exc):
    """The server's own message (or the error's text) for a report row."""
    if isinstance(exc, ServiceError) and exc.server_message:
        status = f"HTTP {exc.status} " if exc.status else ""
        return f"{status}{exc.server_message}"[:250]
    text = exc.user_message() if hasattr(exc, "user_message") else str(exc)
    return text[:250]


class RejectionGuard:
    """Stops a job whose every item is refused for the same reason (a global problem, not a bad item)."""

    LIMIT = 3

    def __init__(self, service):
        self.service = service
        self.successes = 0
        self.last = None
        self.repeats = 0

    def success(self, n=1):
        """Something arrived: item rejections are about items from now on."""
        self.successes += n

    def rejected(self, exc):
        """Count a refusal; raise once the same refusal hit LIMIT items and nothing arrived yet."""
        if self.successes:
            return
        key = (getattr(exc, "status", None), getattr(exc, "server_message", None) or str(exc))
        self.repeats = self.repeats + 1 if key == self.last else 1
        self.last = key
        if self.repeats >= self.LIMIT:
            from ...api.errors import MapbridgeError

            raise MapbridgeError(f"every item was refused: {short(exc)}", service=self.service,
                                 details=getattr(exc, "details", None),
                                 hint="Check the map or form and the values you send")
