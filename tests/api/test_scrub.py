"""The one scrub (api/scrub.py): every text leaving the HTTP layer, in messages, details, exceptions and the log,
is free of the token, also in its escaped forms and in excerpts of malformed successful answers."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest
from qgis.core import QgsApplication

from mapbridge.api.config import ServiceConfig
from mapbridge.api.errors import MapbridgeError, ServiceError
from mapbridge.api.mapalyze import MapalyzeClient
from mapbridge.api.scrub import excerpt, scrub
from mapbridge.core.log import TAG, log_exception
from mapbridge.core.mapalyze.load import load_records

SPECIAL = "mz/tok+en=secret&x_0123456789"


def forms_of(secret):
    """Every way a page may write the secret."""
    return {secret, quote(secret, safe=""), quote(secret, safe="").lower(), quote_plus(secret),
            json.dumps(secret)[1:-1].replace("/", "\\/"), secret.replace("&", "&amp;")}


@pytest.fixture
def special_token(sandbox):
    """The sandbox's Mapalyze token holds characters that have escaped forms (/, +, =, &)."""
    old = sandbox.tokens["mapalyze"]
    sandbox.tokens["mapalyze"] = SPECIAL
    sandbox.reset()
    yield SPECIAL
    sandbox.tokens["mapalyze"] = old
    sandbox.reset()


@pytest.fixture
def log_lines():
    lines = []

    def keep(message, tag, level):
        if tag == TAG:
            lines.append(message)

    QgsApplication.messageLog().messageReceived.connect(keep)
    yield lines
    QgsApplication.messageLog().messageReceived.disconnect(keep)


def rendered(exc):
    return " | ".join(str(x) for x in (exc, exc.message, exc.details, exc.hint, exc.args,
                                        getattr(exc, "server_message", None)))


def test_every_escaped_form_and_a_cut_off_end_are_scrubbed():
    ServiceConfig("mapiry", "https://mapiry.com/api/v1", SPECIAL)       # registers the token
    for form in forms_of(SPECIAL):
        assert form not in scrub(f"before {form} after"), form
    assert scrub("the header was: Bearer " + SPECIAL[:12]).endswith("***"), "an excerpt cut mid-token"
    assert SPECIAL[:10] not in excerpt("x" * 20 + SPECIAL, 30), "scrubbed before cut"


def test_errors_scrub_whatever_is_set_on_them():
    ServiceConfig("mapiry", "https://mapiry.com/api/v1", SPECIAL)
    exc = ServiceError(f"failed {SPECIAL}", service="mapiry", details=quote(SPECIAL, safe=""),
                       server_message=SPECIAL)
    exc.message = f"later {SPECIAL}"
    assert not any(form in rendered(exc) for form in forms_of(SPECIAL))


@pytest.mark.parametrize("kind", ["html", "echo"])
def test_a_malformed_successful_page_echoing_the_token_never_reaches_a_message_or_the_log(
        sandbox, special_token, tmp_path, log_lines, kind):
    """A 200 HTML page (or odd JSON) echoing the request headers, raw or escaped, during a load."""
    sandbox.add_fault("mapalyze", kind, path="^/records$", status=200, count=None)
    client = MapalyzeClient(ServiceConfig("mapalyze", sandbox.base_urls["mapalyze"], special_token))
    with pytest.raises(MapbridgeError) as info:
        load_records(client, str(tmp_path / "out.gpkg"), "records")
    client.close()
    log_exception(info.value)
    seen = [r for r in sandbox.requests if r.path == "/records"]
    assert seen and seen[0].headers["authorization"].endswith(special_token), "the token was sent"
    text = rendered(info.value) + " ".join(log_lines)
    assert info.value.details, "the page's excerpt is kept for the log"
    for form in forms_of(special_token):
        assert form not in text, f"{form!r} leaked"
