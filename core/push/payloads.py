"""One feature → one request item per service (Mapiry location, Mapsemble GeoJSON Feature, Mapalyze record)."""

from __future__ import annotations

from qgis.PyQt.QtCore import QDate

from ...api.errors import MapbridgeError
from ..qgis_compat import FIELD_INT, FIELD_LONG
from .choices import METHOD_CREATE, METHOD_DELETE, METHOD_UPDATE, MODE_POINT_ON_SURFACE
from .geometry import SkipFeature, WgsConverter
from .values import BinaryValue, attributes_by_index, json_value, sendable_field_names, text_value

ROW_ID_NAMES = ("fid", "ogc_fid")   # a GeoPackage's (OGR's) row number: the file's, not the data's
RECORD_ID_FIELD = "record_id"       # a Mapalyze layer's record id (core/mapalyze): names a record, is not its data


def row_id_fields(fields):
    """Names of the integer fields that only number a file's rows (a GeoPackage's fid)."""
    return [f.name() for f in fields if f.name().lower() in ROW_ID_NAMES and f.type() in (FIELD_INT, FIELD_LONG)]


def key_field_names(layer):
    """Names of the layer's primary key fields as its data provider defines them (a GeoPackage's fid column, whatever
    it is called), the same fields a sync leaves out; [] for a layer without one (or without a provider)."""
    provider = layer.dataProvider() if layer is not None else None
    if provider is None:
        return []
    provider_fields = provider.fields()
    return [provider_fields.at(i).name() for i in provider.pkAttributeIndexes() if 0 <= i < provider_fields.count()]


def default_field_names(fields, service, key_fields=()):
    """What a push sends when no fields are chosen: every sendable field but the file's row id (by name, and the
    data provider's primary key `key_fields`, see key_field_names), and, into Mapalyze, but a Mapalyze record id (it
    says which record a feature is, see MapalyzePayloads)."""
    left_out = set(row_id_fields(fields)) | set(key_fields or ())
    if service == "mapalyze":
        left_out.add(RECORD_ID_FIELD)
    return [name for name in sendable_field_names(fields) if name not in left_out]



def _field_index(fields, name, what):
    """Index of a field given by name; a clear error when it is not in the layer."""
    if not name:
        return -1
    index = fields.lookupField(name)
    if index < 0:
        raise MapbridgeError(f"the {what} '{name}' is not a field of the input layer",
                             hint="Choose a field of the layer you push")
    return index


def _text(value, local_is_utc):
    """A text attribute exactly as it is (byte for byte, spaces included); other values as their text."""
    return value if type(value) is str else text_value(value, local_is_utc)


class MapiryPayloads:
    """{"name", "lat", "lng"[, "description"]} per feature; NULL or empty names are skipped (see README).

    Texts are sent byte for byte (not trimmed); whether a name is empty is decided on its trimmed form.
    """

    local_is_utc = False        # see values.py: set when QGIS dropped the zone of the layer's date-times

    def __init__(self, fields, crs, transform_context, name_field, description_field=None,
                 geometry_mode=MODE_POINT_ON_SURFACE):
        self.name_index = _field_index(fields, name_field, "name field")
        self.description_index = _field_index(fields, description_field, "description field")
        self.name_field = name_field
        self.geometry_mode = geometry_mode
        self.converter = WgsConverter(crs, transform_context)

    def __call__(self, feature):
        # Choice: a feature without a name is skipped (a made-up name would clutter the map); the report says so.
        name = _text(feature.attribute(self.name_index), self.local_is_utc)
        if not name.strip():
            raise SkipFeature(f"no name (field '{self.name_field}' is NULL or empty)")
        lng, lat = self.converter.point(feature.geometry(), self.geometry_mode)[:2]
        location = {"name": name, "lat": lat, "lng": lng}
        if self.description_index >= 0:
            description = _text(feature.attribute(self.description_index), self.local_is_utc)
            if description.strip():
                location["description"] = description
        return location


class MapsemblePayloads:
    """GeoJSON Features with label, attributes by field name (= slug) and the remote id, per METHOD."""

    local_is_utc = False

    def __init__(self, fields, crs, transform_context, method=METHOD_CREATE, label_field=None, field_names=None,
                 remote_id_field=None, remote_key=None, key_fields=()):
        _field_index(fields, label_field, "label field")
        _field_index(fields, remote_id_field, "remote id field")
        for name in field_names or []:
            _field_index(fields, name, "field")
        self.method = method
        self.label_field = label_field or None
        self.remote_id_field = remote_id_field or None
        # On a map with a remoteField the id goes in that property; otherwise it is taken as the Mapsemble id.
        self.remote_key = remote_key or None
        self.names = sendable_field_names(fields, field_names) if field_names else \
            default_field_names(fields, "mapsemble", key_fields)
        self.columns = [(fields.lookupField(name), name) for name in self.names]
        self.label_index = fields.lookupField(self.label_field) if self.label_field else -1
        self.remote_index = fields.lookupField(self.remote_id_field) if self.remote_id_field else -1
        self.converter = WgsConverter(crs, transform_context)

    def identifier(self, feature, values=None):
        """The remote id value of a feature (JSON value), or None."""
        if self.remote_index < 0:
            return None
        try:
            value = json_value((values or feature.attributes())[self.remote_index], self.local_is_utc)
        except BinaryValue:
            return None
        return None if value in (None, "") else value

    def __call__(self, feature):
        values = feature.attributes()
        ident = self.identifier(feature, values) if self.remote_index >= 0 else None
        if ident is None and self.method != METHOD_CREATE:
            raise SkipFeature(f"no remote id (field '{self.remote_id_field}' is NULL or empty)")
        if self.method == METHOD_DELETE:
            out = {"type": "Feature", "geometry": None, "properties": {}}
        else:
            geometry = feature.geometry()
            if self.method == METHOD_UPDATE and (geometry.isNull() or geometry.isEmpty()):
                geojson = None        # PATCH without geometry changes only the properties
            else:
                geojson = self.converter.geojson(geometry)
            properties = attributes_by_index(values, self.columns, self.local_is_utc)
            if self.label_index >= 0:
                label = _text(values[self.label_index], self.local_is_utc)
                properties["label"] = label if label.strip() else None
            out = {"type": "Feature", "geometry": geojson, "properties": properties}
        if ident is not None:
            if self.remote_key:
                out["properties"][self.remote_key] = ident
            else:
                out["id"] = ident
                if self.method == METHOD_CREATE:
                    # Upsert cannot be confirmed on this map: the id also goes in its own property, where a listing
                    # of the map finds it again (and a remoteField of that name, if the map has one, upserts).
                    out["properties"].setdefault(self.remote_id_field, ident)
        return out


class MapalyzePayloads:
    """{"coordinates", "data"[, "captured_at"][, "record_id"]} per feature: a point (or a point on surface), its
    fields, and the Mapalyze record it came from when the layer has a record_id (never sent as data by default:
    the push recognises such records instead of creating them again)."""

    local_is_utc = False

    def __init__(self, fields, crs, transform_context, field_names=None, captured_at_field=None, key_fields=()):
        for name in field_names or []:
            _field_index(fields, name, "field")
        self.captured_index = _field_index(fields, captured_at_field, "captured-at field")
        self.captured_at_field = captured_at_field or None
        self.record_index = fields.lookupField(RECORD_ID_FIELD)
        names = sendable_field_names(fields, field_names) if field_names else \
            default_field_names(fields, "mapalyze", key_fields)
        if not field_names and self.captured_at_field:
            names = [n for n in names if n != self.captured_at_field]
        self.names = names
        self.columns = [(fields.lookupField(name), name) for name in names]
        self.converter = WgsConverter(crs, transform_context)

    def captured_at(self, values):
        """ISO 8601 capture time from the captured-at field, or None (the service then uses now)."""
        if self.captured_index < 0:
            return None
        raw = values[self.captured_index]
        try:
            value = json_value(raw, self.local_is_utc)
        except BinaryValue:
            return None
        if isinstance(raw, QDate) and value:
            value += "T00:00:00Z"       # a date alone: its start, in UTC (never a time without a zone)
        if value in (None, ""):
            return None
        return str(value).strip() or None

    def __call__(self, feature):
        coordinates = self.converter.point(feature.geometry(), MODE_POINT_ON_SURFACE, keep_z=True)
        values = feature.attributes()
        record = {"coordinates": coordinates, "data": attributes_by_index(values, self.columns, self.local_is_utc)}
        captured = self.captured_at(values)
        if captured:
            record["captured_at"] = captured
        if self.record_index >= 0:
            rec_id = text_value(values[self.record_index])
            if rec_id:
                record["record_id"] = rec_id
        return record
