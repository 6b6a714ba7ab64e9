"""A GeoPackage point layer written fast: OGR makes the schema and the index, SQLite takes the rows in bulk.

OGR creates the file, the layer, its fields, the spatial index (table, triggers) and the extent, so every
GeoPackage detail (metadata tables, SRS, JSON columns, triggers) is GDAL's. The rows themselves go through
Python's sqlite3 `executemany`, which is 3-5x faster than building one OGR or QGIS feature per record in Python
(mapalyze_geom makes the point blobs); the R-tree rows of a new layer are built alongside (mapalyze_rtree).
Schema changes during a load (a new property, a wider type, PointZ) go through OGR with our connection closed.
"""

from __future__ import annotations

import json
import sqlite3

from osgeo import gdal, ogr, osr

from . import mapalyze_types as mt
from .mapalyze_geom import SRS_ID, blob_to_z, register_gpkg_functions
from .mapalyze_rtree import RtreeBuilder

GEOM_COLUMN = "geom"
WIDEN_TABLE = "mapbridge_widen"
FID_COLUMN = "fid"
ID_COLUMN = "record_id"


class GpkgError(OSError):
    """OGR could not do something to the GeoPackage."""


def _check(result, what):
    """Raise GpkgError with GDAL's message when an OGR call failed (None or a non-zero error code)."""
    if result is None or (isinstance(result, int) and result != 0):
        raise GpkgError(f"{what}: {gdal.GetLastErrorMsg() or 'GDAL reported an error'}")
    return result


def _exec(ds, sql):
    """Run one SQL statement through OGR and release its result."""
    result = ds.ExecuteSQL(sql)
    value = None
    if result is not None:
        feature = result.GetNextFeature()
        value = feature.GetField(0) if feature is not None and feature.GetFieldCount() else None
        ds.ReleaseResultSet(result)
    return value


def _ogr_field(name, kind, alias=None):
    """The OGR field definition of a property kind (alias: the property's own name when the column differs)."""
    types = {
        mt.BOOL: (ogr.OFTInteger, ogr.OFSTBoolean),
        mt.INT: (ogr.OFTInteger, ogr.OFSTNone),
        mt.INT64: (ogr.OFTInteger64, ogr.OFSTNone),
        mt.DOUBLE: (ogr.OFTReal, ogr.OFSTNone),
        mt.DATETIME: (ogr.OFTDateTime, ogr.OFSTNone),
        # GeoPackage has no list type: string lists are JSON arrays marked application/json, which QGIS
        # reads back as lists. Other JSON (objects, mixed lists) stays plain text, as the user sees it.
        mt.STRLIST: (ogr.OFTString, ogr.OFSTJSON),
    }
    ogr_type, sub_type = types.get(kind, (ogr.OFTString, ogr.OFSTNone))
    field = ogr.FieldDefn(name, ogr_type)
    field.SetSubType(sub_type)
    if alias and hasattr(field, "SetAlternativeName"):
        field.SetAlternativeName(alias)  # shown by GDAL >= 3.7; the layer metadata below keeps it everywhere
    return field


ALIASES_KEY = "MAPBRIDGE_PROPERTY_NAMES"  # layer metadata: {column: property name} for renamed properties


def kind_of_ogr_field(field):
    """The property kind of an existing OGR field (for appending to a layer written earlier)."""
    ogr_type, sub_type = field.GetType(), field.GetSubType()
    if ogr_type == ogr.OFTInteger:
        return mt.BOOL if sub_type == ogr.OFSTBoolean else mt.INT
    if ogr_type == ogr.OFTInteger64:
        return mt.INT64
    if ogr_type == ogr.OFTReal:
        return mt.DOUBLE
    if ogr_type in (ogr.OFTDateTime, ogr.OFTDate):
        return mt.DATETIME
    if ogr_type == ogr.OFTString and sub_type == ogr.OFSTJSON:
        return mt.STRLIST
    return mt.STRING


def quote(name):
    """An SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


class GpkgLayer:
    """One point layer of a GeoPackage: schema changes through OGR, bulk rows through sqlite3."""

    def __init__(self, path, layer_name):
        self.path = path
        self.layer_name = layer_name
        self.with_z = False
        self.columns = {}  # column name -> kind
        self.aliases = {}  # column name -> property name, when they differ
        self.con = None
        self.rtree_builder = None  # a new layer's R-tree, built during the load (see mapalyze_rtree)
        self._suspended = {}  # trigger name -> SQL, set aside while the R-tree is built alongside

    # -- creating and opening --------------------------------------------------------------------
    def create(self, fields, with_z, aliases=None):
        """Create the file and the layer with its spatial index, empty: it is filled alongside (see finish())."""
        aliases = aliases or {}
        driver = ogr.GetDriverByName("GPKG")
        ds = _check(driver.CreateDataSource(self.path), f"cannot create {self.path}")
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(SRS_ID)
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        geom_type = ogr.wkbPoint25D if with_z else ogr.wkbPoint
        layer = _check(ds.CreateLayer(self.layer_name, srs, geom_type,
                                      ["SPATIAL_INDEX=NO", f"GEOMETRY_NAME={GEOM_COLUMN}", f"FID={FID_COLUMN}"]),
                       f"cannot create the layer {self.layer_name}")
        id_field = ogr.FieldDefn(ID_COLUMN, ogr.OFTString)
        if hasattr(id_field, "SetUnique"):
            id_field.SetUnique(True)
        _check(layer.CreateField(id_field), f"cannot create the field {ID_COLUMN}")
        for name, kind in fields:
            _check(layer.CreateField(_ogr_field(name, kind, aliases.get(name))), f"cannot create the field {name}")
        if aliases:
            layer.SetMetadataItem(ALIASES_KEY, json.dumps(aliases, ensure_ascii=False))
        layer = None
        builder = RtreeBuilder()
        if builder.available:
            # GDAL makes the R-tree table, its triggers and its extension entry; the rows come from the builder.
            _exec(ds, f"SELECT CreateSpatialIndex('{self._sql_text(self.layer_name)}', '{GEOM_COLUMN}')")
            self.rtree_builder = builder
        else:
            builder.close()
        ds = None  # noqa: F841 - closing writes the file
        self.with_z = with_z
        self.columns = dict(fields)
        self.aliases = dict(aliases)
        self._connect()
        if not self._has_unique_id():
            self.con.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {quote(self._unique_index_name())} "
                             f"ON {quote(self.layer_name)} ({quote(ID_COLUMN)})")
        if self.rtree_builder is not None:
            self._suspend_triggers()
        return self

    @property
    def rtree(self):
        """Name of the layer's R-tree table (GeoPackage naming)."""
        return f"rtree_{self.layer_name}_{GEOM_COLUMN}"

    def _suspend_triggers(self):
        """Set GDAL's R-tree and feature-count triggers aside while the R-tree is built alongside.

        Per row they would call back into Python (the ST_* functions) and update gpkg_ogr_contents;
        finish() puts them back, stores the R-tree and the count."""
        prefixes = (f"{self.rtree}_".lower(), f"trigger_insert_feature_count_{self.layer_name}".lower())
        rows = self.con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for name, sql in rows:
            if name.lower().startswith(prefixes):
                self._suspended.setdefault(name, sql)
                self.con.execute(f"DROP TRIGGER {quote(name)}")

    def _restore_triggers(self):
        existing = {row[0] for row in self.con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        for name, sql in self._suspended.items():
            if name not in existing:
                self.con.execute(sql)
        self.con.execute(f"UPDATE gpkg_ogr_contents SET feature_count = (SELECT count(*) FROM {quote(self.layer_name)})"
                         " WHERE lower(table_name) = lower(?)", (self.layer_name,))
        self._suspended = {}

    def open(self):
        """Open an existing layer written earlier, to append to it."""
        ds = _check(ogr.Open(self.path, 0), f"cannot open {self.path}")
        layer = _check(ds.GetLayerByName(self.layer_name), f"no layer {self.layer_name} in {self.path}")
        defn = layer.GetLayerDefn()
        self.with_z = ogr.GT_HasZ(layer.GetGeomType()) != 0
        self.columns = {}
        for i in range(defn.GetFieldCount()):
            field = defn.GetFieldDefn(i)
            if field.GetName() != ID_COLUMN:
                self.columns[field.GetName()] = kind_of_ogr_field(field)
        try:
            self.aliases = json.loads(layer.GetMetadataItem(ALIASES_KEY) or "{}")
        except ValueError:
            self.aliases = {}
        has_id = defn.GetFieldIndex(ID_COLUMN) >= 0
        defn = layer = None
        ds = None  # noqa: F841 - closes the file
        if not has_id:
            self._ogr_layer_op(lambda lyr: _check(lyr.CreateField(ogr.FieldDefn(ID_COLUMN, ogr.OFTString)),
                                                  f"cannot add the field {ID_COLUMN}"))
        self._connect()
        if not self._has_unique_id():
            self.con.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {quote(self._unique_index_name())} "
                             f"ON {quote(self.layer_name)} ({quote(ID_COLUMN)})")
        return self

    def _unique_index_name(self):
        return f"idx_{self.layer_name}_{ID_COLUMN}_unique"

    def _has_unique_id(self):
        names = [row[0] for row in self.con.execute("SELECT name FROM pragma_index_list(?) WHERE \"unique\" = 1",
                                                    (self.layer_name,)).fetchall()]
        for name in names:
            cols = [row[2] for row in self.con.execute(f"PRAGMA index_info({quote(name)})").fetchall()]
            if cols == [ID_COLUMN]:
                return True
        return False

    def _connect(self):
        # isolation_level=None: transactions are explicit (begin/commit) so schema changes can go in between.
        self.con = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        self.con.execute("PRAGMA synchronous = NORMAL")
        # The GeoPackage R-tree triggers (present once the spatial index exists) call these.
        register_gpkg_functions(self.con)

    # -- rows ------------------------------------------------------------------------------------
    def begin(self):
        """Start a write transaction."""
        if not self.con.in_transaction:
            self.con.execute("BEGIN")

    def commit(self):
        """Commit the write transaction."""
        if self.con is not None and self.con.in_transaction:
            self.con.execute("COMMIT")

    def rollback(self):
        """Drop the rows written since begin()."""
        if self.con is not None and self.con.in_transaction:
            self.con.execute("ROLLBACK")

    def insert(self, columns, rows, coords=None, first_fid=None):
        """Insert rows (geom blob, record_id, *values); records whose id is already there are skipped.

        With first_fid (a new layer), rows get the fids first_fid, first_fid+1, … (a skipped record leaves its
        fid unused) and their points (coords, aligned with rows) go to the R-tree builder.
        Returns the number of rows inserted."""
        table, fid = quote(self.layer_name), quote(FID_COLUMN)
        names = ([fid] if first_fid is not None else []) + [quote(GEOM_COLUMN), quote(ID_COLUMN)]
        names += [quote(c) for c in columns]
        sql = f"INSERT OR IGNORE INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        if first_fid is None:
            # rowcount counts the rows this statement inserted (not the ones the GeoPackage triggers touch).
            return max(0, self.con.executemany(sql, rows).rowcount)
        count = len(coords)
        fids = range(first_fid, first_fid + count)
        inserted = max(0, self.con.executemany(sql, ((f,) + row for f, row in zip(fids, rows))).rowcount)
        if self.rtree_builder is not None:
            if inserted != count:  # a duplicate was skipped: index only the rows that are there
                present = {r[0] for r in self.con.execute(f"SELECT {fid} FROM {table} WHERE {fid} BETWEEN ? AND ?",
                                                          (first_fid, first_fid + count - 1))}
                fids = [f if f in present else None for f in fids]
            self.rtree_builder.add(fids, coords)
        return inserted

    def count(self):
        """Number of rows in the layer."""
        return self.con.execute(f"SELECT count(*) FROM {quote(self.layer_name)}").fetchone()[0]

    def max_fid(self):
        """The highest feature id so far (0 when empty)."""
        return self.con.execute(f"SELECT coalesce(max({quote(FID_COLUMN)}), 0) FROM "
                                f"{quote(self.layer_name)}").fetchone()[0]

    def max_text(self, column):
        """Largest non-null text value of a column (canonical timestamps sort in time)."""
        if column not in self.columns:
            return None
        row = self.con.execute(f"SELECT max({quote(column)}) FROM {quote(self.layer_name)} "
                               f"WHERE typeof({quote(column)}) = 'text'").fetchone()
        return row[0] if row else None

    # -- schema changes (rare: a property seen late, a value that does not fit) ------------------------
    def add_field(self, name, kind, alias=None):
        """Add a property column at the end."""
        if alias:
            self.aliases[name] = alias

        def add(lyr):
            _check(lyr.CreateField(_ogr_field(name, kind, alias)), f"cannot add the field {name}")
            if alias:
                lyr.SetMetadataItem(ALIASES_KEY, json.dumps(self.aliases, ensure_ascii=False))

        self._ogr_layer_op(add)
        self.columns[name] = kind

    def widen_field(self, name, new_kind):
        """Change a column's kind; existing values are converted exactly (numbers to text as their JSON)."""
        old_kind = self.columns[name]
        if old_kind == new_kind:
            return
        to_text = new_kind == mt.STRING and old_kind in (mt.BOOL, mt.INT, mt.INT64, mt.DOUBLE, mt.DATETIME)
        table, col, fid = quote(self.layer_name), quote(name), quote(FID_COLUMN)
        if to_text:
            # Keep the exact stored values aside (a helper table, as OGR reopens the file): the table rebuild
            # below converts with SQLite's own rules, which would turn true into "1" and round doubles.
            self.commit()
            self.con.execute(f"DROP TABLE IF EXISTS {WIDEN_TABLE}")
            self.con.execute(f"CREATE TABLE {WIDEN_TABLE} (fid INTEGER PRIMARY KEY, v)")
            self.con.execute(f"INSERT INTO {WIDEN_TABLE} SELECT {fid}, {col} FROM {table} WHERE {col} IS NOT NULL")

        def alter(lyr):
            defn = lyr.GetLayerDefn()
            index = defn.GetFieldIndex(name)
            _check(lyr.AlterFieldDefn(index, _ogr_field(name, new_kind), ogr.ALTER_TYPE_FLAG),
                   f"cannot change the type of the field {name}")

        self._ogr_layer_op(alter)
        if to_text:
            in_tx = self.con.in_transaction
            self.commit()
            self.con.create_function("mapbridge_as_text", 1, lambda v: mt.stored_as_text(old_kind, v),
                                     deterministic=True)
            self.begin()
            kept = WIDEN_TABLE  # not aliased: an alias could have the layer's own name
            self.con.execute(f"UPDATE {table} SET {col} = (SELECT mapbridge_as_text({kept}.v) FROM {kept} "
                             f"WHERE {kept}.fid = {table}.{fid}) WHERE {col} IS NOT NULL")
            self.con.execute(f"DROP TABLE {WIDEN_TABLE}")
            self.commit()
            if in_tx:
                self.begin()
        self.columns[name] = new_kind

    def upgrade_to_z(self):
        """Make the layer PointZ: declare it so and give the points written so far a NaN altitude."""
        if self.with_z:
            return
        self.commit()
        self.con.create_function("mapbridge_to_z", 1, blob_to_z, deterministic=True)
        self.begin()
        self.con.execute("UPDATE gpkg_geometry_columns SET z = 1 WHERE lower(table_name) = lower(?)",
                         (self.layer_name,))
        self.con.execute(f"UPDATE {quote(self.layer_name)} SET {quote(GEOM_COLUMN)} = "
                         f"mapbridge_to_z({quote(GEOM_COLUMN)}) WHERE {quote(GEOM_COLUMN)} IS NOT NULL")
        self.commit()
        self.with_z = True

    def _ogr_layer_op(self, operation):
        """Run a schema change through OGR, with our connection closed meanwhile (it would keep a stale schema)."""
        connected = self.con is not None
        in_tx = connected and self.con.in_transaction
        if connected and self._suspended:
            self.begin()
            self._restore_triggers()  # OGR must see the layer whole; set aside again below
        if connected:
            self.commit()
            self.con.close()
            self.con = None
        ds = _check(ogr.Open(self.path, 1), f"cannot open {self.path} for writing")
        try:
            operation(ds.GetLayerByName(self.layer_name))
        finally:
            ds = None  # noqa: F841
        if connected:
            self._connect()
            if self.rtree_builder is not None:
                self._suspend_triggers()
            if in_tx:
                self.begin()

    # -- end ---------------------------------------------------------------------------------------
    def finish(self, spatial_index=True):
        """Commit, store the R-tree built alongside (else let OGR build it), and the extent."""
        rebuild = False
        if self._suspended:
            self.begin()
            self._restore_triggers()
        self.commit()
        self.close(keep_builder=True)
        if self.rtree_builder is not None:
            rebuild = not self.rtree_builder.finish_into(self.path, self.rtree)
            self.rtree_builder.close()
            self.rtree_builder = None
        ds = _check(ogr.Open(self.path, 1), f"cannot open {self.path} for writing")
        try:
            name = self._sql_text(self.layer_name)
            if rebuild:
                _exec(ds, f"SELECT DisableSpatialIndex('{name}', '{GEOM_COLUMN}')")
            if spatial_index and not _exec(ds, f"SELECT HasSpatialIndex('{name}', '{GEOM_COLUMN}')"):
                _exec(ds, f"SELECT CreateSpatialIndex('{name}', '{GEOM_COLUMN}')")
            _exec(ds, f"RECOMPUTE EXTENT ON {self.layer_name}")
        finally:
            ds = None  # noqa: F841

    @staticmethod
    def _sql_text(text):
        return text.replace("'", "''")

    def delete_after(self, fid):
        """Delete the rows with a feature id above `fid` (undo an append that committed part-way)."""
        self.rollback()
        self.begin()
        self.con.execute(f"DELETE FROM {quote(self.layer_name)} WHERE {quote(FID_COLUMN)} > ?", (fid,))
        self.commit()

    def close(self, keep_builder=False):
        """Close the sqlite3 connection (uncommitted rows are dropped) and, unless kept, the R-tree builder."""
        if self.rtree_builder is not None and not keep_builder:
            self.rtree_builder.close()
            self.rtree_builder = None
        if self.con is not None:
            try:
                if self.con.in_transaction:
                    self.con.execute("ROLLBACK")
            finally:
                self.con.close()
                self.con = None

