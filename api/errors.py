"""One exception family for everything a user may need to act on."""

from __future__ import annotations

from .scrub import scrub

LEVEL_WARNING = "warning"
LEVEL_CRITICAL = "critical"


class MapbridgeError(Exception):
    """An error with a message for the user, details for the log, and what to do.

    Every text it carries is scrubbed of registered secrets when it is set (see api/scrub.py): the one choke
    point between what a server or a library said and what reaches a message, a log or Processing feedback.
    """

    _SCRUBBED = frozenset({"message", "hint", "details", "server_message"})

    def __setattr__(self, name, value):
        if name in self._SCRUBBED and isinstance(value, str):
            value = scrub(value)
        super().__setattr__(name, value)

    def __init__(self, message, *, service=None, hint=None, details=None, level=LEVEL_CRITICAL):
        message = scrub(message) if isinstance(message, str) else message
        super().__init__(message)
        self.message = message
        self.service = service
        self.hint = hint
        self.details = details
        self.level = level
        self.logged = False

    def user_message(self):
        """Service, what went wrong and what to do, in one line."""
        parts = []
        if self.service:
            parts.append(f"{service_title(self.service)}: {self.message}")
        else:
            parts.append(self.message)
        if self.hint:
            parts.append(self.hint)
        return " ".join(p if p.endswith((".", "!", "?")) else p + "." for p in parts)

    def __str__(self):
        return self.user_message()


class ConfigurationError(MapbridgeError):
    """A service is not configured (missing token, bad URL)."""


class ServiceError(MapbridgeError):
    """A service answered with an error, or could not be reached."""

    def __init__(self, message, *, service, status=None, code=None, server_message=None, hint=None,
                 details=None, retry_after=None, level=LEVEL_CRITICAL):
        super().__init__(message, service=service, hint=hint, details=details, level=level)
        self.status = status
        self.code = code
        self.server_message = server_message
        self.retry_after = retry_after


class RateLimitedError(ServiceError):
    """The service asked us to wait longer than we retry on our own."""


class OutcomeUnknownError(ServiceError):
    """A non-idempotent request was sent but no answer came back: it may or may not have happened."""


class CancelledError(MapbridgeError):
    """The user cancelled the job."""

    def __init__(self, message="Cancelled by the user", **kwargs):
        kwargs.setdefault("level", LEVEL_WARNING)
        super().__init__(message, **kwargs)


SERVICE_TITLES = {
    "mapalyze": "Mapalyze",
    "mapflow": "Mapflow",
    "mapiry": "Mapiry",
    "mapsemble": "Mapsemble",
}


def service_title(service):
    """Display name of a service id."""
    return SERVICE_TITLES.get(service, str(service))
