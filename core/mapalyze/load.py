"""The Mapalyze load and refresh jobs: pages of /records into a GeoPackage layer, exactly once, cancellable.

Refresh asks for what was *created on the server* since the last load or refresh (the API's `since`), not for
what was captured since: a record captured offline yesterday reaches the server today. Each load and refresh
keeps a watermark, the server's own clock at its first answer (its Date header), on the layer and in the
GeoPackage; the next refresh asks from the watermark minus a safety margin, and records already in the layer
are recognised by record_id and skipped.
"""

from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlencode

from ...api.errors import CancelledError, MapbridgeError
from ..feedback import set_status
from ..gc_guard import quiet_gc
from ..temp_files import remove_stale, temporary_beside
from ..timestamps import epoch_seconds, iso_utc, parse_iso
from . import field_kinds as mt
from .fetch import DEFAULT_WORKERS, PageFetcher, RecordsShifted
from .gpkg_layer import SINCE_NOTE, WATERMARK_NOTE, GpkgError
from .record_writer import RecordWriter

PROGRESS_SECONDS = 1.0  # at most one progress line per second in the log
# Reads of the whole record set when records change on the server meanwhile; then the load fails clearly.
MAX_ATTEMPTS = 3
# SQLite's default SQLITE_MAX_COLUMN: a GeoPackage table cannot have more columns (fid, geom, record_id included).
SQLITE_MAX_COLUMNS = 2000
PARTIAL_SUFFIX = ".partial.gpkg"
# A refresh asks from this long before the watermark: records the server files a little late (replicas, long
# transactions) are still caught; the few already in the layer are skipped by record_id.
WATERMARK_MARGIN_SECONDS = 600


@dataclass
class LoadResult:
    """What a load or refresh did."""

    path: str
    layer_name: str
    count: int = 0            # records in the layer now
    added: int = 0            # records this run added
    received: int = 0         # records the service sent (duplicates included)
    total: int | None = None  # records the service announced
    newest: str | None = None
    watermark: str | None = None   # the server's clock at the first answer (ISO 8601 UTC)
    since: str | None = None       # the `since` asked for
    form_ids: list = field(default_factory=list)   # most records first
    fields: list = field(default_factory=list)
    with_z: bool = False
    widened: list = field(default_factory=list)
    requests: int = 0


def source_url(base_url, form_id=None):
    """Where the records come from (never with the token)."""
    query = {"format": "geojson"}
    if form_id:
        query["form_id"] = form_id
    return f"{base_url.rstrip('/')}/records?{urlencode(query)}"


def validate_since(text):
    """The `since` text when it is an ISO 8601 timestamp (or empty -> None); MapbridgeError otherwise."""
    text = (text or "").strip()
    if not text:
        return None
    if parse_iso(text) is None:
        raise MapbridgeError(f"'{text}' is not an ISO 8601 timestamp", service="mapalyze",
                             hint="Give SINCE like 2025-03-14T09:22:11Z, or leave it empty for every record")
    return text


class _Progress:
    """Progress bar and status line from the same numbers, every page; a log line at most once a second."""

    def __init__(self, feedback, verb, span=(0.0, 99.0)):
        self.feedback = feedback
        self.verb = verb
        self.start, self.width = span[0], span[1] - span[0]
        self.last = 0.0

    def page(self, received, total, force=False):
        if self.feedback is None:
            return
        of = f" of {total:,}" if total is not None else ""
        line = f"{self.verb} {received:,}{of} records"
        if total:
            set_status(self.feedback, line, self.start + self.width * min(1.0, received / total))
        else:
            set_status(self.feedback, line)
        now = time.monotonic()
        if force or now - self.last >= PROGRESS_SECONDS:
            self.last = now
            self.feedback.pushInfo(line)


def _run_pages(fetcher, writer, progress, track_ids=None):
    """Feed every page to the writer; returns the number of distinct records received."""
    with quiet_gc():
        _feed(fetcher, writer, progress, track_ids)


def _feed(fetcher, writer, progress, track_ids):
    for page in fetcher.pages():
        if fetcher.cancelled():
            raise CancelledError()
        writer.add_page(page.features)
        if track_ids is not None:
            for item in page.features:
                rec_id = item.get("id") if isinstance(item, dict) else None
                track_ids.add(rec_id if rec_id is not None else object())
        progress.page(writer.received, fetcher.latest_total)
    if fetcher.cancelled():
        raise CancelledError()


def _stopped(exc, writer, fetcher, outcome):
    """The error, saying how far the job got and what was (not) kept."""
    if isinstance(exc, CancelledError):
        exc.message = f"Cancelled; {outcome}"
    elif writer.received == 0:
        exc.message = f"{exc.message} ({outcome})"
    elif "records announced arrived" not in exc.message:
        total = fetcher.latest_total
        where = f"after {writer.received:,}" + (f" of {total:,} records" if total is not None else " records")
        exc.message = f"{exc.message} (the load stopped {where}; {outcome})"
    return exc


def _check_complete(distinct, fetcher, done_text):
    expected = fetcher.latest_total
    if expected is not None and distinct < expected:
        raise MapbridgeError(
            f"only {distinct:,} of the {expected:,} records announced arrived; {done_text}",
            service="mapalyze",
            hint="The records probably changed while loading; run it again",
        )
    if expected is not None and distinct > expected:
        raise RecordsShifted(f"{distinct:,} records arrived where {expected:,} were announced")


def _write_error(exc, writer, write_failure):
    """The error for a GeoPackage that could not be written: the column limit named as such, else disk/folder."""
    text = str(exc)
    named = re.search(r"(\d+) properties", text)
    properties = int(named.group(1)) if named else (len(writer.names.by_key) if writer.names is not None else 0)
    if "too many columns" in text.lower() or properties + 3 > SQLITE_MAX_COLUMNS:
        count = f"{properties:,} different properties" if properties else "more different properties than that"
        return MapbridgeError(
            f"{write_failure}: the records have {count}, and a GeoPackage table holds at most "
            f"{SQLITE_MAX_COLUMNS:,} columns (a limit of SQLite)", service="mapalyze",
            hint="Load one form at a time (FORM_ID), or use Export (GeoJSON or CSV) for records this wide",
            details=text[:1000])
    return MapbridgeError(write_failure, hint="Check the folder is writable and has free space", details=text[:1000])


@contextmanager
def _guarded(writer, fetcher, *, outcome, write_failure):
    """Any failure inside: abort the writer and say how far the job got and what was (not) kept."""
    try:
        yield
    except BaseException as exc:
        writer.abort()
        if isinstance(exc, GpkgError):
            raise _write_error(exc, writer, write_failure) from None
        if isinstance(exc, RecordsShifted):
            raise
        if isinstance(exc, MapbridgeError):
            raise _stopped(exc, writer, fetcher, outcome) from None
        raise
    finally:
        fetcher.close()


def _attempts(feedback, what):
    """Run numbers for a job that reads every record again when they change on the server meanwhile."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        yield attempt
        if feedback is not None and attempt < MAX_ATTEMPTS:
            feedback.pushInfo(f"Mapalyze: the records changed while {what}; reading them again "
                              f"(attempt {attempt + 1} of {MAX_ATTEMPTS})")


def _kept_changing(exc, outcome):
    return MapbridgeError(
        f"the records kept changing on Mapalyze while loading ({exc.message}; {MAX_ATTEMPTS} attempts); {outcome}",
        service="mapalyze", hint="Run it again when fewer records are being added or deleted, or load one form "
                                 "at a time")


def _report(feedback, writer, text, final=True):
    if feedback is not None:
        if final:
            feedback.setProgress(100.0)
        _report_oddities(writer, feedback)
        feedback.pushInfo(text)


def load_records(client, path, layer_name, *, form_id=None, since=None, feedback=None, workers=DEFAULT_WORKERS,
                 verb="Loaded", span=(0.0, 99.0)):
    """Write every matching record to a new GeoPackage at `path` (replacing it only once complete).

    `verb` and `span` (the part of the progress bar) let a bigger job (a sync) show this as one of its steps.

    Records added or deleted on the server while paging are noticed (RecordsShifted) and everything is read again,
    up to MAX_ATTEMPTS times; the saved layer holds exactly the `total` records the service announced.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    base = os.path.splitext(os.path.basename(path))[0]
    for stale in remove_stale(folder, base, PARTIAL_SUFFIX):
        if feedback is not None:
            feedback.pushInfo(f"Removed {os.path.basename(stale)}, left behind by an interrupted load")
    for attempt in _attempts(feedback, "loading"):
        try:
            return _load_once(client, path, folder, base, layer_name, form_id, since, feedback, workers, verb, span)
        except RecordsShifted as exc:
            if attempt == MAX_ATTEMPTS:
                raise _kept_changing(exc, "nothing was saved") from None
    raise AssertionError("unreachable")


def _load_once(client, path, folder, base, layer_name, form_id, since, feedback, workers, verb, span):
    with temporary_beside(folder, base, PARTIAL_SUFFIX) as temp:
        fetcher = PageFetcher(client, form_id=form_id, since=since, feedback=feedback, workers=workers)
        writer = RecordWriter(temp, layer_name)
        started = time.time()
        # A failure leaves nothing behind: temporary_beside removes the file once the writer is aborted.
        with _guarded(writer, fetcher, outcome="nothing was saved", write_failure=f"could not write {path}; "
                      "nothing was saved"):
            _run_pages(fetcher, writer, _Progress(feedback, verb, span))
            if not writer.started:
                writer.add_page([])
            count = writer.count()
            _check_complete(count, fetcher, "nothing was saved")
            watermark = _watermark(fetcher, started, feedback)
            writer.layer.set_note(WATERMARK_NOTE, watermark)
            if since:
                writer.layer.set_note(SINCE_NOTE, since)
            writer.finish()
            _replace(temp, path)
    _report(feedback, writer, f"Loaded {count:,} records into {path}", final=span[1] >= 99.0)
    return _result(path, layer_name, writer, fetcher, count=count, added=count, watermark=watermark, since=since)


def _watermark(fetcher, started, feedback):
    """The server's clock at its first answer (ISO 8601); this computer's clock then when it sent no Date."""
    server = getattr(fetcher.client, "first_server_time", None)
    if server is None:
        # Assumption: every HTTP server sends Date (RFC 9110 requires it of servers with a clock); without it
        # our own clock at the start is the best there is, and the margin has to cover any skew.
        if feedback is not None:
            feedback.pushInfo("Mapalyze sent no Date header; the next refresh counts from this computer's clock")
        server = started
    return iso_utc(server)


def refresh_since(watermark, floor=None):
    """The `since` a refresh asks for: the watermark minus the margin (never before the layer's own filter)."""
    epoch = epoch_seconds(watermark) if watermark else None
    if epoch is None:
        return floor or None
    since = iso_utc(epoch - WATERMARK_MARGIN_SECONDS)
    floor_epoch = epoch_seconds(floor) if floor else None
    return floor if floor_epoch is not None and floor_epoch > epoch - WATERMARK_MARGIN_SECONDS else since


def _replace(temp, path):
    try:
        os.replace(temp, path)
    except OSError as exc:
        raise MapbridgeError(f"could not replace {path}", hint="It may be open in QGIS or another program: "
                             "remove its layer from the project or choose another file", details=str(exc)) from None


def refresh_records(client, path, layer_name, *, form_id=None, watermark=None, floor=None, since=None,
                    feedback=None, workers=DEFAULT_WORKERS):
    """Append the records created on the server since the layer's watermark that it does not hold (all or nothing;
    read again when the records change on the server meanwhile).

    `watermark`: the server time of the last load or refresh (the layer keeps it; else the GeoPackage's note;
    else every record is checked). `floor`: the layer's own `since` filter. `since` overrides both."""
    for attempt in _attempts(feedback, "refreshing"):
        try:
            return _refresh_once(client, path, layer_name, form_id, watermark, floor, since, feedback, workers)
        except RecordsShifted as exc:
            if attempt == MAX_ATTEMPTS:
                raise _kept_changing(exc, "the layer was left unchanged") from None
    raise AssertionError("unreachable")


def _refresh_once(client, path, layer_name, form_id, watermark, floor, since, feedback, workers):
    try:
        writer = RecordWriter(path, layer_name, append=True)
    except (GpkgError, OSError) as exc:
        raise MapbridgeError(f"could not open the layer's GeoPackage {path}",
                             hint="Check the file still exists and is writable; otherwise load the records again",
                             details=str(exc)) from None
    if since is None:
        watermark = watermark or writer.layer.note(WATERMARK_NOTE)
        since = refresh_since(watermark, floor or writer.layer.note(SINCE_NOTE))
    fetcher = PageFetcher(client, form_id=form_id, since=since, feedback=feedback, workers=workers)
    if feedback is not None:
        feedback.pushInfo(f"Asking for the records created since {since}" if since
                          else "No watermark on this layer yet: checking every record")
    seen = set()
    started = time.time()
    with _guarded(writer, fetcher, outcome="the layer was left unchanged",
                  write_failure=f"could not append to {path}; the layer was left unchanged"):
        _run_pages(fetcher, writer, _Progress(feedback, "Checked"), track_ids=seen)
        _check_complete(len(seen), fetcher, "the layer was left unchanged")
        count = writer.count()
        new_watermark = _watermark(fetcher, started, feedback)
        writer.layer.set_note(WATERMARK_NOTE, new_watermark)
        writer.finish()
    plural = "s" if writer.inserted != 1 else ""
    _report(feedback, writer, f"Added {writer.inserted:,} new record{plural} ({count:,} in the layer)")
    return _result(path, layer_name, writer, fetcher, count=count, added=writer.inserted, watermark=new_watermark,
                   since=since)


def _report_oddities(writer, feedback):
    """Say what was unusual about the records (kept, but the user should know)."""
    if writer.without_geometry:
        feedback.pushInfo(f"{writer.without_geometry:,} records have no point coordinates: kept without geometry")
    if writer.without_id:
        feedback.pushInfo(f"{writer.without_id:,} records have no id: kept, but a refresh cannot recognise them")
    for name, old, new in writer.widened:
        feedback.pushInfo(f"Field {name}: {old} values met a {new} value later on; stored as {new}")


def _result(path, layer_name, writer, fetcher, *, count, added, watermark=None, since=None):
    return LoadResult(
        path=path, layer_name=layer_name, count=count, added=added, received=writer.received,
        total=fetcher.latest_total, newest=mt.display_timestamp(writer.newest) if writer.newest else None,
        watermark=watermark, since=since, form_ids=writer.form_ids_by_size(), fields=writer.fields(),
        with_z=writer.layer.with_z,
        widened=list(writer.widened), requests=fetcher.requests,
    )
