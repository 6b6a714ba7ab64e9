"""Attribute values to JSON: ISO 8601 dates, null for NULL, numbers as numbers, binary left out.

Date-times keep their instant: UTC with "Z", or the offset they were given with; never a time without a zone (a
service reading it as UTC would be hours off). A date-time in local time is converted to UTC. Where QGIS itself
dropped the zone of a GeoPackage value (GeoPackage date-times are UTC by the standard; QGIS before 3.28 reads them
as local time), `local_is_utc` reads the wall-clock time as the UTC it was stored as.
"""

from __future__ import annotations

import datetime
import decimal
import math
import threading
import uuid
from math import isfinite

from qgis.PyQt.QtCore import QByteArray, QDate, QDateTime, QMetaType, Qt, QTime, QVariant


class BinaryValue(Exception):
    """The value is binary data, which is never sent."""


def _binary_types():
    types = {QMetaType.Type.QByteArray}
    variant_types = getattr(QVariant, "Type", None)   # gone in Qt6
    if variant_types is not None and hasattr(variant_types, "ByteArray"):
        types.add(variant_types.ByteArray)
    return types


BINARY_TYPES = _binary_types()
BINARY_TYPE_NAMES = {"binary", "blob", "bytea", "bytearray", "qbytearray"}


def is_binary_field(field):
    """True for BLOB/binary fields, which pushes leave out."""
    return field.type() in BINARY_TYPES or (field.typeName() or "").lower() in BINARY_TYPE_NAMES


def sendable_field_names(fields, wanted=None):
    """Names of the fields to send: `wanted` (default all) without binary fields, in layer order."""
    wanted_set = set(wanted) if wanted else None
    return [f.name() for f in fields if not is_binary_field(f) and (wanted_set is None or f.name() in wanted_set)]


def iso_datetime(value, local_is_utc=False):
    """A QDateTime as ISO 8601 with its instant: "Z" for UTC (and local time, converted), else its own offset."""
    wall = "yyyy-MM-ddTHH:mm:ss.zzz" if value.time().msec() else "yyyy-MM-ddTHH:mm:ss"
    spec = value.timeSpec()
    if spec == Qt.TimeSpec.UTC:
        return value.toString(wall) + "Z"
    if spec == Qt.TimeSpec.LocalTime:
        return value.toString(wall) + "Z" if local_is_utc else value.toUTC().toString(wall) + "Z"
    offset = value.offsetFromUtc()      # an offset or a named time zone: kept as the offset it has at that time
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return value.toString(wall) + f"{sign}{hours:02d}:{minutes:02d}"


def iso_python_datetime(value, local_is_utc=False):
    """A Python datetime as ISO 8601 with its instant (a naive one is local time, or UTC when local_is_utc)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc) if local_is_utc else \
            value.astimezone().astimezone(datetime.timezone.utc)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


_PLAIN = (str, int, bool)
_probe_lock = threading.Lock()
_DROPS_ZONES = []


def ogr_drops_time_zones():
    """True when this QGIS reads a GeoPackage's UTC date-time ("…Z") as local time (QGIS before 3.28)."""
    with _probe_lock:
        if not _DROPS_ZONES:
            _DROPS_ZONES.append(_probe_ogr_time_zone())
        return _DROPS_ZONES[0]


def _probe_ogr_time_zone():
    from osgeo import ogr, osr
    from qgis.core import QgsVectorLayer

    path = f"/vsimem/mapbridge-tz-{uuid.uuid4().hex}.gpkg"
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    try:
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(4326)
        layer = ds.CreateLayer("t", srs, ogr.wkbPoint)
        layer.CreateField(ogr.FieldDefn("ts", ogr.OFTDateTime))
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("ts", "2020-01-01T12:00:00Z")
        layer.CreateFeature(feature)
        feature = layer = None
        ds = None
        read = QgsVectorLayer(f"{path}|layername=t", "t", "ogr")
        value = next(read.getFeatures(), None)
        value = value.attribute("ts") if value is not None else None
        return isinstance(value, QDateTime) and value.timeSpec() == Qt.TimeSpec.LocalTime
    finally:
        ds = None
        ogr.GetDriverByName("GPKG").DeleteDataSource(path)


def json_value(value, local_is_utc=False):
    """A QGIS attribute value as a JSON-ready Python value; raises BinaryValue for binary data."""
    if value is None:
        return None
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if isinstance(value, QVariant):
        if value.isNull():
            return None
        value = value.value()
        if value is None:
            return None
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, QDateTime):
        return iso_datetime(value, local_is_utc) if value.isValid() else None
    if isinstance(value, QDate):
        return value.toString(Qt.DateFormat.ISODate) if value.isValid() else None
    if isinstance(value, QTime):
        if not value.isValid():
            return None
        return value.toString(Qt.DateFormat.ISODateWithMs if value.msec() else Qt.DateFormat.ISODate)
    if isinstance(value, datetime.datetime):
        return iso_python_datetime(value, local_is_utc)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (QByteArray, bytes, bytearray, memoryview)):
        raise BinaryValue()
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            try:
                out.append(json_value(item, local_is_utc))
            except BinaryValue:
                continue
        return out
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            try:
                out[str(key)] = json_value(item, local_is_utc)
            except BinaryValue:
                continue
        return out
    return str(value)


def attributes_json(feature, names, local_is_utc=False):
    """{name: JSON value} of a feature's attributes; binary values are left out."""
    return attributes_by_index(feature.attributes(), [(feature.fields().lookupField(n), n) for n in names],
                               local_is_utc)


def attributes_by_index(values, columns, local_is_utc=False):
    """{name: JSON value} from an attribute list and (index, name) pairs; binary values are left out."""
    out = {}
    for index, name in columns:
        value = values[index]
        kind = type(value)
        if kind in _PLAIN or value is None:
            out[name] = value
            continue
        if kind is float:
            out[name] = value if isfinite(value) else None
            continue
        try:
            out[name] = json_value(value, local_is_utc)
        except BinaryValue:
            continue
    return out


def text_value(value, local_is_utc=False):
    """A value as trimmed text, or '' for NULL/empty."""
    try:
        value = json_value(value, local_is_utc)
    except BinaryValue:
        return ""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def changed_texts(sent, stored):
    """What the service stored differently from the texts it was sent: "name: 600 characters sent, 255 stored"…

    `sent` and `stored` are dicts; only keys whose sent value is text and that the service echoed are compared.
    """
    notes = []
    if not isinstance(stored, dict):
        return notes
    for key, value in sent.items():
        if type(value) is not str or key not in stored:
            continue
        kept = stored[key]
        if kept == value:
            continue
        if isinstance(kept, str) and value.startswith(kept):
            notes.append(f"{key}: cut from {len(value):,} to {len(kept):,} characters")
        else:
            notes.append(f"{key}: stored as {str(kept)[:40]!r}")
    return notes
