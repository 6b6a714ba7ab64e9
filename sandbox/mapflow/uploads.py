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


def tiff_info(data):
    """{width, height, count, bits} of a classic TIFF ({} for BigTIFF); None if not a TIFF."""
    magic = data[:4]
    if magic in (b"II+\x00", b"MM\x00+"):
        return {}
    if magic == b"II*\x00":
        end = "<"
    elif magic == b"MM\x00*":
        end = ">"
    else:
        return None
    info = {}
    try:
        ifd = struct.unpack(end + "I", data[4:8])[0]
        (entries,) = struct.unpack(end + "H", data[ifd:ifd + 2])
        for i in range(entries):
            entry = data[ifd + 2 + 12 * i:ifd + 14 + 12 * i]
            tag, typ, count = struct.unpack(end + "HHI", entry[:8])
            value = struct.unpack(end + "H", entry[8:10])[0] if typ == 3 else struct.unpack(end + "I", entry[8:12])[0]
            if tag == 256:
                info["width"] = value
            elif tag == 257:
                info["height"] = value
            elif tag == 277:
                info["count"] = value
            elif tag == 258 and count == 1:
                info["bits"] = value
    except (struct.error, IndexError):
        pass
    return info
