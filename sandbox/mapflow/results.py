"""Mapflow result files: seeded GeoJSON FeatureCollections of polygons inside a processing's AOI."""

# Choice where the docs are silent:
# - Result files are GeoJSON FeatureCollections of polygons, generated once per (processing, count) to a
#   temp file and streamed with Content-Length. A processing whose name has "mixed" in it gets a result that mixes
#   polygons, lines and points, with an object property (`bbox`), as the notes say results can.

from __future__ import annotations

import math
import os
import random

from .geometry import _Part, polygons_of, ring_area

DEFAULT_RESULT_FEATURES = 50


def write_result(path, geometry, count, kind, seed):
    """Write `count` polygon features of a model kind inside geometry to path; returns the byte size."""
    rng = random.Random(f"result:{seed}")
    parts = [_Part(p) for p in polygons_of(geometry)]
    weights = [max(ring_area(p.rings[0]), 1e-9) for p in parts]
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"type":"FeatureCollection","features":[')
        written = 0
        attempts = 0
        while written < count and attempts < count * 50 + 100:
            attempts += 1
            part = parts[0] if len(parts) == 1 else rng.choices(parts, weights)[0]
            minx, miny, maxx, maxy = part.bbox
            cx = rng.uniform(minx, maxx)
            cy = rng.uniform(miny, maxy)
            if not part.contains(cx, cy):
                continue
            m_per_deg_y = 111320.0
            m_per_deg_x = max(111320.0 * math.cos(math.radians(cy)), 1.0)
            if kind == "roads":
                half_w, half_h = rng.uniform(20, 90), rng.uniform(2, 6)
            elif kind == "forest":
                half_w = half_h = rng.uniform(10, 40)
            else:
                half_w, half_h = rng.uniform(4, 14), rng.uniform(4, 11)
            cap = min((maxx - minx) * m_per_deg_x, (maxy - miny) * m_per_deg_y) / 8.0
            scale = min(1.0, cap / max(half_w, half_h))
            half_w, half_h = half_w * scale, half_h * scale
            angle = rng.uniform(0, math.pi)
            ca, sa = math.cos(angle), math.sin(angle)
            if kind == "forest":
                corners = [(math.cos(a) * half_w * rng.uniform(0.7, 1.0), math.sin(a) * half_h * rng.uniform(0.7, 1.0))
                           for a in (k * math.pi / 3 for k in range(6))]
            else:
                corners = [(-half_w, -half_h), (half_w, -half_h), (half_w, half_h), (-half_w, half_h)]
            ring = [(cx + (x * ca - y * sa) / m_per_deg_x, cy + (x * sa + y * ca) / m_per_deg_y)
                    for x, y in corners]
            if not all(part.contains(x, y) for x, y in ring):
                continue
            ring.append(ring[0])
            area = max(ring_area(ring), 0.1)
            coords = ",".join(f"[{x:.7f},{y:.7f}]" for x, y in ring)
            if kind == "roads":
                props = '{"class_id":2,"class_name":"road","width_m":%.1f,"area":%.1f}' % (half_h * 2, area)
            elif kind == "forest":
                props = '{"class_id":3,"class_name":"forest","height_class":"%s","area":%.1f}' % (
                    rng.choice(("0-4", "4-10", "10-20", "20+")), area)
            else:
                height = "null" if rng.random() < 0.1 else "%.1f" % rng.uniform(3, 45)
                props = '{"class_id":%d,"building_height":%s,"area":%.1f}' % (
                    rng.choice((101, 101, 101, 102, 103)), height, area)
            geometry = '{"type":"Polygon","coordinates":[[%s]]}' % coords
            if kind == "mixed":
                shape = ("Polygon", "LineString", "Point")[written % 3]
                box = '{"minx":%.7f,"miny":%.7f,"maxx":%.7f,"maxy":%.7f}' % (
                    min(x for x, _ in ring), min(y for _, y in ring), max(x for x, _ in ring),
                    max(y for _, y in ring))
                props = '{"class_id":%d,"kind":"%s","bbox":%s}' % (written % 3 + 1, shape.lower(), box)
                if shape == "LineString":
                    geometry = '{"type":"LineString","coordinates":[%s]}' % ",".join(
                        f"[{x:.7f},{y:.7f}]" for x, y in ring[:3])
                elif shape == "Point":
                    geometry = '{"type":"Point","coordinates":[%.7f,%.7f]}' % (cx, cy)
            if written:
                out.write(",")
            out.write('{"type":"Feature","id":%d,"geometry":%s,"properties":%s}' % (written + 1, geometry, props))
            written += 1
        out.write("]}")
    return os.path.getsize(path)
