"""A GeoPackage point layer written through OGR: GDAL does every format detail, we only call its API.

One datasource per load, owned by the thread that writes (OGR objects are not shared between threads).
Rows go in with ogr.Feature / CreateFeature inside transactions of BATCH_ROWS rows, one Feature object reused.
The spatial index is GDAL's (SPATIAL_INDEX=YES: GDAL builds it when the layer is closed, or alongside),
and so are the feature count, the extent and the metadata tables. record_id is UNIQUE: a record already in
the layer makes CreateFeature fail with SQLite's constraint message, which is how duplicates are skipped.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

from osgeo import gdal, ogr, osr

from . import field_kinds as mt
from . import gpkg_widen as widen
from .gpkg_ogr import GpkgError, call, flush_dataset, kind_of_ogr_field, literal, ogr_field, quote, sql, succeeded

SRS_EPSG = 4326
GEOM_COLUMN = "geom"
FID_COLUMN = "fid"
ID_COLUMN = "record_id"
ALIASES_KEY = "MAPBRIDGE_PROPERTY_NAMES"  # layer metadata: {column: property name} for renamed properties
WATERMARK_NOTE = "MAPBRIDGE_WATERMARK"    # layer metadata: the server's clock at the last load/refresh/sync
SINCE_NOTE = "MAPBRIDGE_SINCE"            # layer metadata: the `since` filter the layer was loaded with
BATCH_ROWS = 10_000  # rows per transaction
Z_CHUNK_ROWS = 2_000  # features held at once while points get their Z
MAX_EXACT_DOUBLE = 2 ** 53
_NAN = float("nan")

_SET_INT = ogr.Feature.SetFieldInteger64
_SET_TEXT = ogr.Feature.SetFieldString  # text, JSON, and ISO 8601 timestamps (OGR parses them, time zone kept)
_SET_NULL = ogr.Feature.SetFieldNull
# Public Feature setters; SetField takes the doubles (GDAL 3.6's Python has no SetFieldDouble).
_SETTERS = {mt.BOOL: _SET_INT, mt.INT: _SET_INT, mt.INT64: _SET_INT, mt.DOUBLE: ogr.Feature.SetField}


class GpkgLayer:
    """One point layer of a GeoPackage, open for writing through OGR."""

    def __init__(self, path, layer_name):
        self.path = path
        self.layer_name = layer_name
        self.ds = None
        self.lyr = None
        self.with_z = False
        self.columns = {}  # column name -> kind (record_id excluded)
        self.aliases = {}  # column name -> property name, when they differ
        self.index = {}    # column name -> OGR field index (record_id included)
        self._feature = None  # reused by insert(); dropped whenever the schema changes
        self._pending = 0     # rows in the open transaction
        self._in_tx = False
        self._quiet = False

    # -- creating and opening --------------------------------------------------------------------
    def _quiet_errors(self):
        # Failures are read from return codes and GetLastErrorMsg (this thread's handler only).
        if not self._quiet:
            gdal.PushErrorHandler("CPLQuietErrorHandler")
            self._quiet = True

    def create(self, fields, with_z, aliases=None):
        """Create the file and the empty layer (with GDAL's spatial index)."""
        with self._closing_on_error():
            return self._create(fields, with_z, aliases or {})

    def open(self):
        """Open a layer written earlier, to append to it."""
        with self._closing_on_error():
            return self._open()

    @contextmanager
    def _closing_on_error(self):
        self._quiet_errors()
        try:
            yield
        except BaseException:
            self.close()  # also gives this thread its GDAL error handler back
            raise

    def _create(self, fields, with_z, aliases):
        self.ds = call(f"cannot create {self.path}", ogr.GetDriverByName("GPKG").CreateDataSource, self.path)
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(SRS_EPSG)
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        lyr = call(f"cannot create the layer {self.layer_name}", self.ds.CreateLayer, self.layer_name, srs,
                   ogr.wkbPoint25D if with_z else ogr.wkbPoint,
                   ["SPATIAL_INDEX=YES", f"GEOMETRY_NAME={GEOM_COLUMN}", f"FID={FID_COLUMN}"])
        id_field = ogr.FieldDefn(ID_COLUMN, ogr.OFTString)
        if hasattr(id_field, "SetUnique"):  # GDAL >= 3.2; else a unique index below
            id_field.SetUnique(True)
        call(f"cannot create the field {ID_COLUMN}", lyr.CreateField, id_field)
        for name, kind in fields:
            call(f"cannot create the field {name}", lyr.CreateField, ogr_field(name, kind, aliases.get(name)))
        self.aliases = dict(aliases)
        if self.aliases:
            lyr.SetMetadataItem(ALIASES_KEY, json.dumps(self.aliases, ensure_ascii=False))
        # GDAL creates the table itself lazily, inside the first write transaction; a load rolled back then
        # leaves GDAL failing at close. Creating it now keeps the table outside any transaction.
        call(f"cannot create the layer {self.layer_name}", lyr.SyncToDisk)
        self.lyr = lyr
        self._read_schema()
        self._ensure_unique_id()
        return self

    def _open(self):
        self.ds = call(f"cannot open {self.path} for writing", ogr.Open, self.path, 1)
        self.lyr = call(f"no layer {self.layer_name} in {self.path}", self.ds.GetLayerByName, self.layer_name)
        try:
            self.aliases = json.loads(self.lyr.GetMetadataItem(ALIASES_KEY) or "{}")
        except ValueError:
            self.aliases = {}
        if self.lyr.GetLayerDefn().GetFieldIndex(ID_COLUMN) < 0:
            call(f"cannot add the field {ID_COLUMN}", self.lyr.CreateField, ogr.FieldDefn(ID_COLUMN, ogr.OFTString))
        self._read_schema()
        self._ensure_unique_id()
        return self

    def _read_schema(self):
        defn = self.lyr.GetLayerDefn()
        self.with_z = ogr.GT_HasZ(self.lyr.GetGeomType()) != 0
        self.index, self.columns = {}, {}
        for i in range(defn.GetFieldCount()):
            field = defn.GetFieldDefn(i)
            self.index[field.GetName()] = i
            if field.GetName() != ID_COLUMN:
                self.columns[field.GetName()] = kind_of_ogr_field(field)
        self._feature = None

    def _ensure_unique_id(self):
        field = self.lyr.GetLayerDefn().GetFieldDefn(self.index[ID_COLUMN])
        if not (hasattr(field, "IsUnique") and field.IsUnique()):
            name = quote(f"idx_{self.layer_name}_{ID_COLUMN}_unique")
            sql(self.ds, f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {quote(self.layer_name)} ({quote(ID_COLUMN)})")

    # -- rows ------------------------------------------------------------------------------------
    def begin(self):
        """Start a write transaction unless one is open."""
        if not self._in_tx:
            call("cannot start a transaction", self.ds.StartTransaction)
            self._in_tx = True

    def commit(self):
        """Commit the write transaction."""
        if self.ds is not None and self._in_tx:
            self._in_tx = False
            self._pending = 0
            call(f"cannot write to {self.path}", self.ds.CommitTransaction)

    def rollback(self):
        """Drop the rows written since the last commit."""
        if self.ds is not None and self._in_tx:
            self._in_tx = False
            self._pending = 0
            succeeded(self.ds.RollbackTransaction)

    def insert(self, columns, ids, coords, values):
        """Insert records: ids, coords ([x, y(, z)] or None) and one tuple of values per column, all aligned.

        Records whose id is already in the layer are skipped. Returns the number of rows inserted."""
        self.begin()
        feature = self._feature
        if feature is None:
            feature = self._feature = ogr.Feature(self.lyr.GetLayerDefn())
        fields = [(self.index[c], _SETTERS.get(self.columns[c], _SET_TEXT)) for c in columns]
        used = {i for i, _ in fields}
        for i in range(feature.GetFieldCount()):  # values left by the previous group of records
            if i not in used:
                _SET_NULL(feature, i)
        id_index, create, set_id = self.index[ID_COLUMN], self.lyr.CreateFeature, feature.SetFID
        point, with_z = feature.GetGeometryRef(), self.with_z
        rows = zip(*values) if values else ((),) * len(ids)
        inserted = 0
        for rec_id, xy, row in zip(ids, coords, rows):
            set_id(-1)
            if rec_id is None:
                _SET_NULL(feature, id_index)
            else:
                _SET_TEXT(feature, id_index, rec_id)
            if xy is None:
                if point is not None:
                    feature.SetGeometryDirectly(None)
                    point = None
            else:
                if point is None:
                    feature.SetGeometryDirectly(ogr.Geometry(ogr.wkbPoint25D if with_z else ogr.wkbPoint))
                    point = feature.GetGeometryRef()
                if with_z:  # every point of a PointZ layer has a Z (GeoPackage Req 19): NaN when unknown
                    point.SetPoint(0, xy[0], xy[1], xy[2] if len(xy) > 2 else _NAN)
                else:
                    point.SetPoint_2D(0, xy[0], xy[1])
            for (i, setter), value in zip(fields, row):
                if value is None:
                    _SET_NULL(feature, i)
                else:
                    setter(feature, i, value)
            try:
                failed, message = create(feature), None
            except RuntimeError as exc:  # GDAL exceptions are on (QGIS's Processing turns them on from 3.28)
                failed, message = True, str(exc)
            if failed:
                self._insert_failed(rec_id, message)
            else:
                inserted += 1
        self._pending += inserted
        if self._pending >= BATCH_ROWS:
            self.commit()
        return inserted

    def _insert_failed(self, rec_id, message=None):
        message = message or gdal.GetLastErrorMsg() or ""
        if rec_id is not None and "UNIQUE" in message.upper():
            return  # already in the layer: the duplicate is skipped
        raise GpkgError(f"cannot write the record {rec_id}: {message or 'GDAL reported an error'}")

    def note(self, key):
        """A Mapbridge note kept in the layer's metadata, or None."""
        return self.lyr.GetMetadataItem(key) or None

    def set_note(self, key, value):
        """Keep a note in the layer's metadata (GDAL writes it with the layer)."""
        self.lyr.SetMetadataItem(key, value or "")

    def count(self):
        """Number of rows in the layer."""
        return self.lyr.GetFeatureCount()

    def max_fid(self):
        """The highest feature id so far (0 when empty)."""
        table = quote(self.layer_name)
        return sql(self.ds, f"SELECT coalesce(max({quote(FID_COLUMN)}), 0) FROM {table}") or 0  # nosec B608 - quoted identifiers, no values

    def max_text(self, column):
        """Largest non-null text value of a column (canonical timestamps sort in time)."""
        if column not in self.columns:
            return None
        col = quote(column)
        table = quote(self.layer_name)
        return sql(self.ds, f"SELECT max({col}) FROM {table} WHERE typeof({col}) = 'text'")  # nosec B608 - quoted identifiers, no values

    def beyond_exact_double(self, column):
        """True when an integer column holds a value a double cannot keep exactly."""
        col = quote(column)
        table = quote(self.layer_name)
        return bool(sql(self.ds, f"SELECT count(*) FROM {table} WHERE abs({col}) > {MAX_EXACT_DOUBLE}"))  # nosec B608 - quoted identifiers, no values

    # -- schema changes (rare: a property seen late, a value that does not fit) ------------------------
    def _schema_change(self):
        """Commit, and free the reused Feature first: its values must not outlive the field types they had."""
        self._feature = None
        self.commit()

    def add_field(self, name, kind, alias=None):
        """Add a property column at the end."""
        self._schema_change()
        call(f"cannot add the field {name}", self.lyr.CreateField, ogr_field(name, kind, alias))
        if alias:
            self.aliases[name] = alias
            self.lyr.SetMetadataItem(ALIASES_KEY, json.dumps(self.aliases, ensure_ascii=False))
        self._read_schema()

    def widen_field(self, name, new_kind):
        """Change a column's kind; values already written become exactly their JSON text when it turns to text."""
        old_kind = self.columns[name]
        if old_kind == new_kind:
            return
        self._schema_change()
        to_text = new_kind == mt.STRING and old_kind in widen.TO_TEXT
        if to_text:
            widen.keep_texts(self.ds, self.lyr, FID_COLUMN, name, old_kind)
        call(f"cannot change the type of the field {name}", self.lyr.AlterFieldDefn, self.index[name],
             ogr_field(name, new_kind, self.aliases.get(name)), ogr.ALTER_TYPE_FLAG)
        if to_text:
            widen.put_texts_back(self.ds, self.layer_name, FID_COLUMN, name)
        self._read_schema()

    def upgrade_to_z(self):
        """Make the layer PointZ; the points written so far get a NaN altitude."""
        if self.with_z:
            return
        self._schema_change()
        geom = ogr.GeomFieldDefn(GEOM_COLUMN, ogr.wkbPoint25D)
        if not succeeded(self.lyr.AlterGeomFieldDefn, 0, geom, ogr.ALTER_GEOM_FIELD_DEFN_TYPE_FLAG):
            # GDAL versions that cannot change a GeoPackage geometry type: declare Z in the GeoPackage's own
            # gpkg_geometry_columns (z = 1), then let GDAL read the layer again.
            name = literal(self.layer_name)
            sql(self.ds, f"UPDATE gpkg_geometry_columns SET z = 1 WHERE lower(table_name) = lower({name})")  # nosec B608 - a quoted literal
            self._feature = self.lyr = None
            flush_dataset(self.ds)
            self.ds = None
            self.ds = call(f"cannot open {self.path} for writing", ogr.Open, self.path, 1)
            self.lyr = call(f"no layer {self.layer_name}", self.ds.GetLayerByName, self.layer_name)
        self._read_schema()
        if not self.with_z:
            raise GpkgError(f"cannot make the layer {self.layer_name} PointZ")
        self._points_to_z()

    def _points_to_z(self):
        """Rewrite the 2D points with a NaN Z, by fid ranges (never reading and writing at once)."""
        last = 0
        try:
            while True:
                self.lyr.SetAttributeFilter(f"{quote(FID_COLUMN)} > {last}")
                chunk = []
                for feature in self.lyr:
                    chunk.append(feature)
                    if len(chunk) >= Z_CHUNK_ROWS:
                        break
                if not chunk:
                    return
                self.begin()
                for feature in chunk:
                    point = feature.GetGeometryRef()
                    if point is not None and not point.Is3D():
                        point.SetPoint(0, point.GetX(), point.GetY(), _NAN)
                        call(f"cannot add an altitude to {self.layer_name}", self.lyr.SetFeature, feature)
                self.commit()
                last = chunk[-1].GetFID()
        finally:
            self.lyr.SetAttributeFilter(None)

    # -- end ---------------------------------------------------------------------------------------
    def delete_after(self, fid):
        """Delete the rows with a feature id above `fid` (undo an append that committed part-way)."""
        self.rollback()
        table = quote(self.layer_name)
        sql(self.ds, f"DELETE FROM {table} WHERE {quote(FID_COLUMN)} > {int(fid)}")  # nosec B608 - quoted names, an int

    def finish(self):
        """Commit and close: GDAL writes the spatial index, the extent and the feature count."""
        self.commit()
        self.close(strict=True)

    def close(self, strict=False):
        """Close the datasource (rows not committed are dropped); strict: a closing failure raises GpkgError."""
        self.rollback()
        self._feature = self.lyr = None
        ds, self.ds = self.ds, None
        try:
            flush_dataset(ds, strict)
        finally:
            del ds
            self._end_quiet()

    def _end_quiet(self):
        if self._quiet:
            gdal.PopErrorHandler()
            self._quiet = False

