"""Parsing of Data API uploads: multipart/form-data parts and classic TIFF header facts."""

from __future__ import annotations

import struct


def parse_multipart(body, content_type):
    """[(name, filename, data)] of a multipart/form-data body; None if not multipart."""
    ctype, _, params = content_type.partition(";")
    if ctype.strip().lower() != "multipart/form-data":
        return None
    boundary = None
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip().strip('"')
    if not boundary:
        return None
    parts = []
    for chunk in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, _, data = chunk.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        name = filename = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                for item in value.split(";")[1:]:
                    k, _, v = item.strip().partition("=")
                    v = v.strip().strip('"')
                    if k.lower() == "name":
                        name = v
                    elif k.lower() == "filename":
                        filename = v
        parts.append((name, filename, data))
    return parts


# TIFF field types: (struct code, size) of the ones a GeoTIFF header uses.
TIFF_TYPES = {1: ("B", 1), 2: ("c", 1), 3: ("H", 2), 4: ("I", 4), 11: ("f", 4), 12: ("d", 8), 16: ("Q", 8)}
SAMPLE_FORMATS = {1: "uint", 2: "int", 3: "float"}


def _tag_values(data, end, typ, count, inline, offset_size):
    """The values of one IFD entry (inline or at an offset); ASCII as one string."""
    code, size = TIFF_TYPES.get(typ, (None, 0))
    if code is None:
        return []
    length = size * count
    raw = inline[:length] if length <= offset_size else None
    if raw is None:
        (offset,) = struct.unpack(end + ("Q" if offset_size == 8 else "I"), inline[:offset_size])
        raw = data[offset:offset + length]
    if len(raw) < length:
        return []
    if typ == 2:
        return [raw.split(b"\0", 1)[0].decode("latin-1")]
    return list(struct.unpack(end + code * count, raw))


def tiff_tags(data):
    """{tag: [values]} of the first IFD of a classic or Big TIFF; None if not a TIFF."""
    magic = data[:4]
    if magic in (b"II*\x00", b"II+\x00"):
        end = "<"
    elif magic in (b"MM\x00*", b"MM\x00+"):
        end = ">"
    else:
        return None
    big = magic[2:4] in (b"+\x00", b"\x00+")
    tags = {}
    try:
        if big:
            (ifd,) = struct.unpack(end + "Q", data[8:16])
            (entries,) = struct.unpack(end + "Q", data[ifd:ifd + 8])
            first, entry_size, offset_size = ifd + 8, 20, 8
        else:
            (ifd,) = struct.unpack(end + "I", data[4:8])
            (entries,) = struct.unpack(end + "H", data[ifd:ifd + 2])
            first, entry_size, offset_size = ifd + 2, 12, 4
        for i in range(min(entries, 1000)):
            entry = data[first + entry_size * i:first + entry_size * (i + 1)]
            if big:
                tag, typ, count = struct.unpack(end + "HHQ", entry[:12])
                inline = entry[12:20]
            else:
                tag, typ, count = struct.unpack(end + "HHI", entry[:8])
                inline = entry[8:12]
            if count <= 100_000:
                tags[tag] = _tag_values(data, end, typ, count, inline, offset_size)
    except (struct.error, IndexError):
        pass
    return tags


def _epsg(geokeys):
    """The EPSG code in a GeoKeyDirectory (projected first, then geographic), or None."""
    found = {}
    for i in range(4, len(geokeys) - 3, 4):
        key, location, _count, value = geokeys[i:i + 4]
        if location == 0:
            found[key] = value
    code = found.get(3072) or found.get(2048)
    return code if code and code < 32767 else None


def tiff_info(data):
    """Facts of a (Geo)TIFF: {width, height, count, bits, dtype, nodata, epsg, pixel_size, origin}; None if not
    a TIFF. Georeferencing (ModelPixelScale + ModelTiepoint + GeoKeyDirectory) is read when present."""
    tags = tiff_tags(data)
    if tags is None:
        return None
    info = {}
    if tags.get(256):
        info["width"] = tags[256][0]
    if tags.get(257):
        info["height"] = tags[257][0]
    info["count"] = tags[277][0] if tags.get(277) else 1
    if tags.get(258):
        info["bits"] = tags[258][0]
        kind = SAMPLE_FORMATS.get((tags.get(339) or [1])[0], "uint")
        info["dtype"] = f"{kind}{tags[258][0]}" if kind != "uint" or tags[258][0] != 8 else "uint8"
    if tags.get(42113):
        info["nodata"] = tags[42113][0].strip() or None
    scale, tie = tags.get(33550), tags.get(33922)
    if scale and tie and len(scale) >= 2 and len(tie) >= 6:
        info["pixel_size"] = [scale[0], scale[1]]
        info["origin"] = [tie[3] - tie[0] * scale[0], tie[4] + tie[1] * scale[1]]
    if tags.get(34735):
        info["epsg"] = _epsg(tags[34735])
    return info
