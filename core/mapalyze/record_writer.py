"""Pages of Mapalyze records into a GeoPackage layer: typed fields inferred across all records, streamed.

Typing while streaming: the first page fixes the initial schema; every later value is checked against its
field's kind as it is converted, and a value that does not fit exactly widens the field (int -> double,
anything incompatible -> string, string list -> JSON) with the rows already written converted exactly.
A property seen for the first time adds a field. So the output is typed from all records, nothing is held
in memory beyond the pages in flight, and no value is ever rounded or truncated to fit an early guess.
"""

from __future__ import annotations

from collections import Counter

from . import field_kinds as mt
from .gpkg_layer import FID_COLUMN, GEOM_COLUMN, ID_COLUMN, GpkgLayer
from .gpkg_ogr import GpkgError

# SQLite's default SQLITE_MAX_COLUMN: no GeoPackage table has more columns (fid, geom and record_id included).
MAX_COLUMNS = 2000

# Properties whose latest value is the layer's "newest" timestamp (the first one present wins).
TIMESTAMP_KEYS = ("captured_at", "created_at", "updated_at")
RESERVED = {FID_COLUMN.lower(), GEOM_COLUMN.lower(), ID_COLUMN.lower()}
_NUMBER_TYPES = (int, float)


def split_record(item):
    """(record id or None, coordinates or None, properties dict) of a GeoJSON Feature or a plain record."""
    if not isinstance(item, dict):
        return None, None, {}
    props = item.get("properties")
    if isinstance(props, dict) or item.get("type") == "Feature":
        props = props if isinstance(props, dict) else {}
        geometry = item.get("geometry")
        coords = geometry.get("coordinates") if isinstance(geometry, dict) and geometry.get("type") == "Point" \
            else None
    else:
        # Assumption (format=json, undocumented): {id, form_id, coordinates, captured_at, data: {...}}.
        props = {k: v for k, v in item.items() if k not in ("id", "coordinates", "geometry", "data", "type")}
        data = item.get("data")
        if isinstance(data, dict):
            props.update(data)
        coords = item.get("coordinates")
        geometry = item.get("geometry")
        if coords is None and isinstance(geometry, dict) and geometry.get("type") == "Point":
            coords = geometry.get("coordinates")
    rec_id = item.get("id")
    if rec_id is None:
        rec_id = props.get("id", props.get("record_id"))
    return (None if rec_id is None else str(rec_id)), coords, props


def _point(coords):
    """[x, y] or [x, y, z] of valid GeoJSON coordinates (an altitude that is not a number is dropped), else None."""
    if not (type(coords) is list and len(coords) >= 2 and type(coords[0]) in _NUMBER_TYPES
            and type(coords[1]) in _NUMBER_TYPES):
        return None
    if len(coords) == 2 or (len(coords) == 3 and type(coords[2]) in _NUMBER_TYPES):
        return coords
    return coords[:3] if type(coords[2]) in _NUMBER_TYPES else coords[:2]


class ColumnNames:
    """Property name -> column name: unique without regard to case, never fid/geom/record_id, never empty."""

    def __init__(self, existing=()):
        self.by_key = {}
        self.taken = {name.lower() for name in existing} | RESERVED

    def column(self, key):
        """The column of a property (assigned on first sight)."""
        name = self.by_key.get(key)
        if name is None:
            base = key.strip() if isinstance(key, str) and key.strip() else "field"
            name, n = base, 1
            while name.lower() in self.taken:
                n += 1
                name = f"{base}_{n}"
            self.taken.add(name.lower())
            self.by_key[key] = name
        return name


class RecordWriter:
    """Writes pages of records to a GeoPackage layer (new, or an existing one to append to)."""

    def __init__(self, path, layer_name, append=False):
        self.layer = GpkgLayer(path, layer_name)
        self.append = append
        self.names = None
        self.inserted = 0
        self.received = 0
        self.without_id = 0
        self.without_geometry = 0
        self.newest = None
        self.form_counts = Counter()   # records written per form id
        self.widened = []
        self.start_fid = 0
        if append:
            self.layer.open()
            self.names = ColumnNames()
            for column in self.layer.columns:
                self.names.taken.add(column.lower())
                self.names.by_key[self.layer.aliases.get(column, column)] = column
            self.newest = self._stored_newest()
            self.start_fid = self.layer.max_fid()

    @property
    def started(self):
        """True once the layer exists."""
        return self.layer.ds is not None

    def _stored_newest(self):
        for key in TIMESTAMP_KEYS:
            if self.layer.columns.get(key) == mt.DATETIME:
                return self.layer.max_text(key)
        return None

    def add_page(self, items):
        """Write one page of records; returns the number of records inserted (duplicates are skipped)."""
        ids, points, props_list = [], [], []
        for item in items:
            if type(item) is dict and type(item.get("properties")) is dict and item.get("id") is not None:
                geometry = item.get("geometry")
                coords = geometry.get("coordinates") if type(geometry) is dict else None
                props = item["properties"]
                rec_id = item["id"]
                if type(rec_id) is not str:
                    rec_id = str(rec_id)
                if type(geometry) is dict and geometry.get("type") != "Point":
                    coords = None
            else:
                rec_id, coords, props = split_record(item)
                if rec_id is None:
                    self.without_id += 1
            point = _point(coords)
            if point is None:
                self.without_geometry += 1
            ids.append(rec_id)
            points.append(point)
            props_list.append(props)
        self.received += len(ids)
        if not ids:
            if not self.started:
                self._start({}, [], False)
            return 0
        has_z = any(p is not None and len(p) > 2 for p in points)
        if not self.started:
            self._start_from_page(props_list, has_z)
        elif has_z and not self.layer.with_z:
            self.layer.upgrade_to_z()
        groups = self._groups(props_list)
        self._add_new_fields(groups)
        converted = self._convert(groups)
        inserted = 0
        for keys, (indexes, columns) in converted.items():
            inserted += self.layer.insert([self.names.by_key[k] for k in keys], [ids[i] for i in indexes],
                                          [points[i] for i in indexes], columns)
        self.inserted += inserted
        return inserted

    # -- schema ----------------------------------------------------------------------------------
    def _start_from_page(self, props_list, has_z):
        order, kinds = [], {}
        for props in props_list:
            for key, value in props.items():
                if key not in kinds:
                    order.append(key)
                    kinds[key] = mt.NONE
                if value is not None and kinds[key] != mt.STRING:
                    kinds[key] = mt.join(kinds[key], mt.kind_of(value))
        self._start(kinds, order, has_z)

    def _check_width(self, properties):
        """GpkgError before a table would need more columns than SQLite allows (checked up front: fast and clear)."""
        if properties + len(RESERVED) > MAX_COLUMNS:
            raise GpkgError(f"too many columns: {properties} properties need {properties + len(RESERVED)} columns, "
                            f"more than the {MAX_COLUMNS} of a GeoPackage table")

    def _start(self, kinds, order, has_z):
        self._check_width(len(order))
        self.names = ColumnNames()
        fields = [(self.names.column(key), kinds[key]) for key in order]
        aliases = {self.names.by_key[key]: key for key in order if self.names.by_key[key] != key}
        self.layer.create(fields, has_z, aliases)

    def _groups(self, props_list):
        """Records grouped by their tuple of property keys: {keys: (record indexes, value tuples)}."""
        groups = {}
        for i, props in enumerate(props_list):
            keys = tuple(props)
            group = groups.get(keys)
            if group is None:
                group = groups[keys] = ([], [])
            group[0].append(i)
            group[1].append(tuple(props.values()))
        return groups

    def _add_new_fields(self, groups):
        new = {}
        for keys, (_, rows) in groups.items():
            for pos, key in enumerate(keys):
                if key in self.names.by_key and self.names.by_key[key] in self.layer.columns:
                    continue
                kind = new.get(key, mt.NONE)
                new[key] = mt.kind_of_column((row[pos] for row in rows), kind)
        if new:
            self._check_width(len(self.layer.columns) + len(new))
        for key, kind in new.items():
            column = self.names.column(key)
            self.layer.add_field(column, kind, key if column != key else None)

    def _convert(self, groups):
        """Columns converted for storage, widening fields until every value of the page fits."""
        while True:
            out = {}
            try:
                for keys, (indexes, rows) in groups.items():
                    columns = list(zip(*rows)) if rows and keys else []
                    converted = []
                    for key, column in zip(keys, columns):
                        name = self.names.by_key[key]
                        converted.append(self._fit(name, column))
                        if key in TIMESTAMP_KEYS or key == "form_id":
                            self._note(key, name, converted[-1])
                    out[keys] = (indexes, converted)
                return out
            except mt.Misfit as misfit:
                self._widen(misfit.args[0], groups)

    def _fit(self, name, column):
        try:
            return mt.convert_column(self.layer.columns[name], column)
        except mt.Misfit:
            raise mt.Misfit(name) from None

    def _widen(self, name, groups):
        """Widen a field to the join of its kind and every value of the page."""
        current = self.layer.columns[name]
        kind = current
        for keys, (_, rows) in groups.items():
            for pos, key in enumerate(keys):
                if self.names.by_key.get(key) == name:
                    kind = mt.kind_of_column((row[pos] for row in rows), kind)
        if kind == current or (kind == mt.DOUBLE and current == mt.INT64 and self.layer.beyond_exact_double(name)):
            kind = mt.STRING  # e.g. a huge integer and a double: only text keeps both exactly
        self.widened.append((name, current, kind))
        self.layer.widen_field(name, kind)

    def _note(self, key, name, values):
        """Track the newest timestamp and the form ids."""
        if key == "form_id":
            self.form_counts.update(v for v in values if type(v) is str)
        elif self.layer.columns.get(name) == mt.DATETIME and key == self._timestamp_key():
            present = [v for v in values if v is not None]
            if present:
                top = max(present, key=mt.timestamp_sort_key)
                if self.newest is None or mt.timestamp_sort_key(top) > mt.timestamp_sort_key(self.newest):
                    self.newest = top

    def _timestamp_key(self):
        for key in TIMESTAMP_KEYS:
            if key in self.names.by_key:
                return key
        return None

    # -- end ---------------------------------------------------------------------------------------
    def count(self):
        """Rows in the layer."""
        return self.layer.count()

    def finish(self):
        """Commit and close (GDAL writes the spatial index, extent and count)."""
        self.layer.finish()

    def abort(self):
        """Drop the rows of this run (an append commits every BATCH_ROWS rows and at schema changes) and close."""
        try:
            if self.append and self.started:
                self.layer.delete_after(self.start_fid)
        finally:
            self.layer.close()

    def form_ids_by_size(self):
        """The form ids seen, the form with the most records first (ties by id)."""
        return [form_id for form_id, _ in sorted(self.form_counts.items(), key=lambda item: (-item[1], item[0]))]

    def fields(self):
        """[(column, kind)] of the layer."""
        return list(self.layer.columns.items())
