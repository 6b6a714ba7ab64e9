"""Exact widening of a column to text: the values already written become exactly their JSON text.

OGR's AlterFieldDefn leaves the conversion to SQLite (true -> "1", doubles to 15 digits, timestamps in storage
form), so the exact texts are set aside in a scratch table first and put back once the column is text.
"""

from __future__ import annotations

from osgeo import ogr

from . import field_kinds as mt
from .gpkg_ogr import call, quote, sql

SCRATCH = "mapbridge_widen"  # removed again once the texts are back
CHUNK_ROWS = 10_000
TO_TEXT = (mt.BOOL, mt.INT, mt.INT64, mt.DOUBLE, mt.DATETIME)


def iso_of(parts):
    """ISO 8601 text of OGR's [year, month, day, hour, minute, second, tz flag] (100 = UTC, 15-minute steps)."""
    year, month, day, hour, minute, second, tz = parts
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:06.3f}"
    if tz == 100:
        return text + "Z"
    if tz > 1:
        offset = (tz - 100) * 15
        return text + f"{'+' if offset >= 0 else '-'}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    return text


def text_of(kind, feature, index):
    """A stored value as the exact text a string field keeps (its JSON text)."""
    if kind == mt.DATETIME:
        return mt.display_timestamp(iso_of(feature.GetFieldAsDateTime(index)))
    if kind in (mt.BOOL, mt.INT, mt.INT64):
        return mt.stored_as_text(kind, feature.GetFieldAsInteger64(index))
    if kind == mt.DOUBLE:
        return mt.stored_as_text(kind, feature.GetFieldAsDouble(index))
    return feature.GetFieldAsString(index)


def keep_texts(ds, lyr, fid_column, name, old_kind):
    """Fill the scratch table with (fid, exact text) of every non-null value of a column."""
    drop_scratch(ds)
    scratch = call("cannot create a scratch table", ds.CreateLayer, SCRATCH, None, ogr.wkbNone, ["FID=fid"])
    call("cannot create a scratch table", scratch.CreateField, ogr.FieldDefn("v", ogr.OFTString))
    out = ogr.Feature(scratch.GetLayerDefn())
    defn = lyr.GetLayerDefn()
    index, last = defn.GetFieldIndex(name), 0
    lyr.SetIgnoredFields([defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount()) if i != index]
                         + ["OGR_GEOMETRY"])
    try:
        while True:  # by fid ranges: never reading and writing at once, memory flat
            lyr.SetAttributeFilter(f"{quote(fid_column)} > {last} AND {quote(name)} IS NOT NULL")
            chunk = []
            for feature in lyr:
                chunk.append((feature.GetFID(), text_of(old_kind, feature, index)))
                if len(chunk) >= CHUNK_ROWS:
                    break
            if not chunk:
                return
            call("cannot fill a scratch table", ds.StartTransaction)
            for fid, text in chunk:
                out.SetFID(fid)
                out.SetFieldString(0, text)
                call("cannot fill a scratch table", scratch.CreateFeature, out)
            call("cannot fill a scratch table", ds.CommitTransaction)
            last = chunk[-1][0]
    finally:
        lyr.SetAttributeFilter(None)
        lyr.SetIgnoredFields([])


def put_texts_back(ds, table, fid_column, name):
    """Set the column (now text) from the scratch table, then drop the scratch table."""
    table, col = quote(table), quote(name)
    # The scratch table is not aliased: an alias could be the layer's own name.
    fid = quote(fid_column)
    # Only quoted identifiers are built into the statement, no values (hence the nosec).
    sql(ds, f"UPDATE {table} SET {col} = (SELECT v FROM {SCRATCH} WHERE {SCRATCH}.fid = {table}.{fid}) "  # nosec B608
            f"WHERE {col} IS NOT NULL")
    drop_scratch(ds)


def drop_scratch(ds):
    """Remove the scratch table if a run left one."""
    for i in range(ds.GetLayerCount()):
        if ds.GetLayer(i).GetName() == SCRATCH:
            call("cannot remove a scratch table", ds.DeleteLayer, i)
            return
