"""OGR building blocks for the Mapalyze GeoPackage: errors, SQL through OGR, field definitions per kind."""

from __future__ import annotations

from osgeo import gdal, ogr

from . import field_kinds as mt
from ..gdal_calls import attempt, failed

# (OGR type, subtype) of each kind. GeoPackage has no list type (GDAL 3.6 writes OFTStringList as "(2:a,b)"),
# so string lists are JSON arrays in a JSON-subtype text field, which QGIS reads back as lists.
# Objects and mixed lists stay plain JSON text, as the user sees them.
FIELD_TYPES = {
    mt.BOOL: (ogr.OFTInteger, ogr.OFSTBoolean),
    mt.INT: (ogr.OFTInteger, ogr.OFSTNone),
    mt.INT64: (ogr.OFTInteger64, ogr.OFSTNone),
    mt.DOUBLE: (ogr.OFTReal, ogr.OFSTNone),
    mt.DATETIME: (ogr.OFTDateTime, ogr.OFSTNone),
    mt.STRLIST: (ogr.OFTString, ogr.OFSTJSON),
}


class GpkgError(OSError):
    """OGR could not do something to the GeoPackage."""


def check(result, what):
    """Raise GpkgError with GDAL's message when an OGR call failed (None or a non-zero error code)."""
    if failed(result):
        raise GpkgError(f"{what}: {gdal.GetLastErrorMsg() or 'GDAL reported an error'}")
    return result


def call(what, method, *args):
    """method(*args); a failure in either GDAL error mode raises GpkgError with GDAL's message."""
    result, error = attempt(method, *args)
    if error is not None:
        raise GpkgError(f"{what}: {error}")
    return result


def succeeded(method, *args):
    """True when an OGR call worked, in either GDAL error mode (for calls that have a fallback)."""
    return attempt(method, *args)[1] is None


def flush_dataset(ds, strict=False):
    """Write what GDAL still holds for a datasource (the caller then drops its last reference to close it).

    Never ds.Close(): it invalidates layers and features Python may still hold (a traceback's frames do), and
    touching those later crashes. strict: a failure raises GpkgError (a finished file must be whole).
    """
    if ds is None:
        return
    gdal.ErrorReset()
    try:
        ds.FlushCache()
    except RuntimeError as exc:
        if strict:
            raise GpkgError(f"cannot finish writing {ds.GetDescription()}: {exc}") from None
        return
    if strict and gdal.GetLastErrorType() >= gdal.CE_Failure:
        raise GpkgError(f"cannot finish writing {ds.GetDescription()}: {gdal.GetLastErrorMsg()}")


def quote(name):
    """An SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text):
    """An SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def sql(ds, text):
    """Run one SQL statement through OGR; the first value of its result (or None)."""
    gdal.ErrorReset()
    try:
        result = ds.ExecuteSQL(text)
    except RuntimeError as exc:
        raise GpkgError(f"{text.split(' ', 1)[0]} failed in {ds.GetDescription()}: {exc}") from None
    if result is None:
        if gdal.GetLastErrorType() >= gdal.CE_Failure:
            raise GpkgError(f"{text.split(' ', 1)[0]} failed in {ds.GetDescription()}: {gdal.GetLastErrorMsg()}")
        return None
    try:
        feature = result.GetNextFeature()
        return feature.GetField(0) if feature is not None and feature.GetFieldCount() else None
    finally:
        ds.ReleaseResultSet(result)


def ogr_field(name, kind, alias=None):
    """The OGR field definition of a property kind (alias: the property's own name when the column differs)."""
    ogr_type, sub_type = FIELD_TYPES.get(kind, (ogr.OFTString, ogr.OFSTNone))
    field = ogr.FieldDefn(name, ogr_type)
    field.SetSubType(sub_type)
    if alias and hasattr(field, "SetAlternativeName"):
        field.SetAlternativeName(alias)  # written by newer GDAL; the layer metadata keeps it everywhere
    return field


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
