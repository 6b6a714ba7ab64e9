"""The link between a layer and a map: two attribute tables of a GeoPackage, read and written through OGR.

`mapbridge_sync_links` has one row per link (whose layer, which service and map, the key field, the parameters of
the sync, when it last ran, how many features the map held then). `mapbridge_sync_features` has one row per synced
feature: its key, the remote id, the fingerprint of what was last sent, the Mapiry layer it was put in, and
`pending` (what a create sent while its answer is not known yet, to find it on the map after a crash).
`checked` (when the map was last listed in full) came later: a links table without it gets it when next written.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import dataclass, field

from osgeo import gdal, ogr

from ...api.errors import MapbridgeError
from ..gdal_calls import attempt, execute_sql

LINKS = "mapbridge_sync_links"
FEATURES = "mapbridge_sync_features"
LINK_COLUMNS = ("link_id", "source", "service", "map_id", "key_field", "parameters", "last_sync", "counts")
FEATURE_COLUMNS = ("link_id", "key", "remote_id", "fp", "layer", "pending")
BUSY_TIMEOUT_MS = 15000         # another connection (QGIS saving edits) may hold the file for a moment
SQL_ROWS = 500                  # rows per INSERT or DELETE statement
_CREATE_LOCK = threading.Lock()
# NOSEC: the SQL below is built from constant table and column names; every value goes through literal(), which
# quotes it as an SQL text literal (and refuses a NUL character), so no value can end a literal.


class StoreError(MapbridgeError):
    """The link could not be read or written."""


def literal(value):
    """An SQL text literal (or NULL); text with a NUL character cannot be one."""
    if value is None:
        return "NULL"
    text = str(value)
    if "\x00" in text:
        raise StoreError("a text with a NUL character cannot be kept in the sync link", details=repr(text[:100]))
    return "'" + text.replace("'", "''") + "'"


@dataclass
class Link:
    """One layer linked to one map of one service."""

    source: str
    service: str
    map_id: str
    key_field: str = ""                 # "" = the layer's feature id
    parameters: dict = field(default_factory=dict)
    last_sync: str = ""
    remote_total: int | None = None     # features on the map right after the last sync (all of them, ours or not)
    counts: dict = field(default_factory=dict)
    checked: str = ""                   # when the map was last listed in full (ISO 8601 UTC), "" = never
    link_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    fid: int | None = None


class Entry:
    """One synced feature of a link."""

    __slots__ = ("key", "remote_id", "fp", "layer", "pending")

    def __init__(self, key, remote_id=None, fp=None, layer=None, pending=None):
        self.key = key
        self.remote_id = remote_id
        self.fp = fp
        self.layer = layer
        self.pending = pending      # JSON text while a create's outcome is not known

    def __repr__(self):
        return f"Entry({self.key!r}, {self.remote_id!r}, {self.fp!r}, {self.layer!r}, pending={self.pending!r})"


class LinkStore:
    """The link tables of one GeoPackage; open() before use, close() after (or use it as a context manager)."""

    def __init__(self, path):
        self.path = path
        self.ds = None

    # -- opening -----------------------------------------------------------------------------------
    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()

    def exists(self):
        """True when the file holds link tables (without creating anything)."""
        if not os.path.isfile(self.path):
            return False
        ds, _ = attempt(gdal.OpenEx, self.path, gdal.OF_VECTOR | gdal.OF_READONLY)
        return ds is not None and ds.GetLayerByName(LINKS) is not None

    def open(self, create=True):
        """Open the GeoPackage for writing; create it (in the data folder) and the tables when missing."""
        if not create:
            return self.open_readonly()
        with _CREATE_LOCK:      # two syncs starting at once must not both create the tables
            if not os.path.exists(self.path):
                if not create:
                    raise StoreError(f"no sync link is kept in {self.path}")
                os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
                driver = ogr.GetDriverByName("GPKG")
                ds, error = attempt(driver.CreateDataSource, self.path)
            else:
                ds, error = attempt(gdal.OpenEx, self.path, gdal.OF_VECTOR | gdal.OF_UPDATE)
            if ds is None:
                raise self._error("could not be opened for writing", error)
            self.ds = ds
            self._sql(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}", rows=True)
            # Commits reach the operating system at once (a crash of QGIS loses nothing committed) without
            # waiting for the disk each time; only a power cut may lose the last few, which the next sync re-checks.
            self._sql("PRAGMA synchronous = NORMAL")
            if create:
                self._ensure_tables()
        return self

    def open_readonly(self):
        """Open an existing store to read links (nothing is created; a file without links reads as empty)."""
        self.ds = None
        if os.path.isfile(self.path):
            ds, _ = attempt(gdal.OpenEx, self.path, gdal.OF_VECTOR | gdal.OF_READONLY)
            if ds is not None and ds.GetLayerByName(LINKS) is not None and ds.GetLayerByName(FEATURES) is not None:
                self.ds = ds
                self._sql(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}", rows=True)
        return self

    def close(self):
        """Release the file."""
        self.ds = None

    def _ensure_tables(self):
        links = self.ds.GetLayerByName(LINKS)
        if links is None:
            self._create_table(LINKS, LINK_COLUMNS + ("remote_total", "checked"))
        elif links.GetLayerDefn().GetFieldIndex("checked") < 0:
            _, error = attempt(links.CreateField, ogr.FieldDefn("checked", ogr.OFTString))
            if error:
                raise self._error(f"could not get the table {LINKS}", error)
        if self.ds.GetLayerByName(FEATURES) is None:
            self._create_table(FEATURES, FEATURE_COLUMNS)
            self._sql(f"CREATE UNIQUE INDEX IF NOT EXISTS {FEATURES}_key ON {FEATURES} (link_id, key)")

    def _create_table(self, name, columns):
        layer, error = attempt(self.ds.CreateLayer, name, None, ogr.wkbNone, ["DESCRIPTION=Mapbridge sync link"])
        if layer is None:
            raise self._error(f"could not get the table {name}", error)
        for column in columns:
            kind = ogr.OFTInteger64 if column == "remote_total" else ogr.OFTString
            _, error = attempt(layer.CreateField, ogr.FieldDefn(column, kind))
            if error:
                raise self._error(f"could not get the table {name}", error)

    def _error(self, what, message):
        return StoreError(f"the sync link in {self.path} {what} ({message})",
                          hint="Check that the file and its folder are writable and not open in another program",
                          details=message)

    def _sql(self, statement, rows=False):
        """Run one statement; with rows=True, return the rows of its result as lists."""
        result, error = execute_sql(self.ds, statement)
        if error:
            raise self._error("could not be read or written", error)
        if result is None:
            return []
        try:
            out = []
            if rows:
                count = result.GetLayerDefn().GetFieldCount()
                for feature in result:
                    out.append([feature.GetField(i) if feature.IsFieldSetAndNotNull(i) else None
                                for i in range(count)])
            return out
        finally:
            self.ds.ReleaseResultSet(result)

    # -- links -------------------------------------------------------------------------------------------
    def links(self, source=None):
        """Every link of the file (or of one source), oldest first."""
        if self.ds is None:
            return []           # opened read-only, and no link was ever kept here
        where = f" WHERE source = {literal(source)}" if source is not None else ""
        # "fid + 0": a plain column (OGR takes a selected primary key for the row's FID, not a field).
        has_checked = self.ds.GetLayerByName(LINKS).GetLayerDefn().GetFieldIndex("checked") >= 0
        columns = ", ".join(("fid + 0",) + LINK_COLUMNS + ("remote_total", "checked" if has_checked else "NULL"))
        query = f"SELECT {columns} FROM {LINKS}{where} ORDER BY fid"  # nosec B608 - see NOSEC
        return [self._link(row) for row in self._sql(query, rows=True)]

    @staticmethod
    def _link(row):
        fid, link_id, source, service, map_id, key_field, parameters, last_sync, counts, total, checked = row
        return Link(source=source or "", service=service or "", map_id=map_id or "", key_field=key_field or "",
                    parameters=_json(parameters, {}), last_sync=last_sync or "",
                    remote_total=int(total) if total is not None else None, counts=_json(counts, {}),
                    checked=checked or "", link_id=link_id, fid=fid)

    def find(self, source, service, map_id):
        """The link of a source to one map, or None."""
        for link in self.links(source):
            if link.service == service and link.map_id == map_id:
                return link
        return None

    def save_link(self, link):
        """Insert or update a link's row."""
        table = self.ds.GetLayerByName(LINKS)
        feature = ogr.Feature(table.GetLayerDefn())
        values = {"link_id": link.link_id, "source": link.source, "service": link.service, "map_id": link.map_id,
                  "key_field": link.key_field, "parameters": json.dumps(link.parameters, sort_keys=True),
                  "last_sync": link.last_sync, "counts": json.dumps(link.counts, sort_keys=True),
                  "checked": link.checked}
        for name, value in values.items():
            feature.SetField(name, value)
        if link.remote_total is None:
            feature.SetFieldNull("remote_total")
        else:
            feature.SetField("remote_total", int(link.remote_total))
        if link.fid is not None:
            feature.SetFID(link.fid)
            _, error = attempt(table.SetFeature, feature)
        else:
            _, error = attempt(table.CreateFeature, feature)
            link.fid = feature.GetFID()
        if error:
            raise self._error("could not be saved", error)
        return link

    def remove_link(self, link):
        """Forget a link and every feature of it."""
        self._in_transaction(lambda: (
            self._sql(f"DELETE FROM {FEATURES} WHERE link_id = {literal(link.link_id)}"),  # nosec B608 - NOSEC
            self._sql(f"DELETE FROM {LINKS} WHERE link_id = {literal(link.link_id)}")))  # nosec B608 - NOSEC

    # -- features ----------------------------------------------------------------------------------------
    def entries(self, link):
        """{key: Entry} of a link."""
        if self.ds is None or link.fid is None:
            return {}
        where = f"link_id = {literal(link.link_id)}"
        rows = None
        try:
            # One row holding them all: parsed by the json module, much faster than a row at a time.
            found = self._sql(f"SELECT json_group_array(json_array(key, remote_id, fp, layer, pending)) "  # nosec B608
                              f"FROM {FEATURES} WHERE {where}", rows=True)
            rows = json.loads(found[0][0]) if found and found[0][0] else []
        except (StoreError, ValueError):
            rows = None         # an SQLite without JSON functions: row by row
        if rows is None:
            query = f"SELECT key, remote_id, fp, layer, pending FROM {FEATURES} WHERE {where}"  # nosec B608 - NOSEC
            rows = self._sql(query, rows=True)
        return {row[0]: Entry(*row) for row in rows}

    def write(self, link, upserts=(), removals=()):
        """Insert or update entries and remove others, all or nothing."""
        upserts, removals = list(upserts), list(removals)
        if not upserts and not removals:
            return
        if link.fid is None:
            self.save_link(link)
        self._in_transaction(lambda: self._write(link, upserts, removals))

    def _write(self, link, upserts, removals):
        # Many rows per statement: a row at a time through the OGR layer API costs ~0.1 ms, a whole first sync
        # of 10,000 features a second or more.
        owner = literal(link.link_id)
        for start in range(0, len(removals), SQL_ROWS):
            keys = ", ".join(literal(entry.key) for entry in removals[start:start + SQL_ROWS])
            self._sql(f"DELETE FROM {FEATURES} WHERE link_id = {owner} AND key IN ({keys})")  # nosec B608 - NOSEC
        columns = ", ".join(FEATURE_COLUMNS)
        for start in range(0, len(upserts), SQL_ROWS):
            values = ", ".join(
                f"({owner}, {literal(e.key)}, {literal(e.remote_id)}, {literal(e.fp)}, {literal(e.layer)}, "
                f"{literal(e.pending)})" for e in upserts[start:start + SQL_ROWS])
            # The unique (link_id, key) index makes this an insert or a replacement of the key's row.
            self._sql(f"INSERT OR REPLACE INTO {FEATURES} ({columns}) VALUES {values}")

    def _in_transaction(self, work):
        _, error = attempt(self.ds.StartTransaction)
        if error:
            raise self._error("could not be written", error)
        try:
            work()
        except BaseException:
            attempt(self.ds.RollbackTransaction)
            raise
        _, error = attempt(self.ds.CommitTransaction)
        if error:
            raise self._error("could not be written", error)


def _json(text, default):
    try:
        value = json.loads(text) if text else default
    except ValueError:
        return default
    return value if isinstance(value, type(default)) else default
