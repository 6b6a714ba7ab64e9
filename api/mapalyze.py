"""Mapalyze REST API: one method per endpoint."""

from __future__ import annotations

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


class MapalyzeClient(ServiceClient):
    """Client of the Mapalyze API (records, forms, exports, jobs)."""

    service = "mapalyze"

    def ping(self):
        """Cheapest authenticated call: one record of any form; the answer must be a page of records."""
        body = self.get_json("/records", params={"limit": 1, "format": "geojson"})
        records = None
        if isinstance(body, dict):
            records = next((body[key] for key in ("features", "records", "data") if isinstance(body.get(key), list)),
                           None)
        if records is None:
            raise self.not_this_service("/records", "no list of records")
        total = body.get("total")
        return f"{total} records" if isinstance(total, int) else f"{len(records)} record(s) read"

    def records(self, *, offset=0, limit=MAX_PAGE_SIZE, form_id=None, since=None, fmt="geojson", raw=False):
        """GET /records: one page (parsed JSON, or the raw body bytes when raw=True)."""
        params = _query(form_id, since, format=fmt, limit=int(limit), offset=int(offset))
        if not raw:
            return self.get_json("/records", params=params)
        # The whole body in one read: requests' 10 KB chunks would each wait for the GIL in busy loads.
        return self.read_all("GET", "/records", params=params)

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
