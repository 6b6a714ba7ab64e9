"""GeoPackage point geometry blobs (spec §2.1.3: an 8-byte header, then ISO WKB) and the ST_* SQL functions."""

from __future__ import annotations

import math
import struct

SRS_ID = 4326
_HEADER = b"GP\x00\x01" + struct.pack("<i", SRS_ID)  # magic, version 0, flags: little endian, no envelope
_POINT = struct.Struct("<BIdd")
_POINT_Z = struct.Struct("<BIddd")
_NAN = float("nan")


def point_blob(x, y, z=None, with_z=False):
    """GeoPackage geometry blob of a point (PointZ with NaN when the layer has Z and the point none)."""
    if with_z:
        return _HEADER + _POINT_Z.pack(1, 1001, x, y, _NAN if z is None else z)
    return _HEADER + _POINT.pack(1, 1, x, y)


def blob_xy(blob):
    """(x, y, z or None) of a point blob written by point_blob or GDAL; None for other geometries."""
    if blob is None or len(blob) < 8 or blob[:2] != b"GP":
        return None
    flags = blob[3]
    envelope = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get((flags >> 1) & 0x07, 0)
    wkb = blob[8 + envelope:]
    if len(wkb) < 21:
        return None
    order = "<" if wkb[0] == 1 else ">"
    gtype = struct.unpack(order + "I", wkb[1:5])[0]
    if gtype in (1, 0x40000001):
        x, y = struct.unpack(order + "dd", wkb[5:21])
        return x, y, None
    if gtype in (1001, 0x80000001, 3001) and len(wkb) >= 29:
        x, y, z = struct.unpack(order + "ddd", wkb[5:29])
        return x, y, z
    if gtype == 2001:
        x, y = struct.unpack(order + "dd", wkb[5:21])
        return x, y, None
    return None


def register_gpkg_functions(con):
    """ST_* functions the GeoPackage R-tree triggers call (GDAL registers them in its own connections)."""

    def empty(blob):
        if blob is None:
            return None
        if len(blob) > 3 and blob[:2] == b"GP" and blob[3] & 0x10:
            return 1
        point = blob_xy(blob)
        return 1 if point is not None and (math.isnan(point[0]) or math.isnan(point[1])) else 0

    def coord(index):
        def get(blob):
            point = blob_xy(blob)
            return None if point is None else point[index]
        return get

    con.create_function("ST_IsEmpty", 1, empty, deterministic=True)
    con.create_function("ST_MinX", 1, coord(0), deterministic=True)
    con.create_function("ST_MaxX", 1, coord(0), deterministic=True)
    con.create_function("ST_MinY", 1, coord(1), deterministic=True)
    con.create_function("ST_MaxY", 1, coord(1), deterministic=True)


def blob_to_z(blob):
    """The same point with a Z (NaN when it had none)."""
    point = blob_xy(blob)
    if point is None:
        return blob
    x, y, z = point
    return point_blob(x, y, z, with_z=True)
