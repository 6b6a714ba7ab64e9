"""Connection probes: prove that a base URL is the service's API and that the token is accepted, changing nothing.

A probe passes only on proof of both: an answer in the shape the service's documentation shows, to a request
with the token, and a refusal (401/403) of the same request without it (so a server that answers anything, or
checks no token, never passes). What the account may do (a read-only key, a missing subscription) is reported
as such. Each service's client has a probe() built from these steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import requests

from .errors import MapbridgeError, ServiceError, service_title
from .http import parse_error_body

ANY_STATUS = range(100, 600)
URL_HINT = "Check the base URL in Mapbridge ▸ Settings (empty means the public API: {default})"


@dataclass
class ProbeResult:
    """What a passed probe found: the account in a few words, what the key may do, and anything to heed."""

    service: str
    account: str = ""                      # e.g. "2 maps", "5,000 credits left"
    access: str = ""                       # e.g. "read and write", "read only"
    warnings: list = field(default_factory=list)

    def summary(self):
        """One line for the Settings tab, e.g. "Connected to Mapiry: token accepted (read and write)."."""
        text = f"Connected to {service_title(self.service)}: token accepted"
        if self.access:
            text += f" ({self.access})"
        if self.account:
            text += f"; {self.account}"
        text += "."
        if self.warnings:
            text += " " + " ".join(self.warnings)
        return text


class Answer:
    """One probe answer: status, JSON body (or None) and the server's (code, message)."""

    def __init__(self, response):
        self.status = response.status_code
        self.content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
        try:
            self.body = response.json() if response.content else None
        except ValueError:
            self.body = None
        self.code, self.message = parse_error_body(response) if self.status >= 400 else (None, None)
        response.close()

    @property
    def is_json(self):
        """True when the body parsed as JSON."""
        return self.body is not None


def not_the_api(client, path, answer, default_url):
    """The error for an answer that does not come from the service's API."""
    what = f"HTTP {answer.status}" + (f", {answer.content_type}" if answer.content_type else "")
    return MapbridgeError(
        f"{client.config.base_url} does not answer like the {client.title} API ({path}: {what})",
        service=client.service, hint=URL_HINT.format(default=default_url))


def check_trouble(client, path, answer):
    """A 5xx or a 429 after the retries: the service's trouble, not a wrong URL or token."""
    if answer.status >= 500 or answer.status == 429:
        said = f": {answer.message}" if answer.message else ""
        raise ServiceError(f"{path} answered HTTP {answer.status}{said}", service=client.service,
                           status=answer.status, code=answer.code, server_message=answer.message,
                           hint=f"{client.title} has a problem on its side, or asks to slow down; test again later")


def token_refused(client, answer, what="refused the token"):
    """The error for a token the service refused (401/403 in its documented shape)."""
    message = (answer.message or "").strip().rstrip(".")
    said = f" ({answer.code}: {message})" if answer.code and message else (f" ({message})" if message else "")
    return ServiceError(f"{what}{said}", service=client.service, status=answer.status, code=answer.code,
                        server_message=answer.message,
                        hint=f"Paste a valid {client.title} API token in Mapbridge ▸ Settings")


def ask(client, method, path, params=None):
    """The service's answer to a request with the token, whatever its status but trouble on its side (raised)."""
    answer = Answer(client.request(method, path, params=params, ok=ANY_STATUS, stream=True))
    check_trouble(client, path, answer)
    return answer


def ask_without_token(client, path, params=None):
    """The answer to the same request without any token (redirects not followed; connection errors raise)."""
    try:
        response = client.session.request("GET", client.url(path), params=params, timeout=client.timeout,
                                          allow_redirects=False, stream=True)
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise client._connection_error("GET", path, exc) from None
    except requests.exceptions.RequestException as exc:
        raise ServiceError(f"the request to {path} failed ({type(exc).__name__})", service=client.service,
                           hint="Check the base URL in Mapbridge ▸ Settings", details=client._scrub(str(exc))) \
            from None
    return Answer(response)


def require_token_check(client, path, default_url, params=None):
    """The service must refuse the request without a token; a server that does not is not the service's API."""
    answer = ask_without_token(client, path, params)
    if answer.status in (401, 403):
        return
    raise MapbridgeError(
        f"{client.config.base_url} does not answer like the {client.title} API: it answers {path} without a token "
        f"(HTTP {answer.status}), where the {client.title} API asks for one", service=client.service,
        hint=URL_HINT.format(default=default_url))
