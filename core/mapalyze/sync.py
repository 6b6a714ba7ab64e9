"""Sync: bring a Mapalyze layer's GeoPackage exactly in line with the service, in place.

Two steps, so the layer changes only once the whole answer has arrived: every matching record is loaded into a
temporary GeoPackage (the load job, with its completeness checks), then the differences are applied to the
layer's own file in one transaction: records new on the server are added, changed ones updated in place (same
feature id, so selections and joins keep working), records gone from the server removed. Records are matched by
record_id (those without one by their content). Values are compared by meaning (numbers as numbers, timestamps
as instants, JSON as JSON) after the layer's fields are widened where the fresh records need it; such schema
changes are kept even if the sync is then cancelled (they only make room; no value changes).
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import struct
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote as url_quote

from osgeo import ogr

from ...api.errors import CancelledError, MapbridgeError
from ..feedback import set_status
from ..gc_guard import quiet_gc
from . import field_kinds as mt
from .fetch import DEFAULT_WORKERS
from .gpkg_layer import FID_COLUMN, GEOM_COLUMN, ID_COLUMN, WATERMARK_NOTE, GpkgError, GpkgLayer
from .gpkg_ogr import call, quote, sql
from .load import load_records
from .record_writer import ColumnNames

FRESH_LAYER = "records"
LOAD_SPAN = (0.0, 80.0)        # the progress bar: loading the fresh copy, then comparing
COMPARE_SPAN = (80.0, 99.0)
CHECK_EVERY = 1000             # rows between checks for cancel and progress
_INTEGER_KINDS = (mt.BOOL, mt.INT, mt.INT64)
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}    # GeoPackage geometry header: envelope size by its kind


@dataclass
class SyncResult:
    """What a sync changed."""

    path: str
    layer_name: str
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    count: int = 0
    watermark: str | None = None
    newest: str | None = None
    form_ids: list = field(default_factory=list)

    def describe(self):
        """"+3 added, ~2 changed, −1 removed" (or "no changes")."""
        parts = [f"+{self.added:,} added" if self.added else "", f"~{self.changed:,} changed" if self.changed else "",
                 f"−{self.removed:,} removed" if self.removed else ""]
        return ", ".join(p for p in parts if p) or "no changes"


def sync_records(client, path, layer_name, *, form_id=None, since=None, feedback=None, workers=DEFAULT_WORKERS):
    """Make the layer hold exactly the records the service has for its form (and `since` filter)."""
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.splitext(os.path.basename(path))[0]
    temp = os.path.join(folder, f".{base}.{uuid.uuid4().hex[:8]}.sync.gpkg")
    try:
        try:
            fresh = load_records(client, temp, FRESH_LAYER, form_id=form_id, since=since, feedback=feedback,
                                 workers=workers, verb="Fetched", span=LOAD_SPAN)
        except MapbridgeError as exc:
            exc.message = exc.message.replace("nothing was saved", "the layer was left unchanged")
            raise
        result = apply_difference(path, layer_name, temp, FRESH_LAYER, feedback)
    finally:
        for suffix in ("", "-journal", "-wal", "-shm"):
            try:
                os.remove(temp + suffix)
            except FileNotFoundError:
                pass
    result.watermark, result.newest, result.form_ids = fresh.watermark, fresh.newest, fresh.form_ids
    if feedback is not None:
        feedback.setProgress(100.0)
        feedback.pushInfo(f"Synced {path}: {result.describe()} ({result.count:,} records)")
    return result


def apply_difference(path, layer_name, fresh_path, fresh_name, feedback=None):
    """Apply the fresh copy's differences to the layer's GeoPackage (rows in one transaction); a SyncResult."""
    try:
        target = GpkgLayer(path, layer_name).open()
    except (GpkgError, OSError) as exc:
        raise MapbridgeError(f"could not open the layer's GeoPackage {path}", service="mapalyze",
                             hint="Check the file still exists and is writable; otherwise load the records again",
                             details=str(exc)) from None
    fresh = None
    try:
        fresh = GpkgLayer(fresh_path, fresh_name).open()
        with quiet_gc():        # a full collection would stall the main thread (syncs run in the background)
            result = _Diff(target, fresh, feedback).run()
        target.set_note(WATERMARK_NOTE, fresh.note(WATERMARK_NOTE))
        result.path, result.layer_name, result.count = path, layer_name, target.count()
        target.finish()
        return result
    except GpkgError as exc:
        raise MapbridgeError(f"could not update {path}; the layer's records were left unchanged",
                             service="mapalyze", hint="Check the folder is writable and has free space",
                             details=str(exc)) from None
    finally:
        if fresh is not None:
            fresh.close()
        target.close()


def _property_names(layer):
    """{property name: column} of a layer (columns renamed on load keep their property name in the metadata)."""
    return {layer.aliases.get(column, column): column for column in layer.columns}


class _Diff:
    """One comparison of a fresh copy with the layer, applied to the layer."""

    def __init__(self, target, fresh, feedback):
        self.target = target
        self.fresh = fresh
        self.feedback = feedback
        self.result = SyncResult("", "")

    def run(self):
        """Widen the schema, compare every row, apply the differences (uncommitted); the SyncResult."""
        self._unify_schema()
        columns = list(self.target.columns)
        self.kinds = [self.target.columns[c] for c in columns]
        self.target_index = [self.target.index[c] for c in columns]
        by_property = _property_names(self.fresh)
        self.fresh_columns = [by_property.get(self.target.aliases.get(c, c)) for c in columns]
        self.fresh_kinds = [self.fresh.columns[c] if c is not None else None for c in self.fresh_columns]
        existing, anonymous = self._index_target()
        self._apply(existing, anonymous)
        return self.result

    # -- schema -----------------------------------------------------------------------------------
    def _unify_schema(self):
        """Fields the fresh records need: added, or widened to hold both old and new values exactly."""
        if self.fresh.with_z and not self.target.with_z:
            self.target.upgrade_to_z()
        names = ColumnNames(self.target.columns)
        targets = _property_names(self.target)
        for column, kind in list(self.fresh.columns.items()):
            if not self._has_values(column):
                kind = mt.NONE      # only nulls: any field holds them (an empty column was made text)
            prop = self.fresh.aliases.get(column, column)
            current = targets.get(prop)
            if current is None:
                new = names.column(prop)
                self.target.add_field(new, kind, prop if new != prop else None)
                targets[prop] = new
                continue
            old = self.target.columns[current]
            wider = mt.join(old, kind)
            if wider != old:
                self.target.widen_field(current, wider)

    def _has_values(self, column):
        table = quote(self.fresh.layer_name)
        return bool(sql(self.fresh.ds, f"SELECT EXISTS(SELECT 1 FROM {table} WHERE {quote(column)} IS NOT NULL)"))  # nosec B608 - quoted identifiers

    # -- rows -------------------------------------------------------------------------------------
    def _index_target(self):
        """{record_id: (fid, key)} of the layer's rows, and {key: [fid…]} of rows without a record_id."""
        existing, anonymous = {}, {}
        columns = list(self.target.columns)
        for fid, rec_id, blob, *values in _rows(self.target, columns):
            key = _key(_point(blob, self.target.with_z), values, self.kinds)
            if rec_id is not None:
                existing[str(rec_id)] = (fid, key)
            else:
                anonymous.setdefault(key, []).append(fid)
        return existing, anonymous

    def _fresh_rows(self):
        """(record_id, point, values stored as the layer's fields store them) of every fresh row."""
        present = [i for i, column in enumerate(self.fresh_columns) if column is not None]
        with_z = self.target.with_z
        for _, rec_id, blob, *raw in _rows(self.fresh, [self.fresh_columns[i] for i in present]):
            values = [None] * len(self.kinds)
            for i, value in zip(present, raw):
                if value is not None:
                    values[i] = _convert(value, self.fresh_kinds[i], self.kinds[i])
            yield (None if rec_id is None else str(rec_id)), _point(blob, with_z), values

    def _apply(self, existing, anonymous):
        result, target = self.result, self.target
        total = self.fresh.count()
        target.begin()
        for n, (rec_id, point, values) in enumerate(self._fresh_rows(), 1):
            if n % CHECK_EVERY == 0:
                self._progress(n, total)
            key = _key(point, values, self.kinds)
            if rec_id is not None and rec_id in existing:
                fid, old_key = existing.pop(rec_id)
                if old_key == key:
                    result.unchanged += 1
                    continue
                row = target.lyr.GetFeature(fid)
                if row is None:
                    raise GpkgError(f"the record {rec_id} (feature {fid}) went missing from the layer meanwhile")
                self._fill(row, values, point)
                call(f"cannot update the record {rec_id}", target.lyr.SetFeature, row)
                result.changed += 1
            elif rec_id is None and anonymous.get(key):
                anonymous[key].pop()
                result.unchanged += 1
            else:
                row = ogr.Feature(target.lyr.GetLayerDefn())
                if rec_id is not None:
                    row.SetFieldString(target.index[ID_COLUMN], rec_id)
                self._fill(row, values, point)
                call(f"cannot add the record {rec_id}", target.lyr.CreateFeature, row)
                result.added += 1
        self._progress(total, total)
        gone = [fid for fid, _ in existing.values()] + [fid for fids in anonymous.values() for fid in fids]
        for n, fid in enumerate(gone, 1):
            if n % CHECK_EVERY == 0 and self.feedback is not None and self.feedback.isCanceled():
                raise CancelledError("Cancelled; the layer was left unchanged")
            call(f"cannot remove the feature {fid}", target.lyr.DeleteFeature, fid)
        result.removed = len(gone)

    def _progress(self, n, total):
        if self.feedback is None:
            return
        if self.feedback.isCanceled():
            raise CancelledError("Cancelled; the layer was left unchanged")
        start, end = COMPARE_SPAN
        set_status(self.feedback, f"Compared {n:,} of {total:,} records", start + (end - start) * n / max(1, total))

    def _fill(self, row, values, point):
        for index, kind, value in zip(self.target_index, self.kinds, values):
            if value is None:
                row.SetFieldNull(index)
            elif kind in _INTEGER_KINDS:
                row.SetFieldInteger64(index, int(value))
            elif kind == mt.DOUBLE:
                row.SetField(index, float(value))
            else:
                row.SetFieldString(index, value)
        if point is None:
            row.SetGeometryDirectly(None)
            return
        with_z = self.target.with_z
        geometry = ogr.Geometry(ogr.wkbPoint25D if with_z else ogr.wkbPoint)
        if with_z:
            geometry.SetPoint(0, point[0], point[1], float("nan") if point[2] is None else point[2])
        else:
            geometry.SetPoint_2D(0, point[0], point[1])
        row.SetGeometryDirectly(geometry)


def _rows(layer, columns):
    """(fid, record_id, geometry blob, values…) of every row of a GpkgLayer, read by SQLite itself (read-only).

    Values come as the writer stored them: integers, doubles, texts (timestamps in the GeoPackage's canonical
    "YYYY-MM-DDTHH:MM:SS.sssZ", JSON as text). Reading row by row through OGR would cost ten times as long."""
    names = ", ".join(quote(c) for c in (FID_COLUMN, ID_COLUMN, GEOM_COLUMN, *columns))
    connection = sqlite3.connect(f"file:{url_quote(os.path.abspath(layer.path))}?mode=ro", uri=True)
    try:
        yield from connection.execute(f"SELECT {names} FROM {quote(layer.layer_name)}")  # nosec B608 - quoted identifiers
    finally:
        connection.close()


def _convert(value, kind, target_kind):
    """A stored value of `kind` as a field of the wider `target_kind` stores it (exactly)."""
    if kind == target_kind or kind is None:
        return value
    if target_kind == mt.STRING:
        return mt.stored_as_text(kind, value)
    if target_kind == mt.DOUBLE:
        return float(value)
    return value        # int into int64, a string list into JSON: the same stored value


def _point(blob, with_z):
    """(x, y, z or None) of a GeoPackage point blob (header, then WKB), or None for no or an empty point."""
    if not blob or len(blob) < 8 or blob[:2] != b"GP" or blob[3] & 0x10:
        return None
    wkb = blob[8 + _ENVELOPE_BYTES.get((blob[3] >> 1) & 7, 0):]
    order = "<" if wkb[:1] == b"\x01" else ">"
    kind = struct.unpack(order + "I", wkb[1:5])[0]
    x, y = struct.unpack(order + "dd", wkb[5:21])
    if math.isnan(x) or math.isnan(y):
        return None
    z = None
    if with_z and (kind in (1001, 3001) or kind & 0x80000000) and len(wkb) >= 29:
        z = struct.unpack(order + "d", wkb[21:29])[0]
    return x, y, None if z is None or math.isnan(z) else z


def _meaning(value, kind):
    """What a stored value means, comparable and hashable: JSON parsed (key order aside), timestamps in one form
    (GDAL writes "…:17.000Z" on insert but, from 3.10 on, "…:17Z" on update), the rest as stored."""
    if value is None:
        return None
    if kind == mt.DATETIME:
        return mt.canonical_timestamp(value) if isinstance(value, str) and mt.is_timestamp(value) else value
    if kind not in (mt.STRLIST, mt.JSON):
        return value
    try:
        return json.dumps(json.loads(value), sort_keys=True, ensure_ascii=False)
    except ValueError:
        return value


def _key(point, values, kinds):
    """A row's content: its point and the meaning of each value."""
    return hash((point, tuple(_meaning(v, k) for v, k in zip(values, kinds))))
