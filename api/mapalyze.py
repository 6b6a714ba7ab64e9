"""Mapalyze REST API: one method per endpoint."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from . import probe as probing
from .config import DEFAULT_URLS
from .http import ServiceClient

MAX_PAGE_SIZE = 500  # the documented maximum of `limit` on /records
EXPORT_FORMATS = ("geojson", "csv", "pdf")


def _query(form_id=None, since=None, **extra):
    """Query parameters without the empty ones."""
    params = {key: value for key, value in extra.items() if value is not None}
    if form_id:
        params["form_id"] = form_id
    if since:
        params["since"] = since
    return params


def server_time(response):
    """Epoch seconds of a response's Date header (the server's own clock), or None."""
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class MapalyzeClient(ServiceClient):
    """Client of the Mapalyze API (records, forms, exports, jobs)."""

    service = "mapalyze"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.first_server_time = None   # the Date of the first /records answer: the server's clock then

    def _note_time(self, response):
        if self.first_server_time is None:
            self.first_server_time = server_time(response)

    def probe(self):
        """Prove the URL is the Mapalyze API and the token is accepted (ProbeResult), else MapbridgeError."""
        path, params = "/records", {"limit": 1, "format": "geojson"}
        answer = probing.ask(self, "GET", path, params)
        body = answer.body
        if answer.status == 200 and isinstance(body, dict) and body.get("type") == "FeatureCollection" \
                and isinstance(body.get("features"), list):
            probing.require_token_check(self, path, DEFAULT_URLS["mapalyze"], params)
            total = body.get("total")
            account = f"{total:,} records" if isinstance(total, int) and not isinstance(total, bool) else ""
            return probing.ProbeResult("mapalyze", account=account)
        # The docs: every error is a JSON body with a code and a message.
        if answer.status in (401, 403) and isinstance(body, dict) and answer.message:
            raise probing.token_refused(self, answer)
        raise probing.not_the_api(self, path, answer, DEFAULT_URLS["mapalyze"])

    def ping(self):
        """Cheapest authenticated call (one record of any form); probe() is the proof a connection works."""
        body = self.get_json("/records", params={"limit": 1, "format": "geojson"})
        total = body.get("total") if isinstance(body, dict) else None
        return f"{total:,} records" if isinstance(total, int) else "connected"

    def records(self, *, offset=0, limit=MAX_PAGE_SIZE, form_id=None, since=None, fmt="geojson", raw=False):
        """GET /records: one page (parsed JSON, or the raw body bytes when raw=True)."""
        params = _query(form_id, since, format=fmt, limit=int(limit), offset=int(offset))
        if not raw:
            response = self.request("GET", "/records", params=params)
            self._note_time(response)
            return self.json_of(response, "/records")
        # The whole body in one read: requests' 10 KB chunks would each wait for the GIL in busy loads.
        return self.read_all("GET", "/records", params=params, on_response=self._note_time)

    def forms(self):
        """GET /forms: the list of forms (dicts with at least an id; undocumented, read leniently)."""
        body = self.get_json("/forms")
        if isinstance(body, dict):
            for key in ("forms", "data", "items", "results"):
                if isinstance(body.get(key), list):
                    body = body[key]
                    break
        return [form for form in body if isinstance(form, dict)] if isinstance(body, list) else []

    def export(self, fmt, *, form_id=None, since=None):
        """GET /export/{fmt}: a streamed response, either the file (200) or an async job (202 + job_id)."""
        if fmt not in EXPORT_FORMATS:
            raise ValueError(f"unknown export format {fmt!r}")
        return self.request("GET", f"/export/{fmt}", params=_query(form_id, since), stream=True,
                            headers={"Accept": "*/*"})

    def job(self, job_id):
        """GET /jobs/{job_id}: status, progress and download_url of an export job."""
        body = self.get_json(f"/jobs/{job_id}")
        if isinstance(body, dict) and isinstance(body.get("data"), dict):
            body = body["data"]
        return body if isinstance(body, dict) else {}

    def download(self, url):
        """GET a download_url as a streamed response (request() sends the token only to the API's own host:
        a pre-signed storage URL elsewhere gets no Authorization header)."""
        return self.request("GET", url, stream=True, headers={"Accept": "*/*"})

    def create_record(self, form_id, coordinates, data, captured_at=None):
        """POST /records: one new record ({form_id, coordinates [lng, lat(, alt)], data[, captured_at]})."""
        body = {"form_id": form_id, "coordinates": list(coordinates), "data": data}
        if captured_at:
            body["captured_at"] = captured_at
        return self.send_json("POST", "/records", body)
