"""Field kinds of Mapalyze properties: inference across records, widening, and exact value conversion."""

from __future__ import annotations

import json
import re
from datetime import date, timezone
from functools import lru_cache

from ..timestamps import parse_iso

# Kinds, from the most specific to the most general. NONE: only nulls seen so far.
NONE = "none"
BOOL = "bool"
INT = "int"          # fits a 32-bit integer
INT64 = "int64"      # fits a 64-bit integer
DOUBLE = "double"
DATETIME = "datetime"
STRING = "string"
STRLIST = "strlist"  # list whose items are all strings (an empty list counts)
JSON = "json"        # object, or list with non-string items: kept as JSON text
KINDS = (NONE, BOOL, INT, INT64, DOUBLE, DATETIME, STRING, STRLIST, JSON)

INT32_MIN, INT32_MAX = -(2 ** 31), 2 ** 31 - 1
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1

# ISO 8601 date and time: optional seconds, fraction and offset; "T" or a space between.
# The common forms, checked fast: GeoPackage's own "YYYY-MM-DDTHH:MM:SS.SSSZ", and the same without fraction.
_FAST_RE = re.compile(r"(\d{4}-\d{2}-\d{2})T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{3})?Z")

_NUMERIC = frozenset({int, float, type(None)})
_JOINS = {
    frozenset({INT, INT64}): INT64,
    frozenset({INT, DOUBLE}): DOUBLE,
    frozenset({INT64, DOUBLE}): DOUBLE,
    frozenset({STRLIST, JSON}): JSON,
}


_ENCODER = json.JSONEncoder(ensure_ascii=False)  # json.dumps(value, ensure_ascii=False) builds one per call


def dumps(value):
    """JSON text of a value as kept in the layer (UTF-8 kept, no ASCII escaping)."""
    return _ENCODER.encode(value)


def join(a, b):
    """The narrowest kind that holds the values of both kinds exactly."""
    if a == b or b == NONE:
        return a
    if a == NONE:
        return b
    return _JOINS.get(frozenset({a, b}), STRING)


@lru_cache(maxsize=4096)
def _valid_date(text):
    """True for an existing calendar date 'YYYY-MM-DD' (cached: dates repeat across records)."""
    try:
        date(int(text[:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return False
    return True


def _fast(text):
    """'ms' / 'no-ms' for the common UTC forms with a valid date, else None."""
    match = _FAST_RE.fullmatch(text)
    if match is None or not _valid_date(match.group(1)):
        return None
    return "ms" if match.group(2) else "no-ms"


def is_timestamp(text):
    """True when a string is an ISO 8601 date-time a DateTime field keeps exactly (millisecond precision)."""
    if _fast(text):
        return True
    parsed = parse_iso(text)
    return parsed is not None and not parsed[1]


def canonical_timestamp(text):
    """The GeoPackage form of a timestamp: UTC "YYYY-MM-DDTHH:MM:SS.SSSZ" (no "Z" when the input had no offset)."""
    fast = _fast(text)
    if fast == "ms":
        return text
    if fast == "no-ms":
        return text[:19] + ".000Z"
    value, _ = parse_iso(text)
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def timestamp_sort_key(canonical):
    """Key ordering canonical timestamps in time (naive ones are taken as UTC)."""
    return canonical[:23]


def display_timestamp(canonical):
    """A canonical timestamp as sent back to the service: ISO 8601, without ".000"."""
    if canonical.endswith(".000Z"):
        return canonical[:-5] + "Z"
    if canonical.endswith(".000") and len(canonical) == 23:
        return canonical[:-4]
    return canonical


def kind_of(value):
    """The kind of one JSON value."""
    kind = type(value)
    if value is None:
        return NONE
    if kind is bool:
        return BOOL
    if kind is int:
        if INT32_MIN <= value <= INT32_MAX:
            return INT
        return INT64 if INT64_MIN <= value <= INT64_MAX else STRING
    if kind is float:
        return DOUBLE if value == value and value not in (float("inf"), float("-inf")) else STRING
    if kind is str:
        return DATETIME if _looks_like_timestamp(value) else STRING
    if kind is list:
        return STRLIST if all(type(item) is str for item in value) else JSON
    if kind is dict:
        return JSON
    return STRING


def _looks_like_timestamp(text):
    return 16 <= len(text) <= 40 and text[4:5] == "-" and is_timestamp(text)


def kind_of_column(values, start=NONE):
    """Join of the kinds of many values."""
    kind = start
    for value in values:
        if value is not None:
            kind = join(kind, kind_of(value))
            if kind == STRING:
                break
    return kind


# -- conversion of a column of values for a field of a given kind -------------------------------------------------
class Misfit(Exception):
    """A value does not fit the field's current kind; the field must be widened first."""


def convert_column(kind, values):
    """Values ready for storage in a field of `kind` (a tuple); raise Misfit when one does not fit exactly."""
    types = set(map(type, values))
    if kind == STRING:
        if types <= {str, type(None)}:
            return values
        return tuple(v if v is None or type(v) is str else dumps(v) for v in values)
    if kind in (INT, INT64):
        if not types <= {int, type(None)}:
            raise Misfit
        low, high = (INT32_MIN, INT32_MAX) if kind == INT else (INT64_MIN, INT64_MAX)
        present = [v for v in values if v is not None]
        if present and (min(present) < low or max(present) > high):
            raise Misfit
        return values
    if kind == DOUBLE:
        if not types <= _NUMERIC:
            raise Misfit
        if int in types and any(type(v) is int and not -(2 ** 53) <= v <= 2 ** 53 for v in values):
            raise Misfit
        if float in types and any(type(v) is float and (v != v or v in (float("inf"), float("-inf")))
                                  for v in values):
            raise Misfit
        return values
    if kind == BOOL:
        if not types <= {bool, type(None)}:
            raise Misfit
        return values
    if kind == DATETIME:
        if not types <= {str, type(None)}:
            raise Misfit
        out = []
        for v in values:
            if v is None:
                out.append(v)
                continue
            fast = _fast(v)
            if fast == "ms":
                out.append(v)
            elif fast == "no-ms":
                out.append(v[:19] + ".000Z")
            elif _looks_like_timestamp(v):
                out.append(canonical_timestamp(v))
            else:
                raise Misfit
        return tuple(out)
    if kind == STRLIST:
        if not types <= {list, type(None)}:
            raise Misfit
        if any(type(item) is not str for v in values if v for item in v):
            raise Misfit
        return tuple(None if v is None else dumps(v) for v in values)
    if kind == JSON:
        if not types <= {list, dict, type(None)}:
            raise Misfit
        return tuple(None if v is None else dumps(v) for v in values)
    # NONE: only nulls fit
    if types != {type(None)}:
        raise Misfit
    return values


def stored_as_text(old_kind, stored):
    """The text of a value stored for `old_kind` once its field became a string field (exactly its JSON text)."""
    if stored is None:
        return None
    if old_kind == BOOL:
        return "true" if stored else "false"
    if old_kind in (INT, INT64):
        return str(int(stored))
    if old_kind == DOUBLE:
        return dumps(float(stored)) if isinstance(stored, float) else str(stored)
    if old_kind == DATETIME:
        # The original text is not kept; timestamps that came as "...SSZ" read back the same way.
        return display_timestamp(stored)
    return stored
