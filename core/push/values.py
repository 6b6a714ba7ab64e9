"""Attribute values to JSON: ISO 8601 dates, null for NULL, numbers as numbers, binary left out."""

from __future__ import annotations

import datetime
import decimal
import math
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


def iso_datetime(value):
    """A QDateTime as ISO 8601; it keeps its own zone (UTC "Z", an offset, or none for local time)."""
    fmt = Qt.DateFormat.ISODateWithMs if value.time().msec() else Qt.DateFormat.ISODate
    return value.toString(fmt)


_PLAIN = (str, int, bool)


def json_value(value):
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
        return iso_datetime(value) if value.isValid() else None
    if isinstance(value, QDate):
        return value.toString(Qt.DateFormat.ISODate) if value.isValid() else None
    if isinstance(value, QTime):
        if not value.isValid():
            return None
        return value.toString(Qt.DateFormat.ISODateWithMs if value.msec() else Qt.DateFormat.ISODate)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (QByteArray, bytes, bytearray, memoryview)):
        raise BinaryValue()
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            try:
                out.append(json_value(item))
            except BinaryValue:
                continue
        return out
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            try:
                out[str(key)] = json_value(item)
            except BinaryValue:
                continue
        return out
    return str(value)


def attributes_json(feature, names):
    """{name: JSON value} of a feature's attributes; binary values are left out."""
    return attributes_by_index(feature.attributes(), [(feature.fields().lookupField(n), n) for n in names])


def attributes_by_index(values, columns):
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
            out[name] = json_value(value)
        except BinaryValue:
            continue
    return out


def text_value(value):
    """A value as trimmed text, or '' for NULL/empty."""
    try:
        value = json_value(value)
    except BinaryValue:
        return ""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()
