"""Mapalyze emulator: field records (paged JSON/GeoJSON), forms, exports and export jobs."""

# Choices where the docs are silent:
# - errors {"code", "message"}; codes validation_error (400), unauthorized (401), form_not_found /
#   record_not_found / job_not_found / not_found (404), job_not_ready (409).
# - limit outside 1..500 → 400 (not clamped). `since` keeps records *created on the server* strictly after it
#   (the docs: "Return records created after this timestamp"; naive timestamps are UTC). A record's server
#   creation time is its own: later than its captured_at (set by the device, or by the client when it posts
#   one), by minutes for most, by days for records synced after working offline. It is not in the answers
#   (the docs show no such property). Order: creation time ascending, then id, so new records page last.
# - The server's clock (creation times, the HTTP Date header) may differ from the client's: `clock_offset`.
# - Records change and disappear on the server (the docs' record.updated / record.deleted webhooks, done in the
#   dashboard): update_record() / delete_record() model that for tests; there is no public endpoint for it.
# - format=json → {"total", "limit", "offset", "records": [{id, form_id, coordinates, captured_at, data}]}.
# - GET /forms → {"forms": [{id, name, fields: [{name, label, type, required[, options]}]}]}; GET /forms/{id},
#   GET /records/{id} (a Feature) are conveniences.
# - Exports: <= 10,000 matching records → 200 file; more → 202 {"job_id", "status": "pending"};
#   GET /jobs/{id} → {job_id, status, progress, download_url (null until completed)};
#   the file is at <base>/jobs/{id}/download (auth required). CSV: id, longitude, latitude, altitude, the
#   base properties, then every form field seen; nested values as JSON.

from __future__ import annotations

import bisect
import csv
import io
import json
import time

from . import seed as seeding
from .base import ApiError, Response, Service, is_number, iso, parse_time

MAX_LIMIT = 500
SYNC_EXPORT_MAX = 10_000
BASE_KEYS = ("form_id", "operator", "captured_at", "gps_accuracy_m", "synced", "photos")
EXPORT_TYPES = {"geojson": ("application/geo+json", "geojson"), "csv": ("text/csv; charset=utf-8", "csv"),
                "pdf": ("application/pdf", "pdf")}
_TOP = "\U0010ffff"


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class Record:
    """One field record; its Feature / plain JSON is serialized once and cached."""

    __slots__ = ("id", "form_id", "coordinates", "captured_at", "ts", "created", "properties", "_feature", "_plain")

    def __init__(self, rec_id, form_id, coordinates, captured_at, ts, properties, created=None):
        self.id = rec_id
        self.form_id = form_id
        self.coordinates = coordinates
        self.captured_at = captured_at
        self.ts = ts
        self.created = ts if created is None else created
        self.properties = properties
        self._feature = None
        self._plain = None

    @property
    def key(self):
        """Sort key: server creation time, then id."""
        return (self.created, self.id)

    def changed(self):
        """Forget the cached JSON after an update."""
        self._feature = self._plain = None

    def feature(self):
        """The GeoJSON Feature dict."""
        return {"type": "Feature", "id": self.id,
                "geometry": {"type": "Point", "coordinates": self.coordinates},
                "properties": self.properties}

    def feature_json(self):
        """Cached Feature JSON text."""
        if self._feature is None:
            self._feature = _dumps(self.feature())
        return self._feature

    def plain_json(self):
        """Cached format=json record text: {id, form_id, coordinates, captured_at, data}."""
        if self._plain is None:
            data = {k: v for k, v in self.properties.items() if k not in ("form_id", "captured_at")}
            self._plain = _dumps({"id": self.id, "form_id": self.form_id, "coordinates": self.coordinates,
                                  "captured_at": self.captured_at, "data": data})
        return self._plain


class Job:
    """An asynchronous export job; status is derived from elapsed time."""

    def __init__(self, job_id, fmt, form_id, records, seconds, fail):
        self.job_id = job_id
        self.fmt = fmt
        self.form_id = form_id
        self.records = records
        self.seconds = seconds
        self.fail = fail
        self.started = time.monotonic()
        self.payload = None

    def status(self):
        """(status, progress) now."""
        elapsed = time.monotonic() - self.started
        if elapsed >= self.seconds:
            return ("failed", 100) if self.fail else ("completed", 100)
        if elapsed < min(0.2, self.seconds / 5):
            return "pending", 0
        return "processing", min(99, int(100 * elapsed / self.seconds))


class Mapalyze(Service):
    """State and routes of the Mapalyze API (base .../mapalyze/v1)."""

    name = "mapalyze"
    ROUTES = (
        ("GET", r"/records", "list_records"),
        ("POST", r"/records", "create_record"),
        ("GET", r"/records/([^/]+)", "get_record"),
        ("GET", r"/forms", "list_forms"),
        ("GET", r"/forms/([^/]+)", "get_form"),
        ("GET", r"/export/(geojson|csv|pdf)", "export", False),
        ("GET", r"/jobs/([^/]+)", "get_job"),
        ("GET", r"/jobs/([^/]+)/download", "download_job", False),
    )

    def __init__(self, token, *, records=5000, seed=1):
        super().__init__(token)
        self.seed = seed
        self.forms = {f["id"]: f for f in seeding.FORMS}
        self.job_seconds = 1.0   # how long an async export takes
        self.clock_offset = 0.0  # seconds the server's clock is ahead of this computer's (negative: behind)
        self.fail_jobs = False   # set True to make new export jobs end "failed"
        self.jobs = {}
        self._rng = seeding.rng_for(seed, "mapalyze-ids")
        self._ids = set()
        self._all = []
        self._all_keys = []
        self._by_form = {fid: ([], []) for fid in self.forms}
        for raw in seeding.mapalyze_records(records, seed):
            self._ids.add(raw["id"])
            self._all.append(Record(raw["id"], raw["form_id"], raw["coordinates"], raw["captured_at"],
                                    raw["ts"], raw["properties"], raw["created"]))
        self._all.sort(key=lambda r: r.key)
        for rec in self._all:   # pre-serialize once so a page is a string join
            rec.feature_json()
        self._all_keys = [r.key for r in self._all]
        for rec in self._all:
            recs, keys = self._by_form[rec.form_id]
            recs.append(rec)
            keys.append(rec.key)

    # -- state helpers -------------------------------------------------------------------
    @property
    def count(self):
        """Number of records."""
        return len(self._all)

    def records(self, form_id=None):
        """Records (ordered) as Feature dicts."""
        recs = self._all if form_id is None else self._by_form.get(form_id, ([], []))[0]
        return [r.feature() for r in recs]

    def now(self):
        """The server's clock (epoch seconds)."""
        return time.time() + self.clock_offset

    def add_record(self, form_id, coordinates, data, captured_at=None, created=None):
        """Create a record (validated like POST /records) and return it as a Feature dict.

        `created` (epoch seconds) backdates its arrival on the server; default: now on the server's clock."""
        with self.lock:
            return self._create(form_id, coordinates, data, captured_at, created).feature()

    def created_at(self, rec_id):
        """When a record reached the server (epoch seconds), or None."""
        rec = self._find(rec_id)
        return rec.created if rec is not None else None

    def created_after(self, epoch, form_id=None):
        """Ids of the records created strictly after `epoch`, in server order."""
        recs = self._all if form_id is None else self._by_form.get(form_id, ([], []))[0]
        return [r.id for r in recs if r.created > epoch]

    def update_record(self, rec_id, properties=None, coordinates=None):
        """Change a record as the dashboard would (its creation time stays); returns the Feature dict."""
        with self.lock:
            rec = self._find(rec_id)
            if rec is None:
                raise KeyError(rec_id)
            if properties:
                rec.properties.update(properties)
            if coordinates is not None:
                rec.coordinates = list(coordinates)
            rec.changed()
            return rec.feature()

    def delete_record(self, rec_id):
        """Remove a record as the dashboard would (what the record.deleted webhook announces); True when it existed."""
        with self.lock:
            rec = self._find(rec_id)
            if rec is None:
                return False
            for recs, keys in ((self._all, self._all_keys), self._by_form[rec.form_id]):
                pos = bisect.bisect_left(keys, rec.key)
                del recs[pos]
                del keys[pos]
            return True

    def _find(self, rec_id):
        return next((r for r in self._all if r.id == rec_id), None)

    def _new_id(self):
        rec_id = "rec_" + seeding.base62(self._rng)
        while rec_id in self._ids:
            rec_id = "rec_" + seeding.base62(self._rng)
        self._ids.add(rec_id)
        return rec_id

    def _create(self, form_id, coordinates, data, captured_at, created=None):
        if not isinstance(form_id, str) or not form_id:
            raise ApiError(400, "'form_id' is required and must be a string")
        if form_id not in self.forms:
            raise ApiError(404, f"Form '{form_id}' not found", "form_not_found")
        if not isinstance(coordinates, list) or len(coordinates) not in (2, 3) \
                or not all(is_number(c) for c in coordinates):
            raise ApiError(400, "'coordinates' is required: [lng, lat] or [lng, lat, alt] numbers")
        if not -180 <= coordinates[0] <= 180 or not -90 <= coordinates[1] <= 90:
            raise ApiError(400, f"'coordinates' out of range (lng -180..180, lat -90..90): {coordinates}")
        if not isinstance(data, dict):
            raise ApiError(400, "'data' is required and must be an object")
        arrived = self.now() if created is None else float(created)
        if captured_at is None:
            when = arrived
        else:
            parsed = parse_time(captured_at)
            if parsed is None:
                raise ApiError(400, f"'captured_at' is not an ISO 8601 timestamp: {captured_at!r}")
            when = parsed.timestamp()
        captured = iso(when)
        # Assumption: base properties may be given inside `data`; otherwise operator/gps_accuracy_m
        # are null, synced is true and photos empty. Other data keys follow as form fields.
        props = {"form_id": form_id, "operator": data.get("operator"), "captured_at": captured,
                 "gps_accuracy_m": data.get("gps_accuracy_m"), "synced": data.get("synced", True),
                 "photos": data.get("photos", [])}
        for key, value in data.items():
            if key not in props:
                props[key] = value
        rec = Record(self._new_id(), form_id, list(coordinates), captured, when, props, arrived)
        pos = bisect.bisect_right(self._all_keys, rec.key)
        self._all.insert(pos, rec)
        self._all_keys.insert(pos, rec.key)
        recs, keys = self._by_form[form_id]
        pos = bisect.bisect_right(keys, rec.key)
        recs.insert(pos, rec)
        keys.insert(pos, rec.key)
        return rec

    def change_records(self, kind, position):
        """Delete the record at `position` of the ordered records, or insert a new one there (same capture time)."""
        with self.lock:
            if not self._all:
                return
            position = max(0, min(int(position), len(self._all) - 1))
            rec = self._all[position]
            if kind == "delete":
                self.delete_record(rec.id)
            elif kind == "insert":
                data = {k: v for k, v in rec.properties.items() if k not in ("form_id", "captured_at")}
                self._create(rec.form_id, list(rec.coordinates), data, rec.captured_at)
            else:
                raise ValueError(f"unknown record change {kind!r}")

    def _select(self, req):
        """Records matching form_id/since (a slice view start index + list)."""
        form_id = req.arg("form_id")
        if form_id:
            if form_id not in self.forms:
                raise ApiError(404, f"Form '{form_id}' not found", "form_not_found")
            recs, keys = self._by_form[form_id]
        else:
            recs, keys = self._all, self._all_keys
        since = req.arg("since")
        start = 0
        if since:
            parsed = parse_time(since)
            if parsed is None:
                raise ApiError(400, f"'since' is not an ISO 8601 timestamp: {since!r}")
            start = bisect.bisect_right(keys, (parsed.timestamp(), _TOP))
        return recs, start

    # -- handlers --------------------------------------------------------------------------
    def list_records(self, req):
        """GET /records."""
        limit = 50
        raw_limit = req.arg("limit")
        if raw_limit not in (None, ""):
            try:
                limit = int(raw_limit)
            except ValueError:
                raise ApiError(400, f"'limit' must be an integer, got {raw_limit!r}") from None
            if not 1 <= limit <= MAX_LIMIT:
                raise ApiError(400, f"'limit' must be between 1 and {MAX_LIMIT}, got {limit}")
        offset = req.int_arg("offset", 0, 0)
        fmt = req.arg("format", "json") or "json"
        if fmt not in ("json", "geojson"):
            raise ApiError(400, f"'format' must be 'json' or 'geojson', got {fmt!r}")
        recs, start = self._select(req)
        total = len(recs) - start
        page = recs[start + offset:start + offset + limit] if offset < total else []
        if fmt == "geojson":
            body = ('{"type":"FeatureCollection","total":%d,"features":[' % total
                    + ",".join(r.feature_json() for r in page) + "]}")
        else:
            # Assumption (format=json is undocumented): {total, limit, offset, records:[{id, form_id,
            # coordinates, captured_at, data:{all other properties}}]}.
            body = ('{"total":%d,"limit":%d,"offset":%d,"records":[' % (total, limit, offset)
                    + ",".join(r.plain_json() for r in page) + "]}")
        return Response(200, raw=body)

    def create_record(self, req):
        """POST /records → 201 Feature."""
        body = req.json_body()
        for key in ("form_id", "coordinates", "data"):
            if key not in body:
                raise ApiError(400, f"'{key}' is required")
        rec = self._create(body["form_id"], body["coordinates"], body["data"], body.get("captured_at"))
        return Response(201, raw=rec.feature_json())

    def get_record(self, req, rec_id):
        """GET /records/{id} (not in the docs; a convenience) → Feature."""
        rec = self._find(rec_id)
        if rec is not None:
            return Response(200, raw=rec.feature_json())
        raise ApiError(404, f"Record '{rec_id}' not found", "record_not_found")

    def list_forms(self, req):
        """GET /forms → {"forms": [...]} (assumption: undocumented)."""
        return {"forms": list(self.forms.values())}

    def get_form(self, req, form_id):
        """GET /forms/{id}."""
        if form_id not in self.forms:
            raise ApiError(404, f"Form '{form_id}' not found", "form_not_found")
        return self.forms[form_id]

    def export(self, req, fmt):
        """GET /export/{fmt}: file directly up to 10,000 records, else 202 with a job."""
        with self.lock:
            recs, start = self._select(req)
            selected = recs[start:]
            form_id = req.arg("form_id")
            if len(selected) > SYNC_EXPORT_MAX:
                job = Job("job_" + seeding.base62(self._rng, 10), fmt, form_id, selected, self.job_seconds,
                          self.fail_jobs)
                self.jobs[job.job_id] = job
                return Response(202, {"job_id": job.job_id, "status": "pending"})
        content_type, ext = EXPORT_TYPES[fmt]
        return Response(200, raw=render_export(fmt, selected, form_id), content_type=content_type,
                        headers={"Content-Disposition": f'attachment; filename="mapalyze_export.{ext}"'})

    def get_job(self, req, job_id):
        """GET /jobs/{id} → {job_id, status, progress, download_url}."""
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"Job '{job_id}' not found", "job_not_found")
        status, progress = job.status()
        body = {"job_id": job_id, "status": status, "progress": progress,
                "download_url": f"{req.base_url}/jobs/{job_id}/download" if status == "completed" else None}
        if status == "failed":
            body["error"] = "Export failed while rendering (sandbox-injected failure)"
        return body

    def download_job(self, req, job_id):
        """GET /jobs/{id}/download → the export file (auth required)."""
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise ApiError(404, f"Job '{job_id}' not found", "job_not_found")
            status, _ = job.status()
            if status != "completed":
                raise ApiError(409, f"Job '{job_id}' is {status}, not completed", "job_not_ready")
        if job.payload is None:
            job.payload = render_export(job.fmt, job.records, job.form_id)
        content_type, ext = EXPORT_TYPES[job.fmt]
        return Response(200, raw=job.payload, content_type=content_type,
                        headers={"Content-Disposition": f'attachment; filename="mapalyze_export.{ext}"'})


def render_export(fmt, records, form_id):
    """Export bytes for geojson/csv/pdf."""
    if fmt == "geojson":
        text = '{"type":"FeatureCollection","features":[' + ",".join(r.feature_json() for r in records) + "]}"
        return text.encode("utf-8")
    if fmt == "csv":
        return _csv(records)
    return _pdf(records, form_id)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return _dumps(value)
    return value


def _csv(records):
    """CSV: id, lng, lat, alt, base properties, then every form field seen (JSON for nested)."""
    extra = []
    seen = set(BASE_KEYS)
    for rec in records:
        for key in rec.properties:
            if key not in seen:
                seen.add(key)
                extra.append(key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["id", "longitude", "latitude", "altitude", *BASE_KEYS, *extra])
    for rec in records:
        c = rec.coordinates
        props = rec.properties
        writer.writerow([rec.id, c[0], c[1], c[2] if len(c) > 2 else "",
                         *(_cell(props.get(k)) for k in BASE_KEYS), *(_cell(props.get(k)) for k in extra)])
    return out.getvalue().encode("utf-8")


def _pdf(records, form_id):
    """A minimal valid one-page PDF summarising the export."""
    lines = ["Mapalyze export", f"Form: {form_id or 'all forms'}", f"Records: {len(records)}"]
    for rec in records[:20]:
        lines.append(f"{rec.id}  {rec.form_id}  {rec.captured_at}")

    def esc(text):
        text = text.encode("ascii", "replace").decode("ascii")
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = "BT /F1 11 Tf 50 800 Td 14 TL\n" + "".join(f"({esc(s)}) Tj T*\n" for s in lines) + "ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode("ascii")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode("ascii")
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode("ascii")
    return bytes(out)
