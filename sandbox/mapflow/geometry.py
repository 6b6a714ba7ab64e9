"""Lon/lat polygon geometry of the Mapflow emulator: areas, bounding boxes, validation, point tests."""

from __future__ import annotations

import math

from ..base import is_number

EARTH_RADIUS = 6378137.0


def ring_area(ring):
    """Approximate area in m² of a lon/lat ring on the sphere (geojson-area method)."""
    n = len(ring)
    if n < 3:
        return 0.0
    total = 0.0
    for i in range(n):
        lo, mid, hi = ring[i], ring[(i + 1) % n], ring[(i + 2) % n]
        total += (math.radians(hi[0]) - math.radians(lo[0])) * math.sin(math.radians(mid[1]))
    return abs(total * EARTH_RADIUS * EARTH_RADIUS / 2.0)


def polygons_of(geom):
    """List of polygons (lists of rings) of a Polygon/MultiPolygon."""
    return [geom["coordinates"]] if geom["type"] == "Polygon" else list(geom["coordinates"])


def geometry_area(geom):
    """Area in m² of a Polygon/MultiPolygon (outer minus holes)."""
    return sum(max(0.0, ring_area(p[0]) - sum(ring_area(h) for h in p[1:])) for p in polygons_of(geom))


def bbox_of(rings):
    """(minx, miny, maxx, maxy) of rings."""
    xs = [p[0] for r in rings for p in r]
    ys = [p[1] for r in rings for p in r]
    return min(xs), min(ys), max(xs), max(ys)


def point_in_ring(x, y, ring):
    """Even-odd point-in-polygon test."""
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i][0], ring[i][1]
        xj, yj = ring[j][0], ring[j][1]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def polygon_error(geom, what="geometry"):
    """Why geom is not a lon/lat Polygon/MultiPolygon, or None."""
    if not isinstance(geom, dict) or geom.get("type") not in ("Polygon", "MultiPolygon"):
        return f"{what} must be a GeoJSON Polygon or MultiPolygon"
    coords = geom.get("coordinates")
    polys = [coords] if geom["type"] == "Polygon" else coords
    if not isinstance(polys, list) or not polys:
        return f"{what} has no coordinates"
    for poly in polys:
        if not isinstance(poly, list) or not poly:
            return f"{what}: a polygon needs at least one ring"
        for ring in poly:
            if not isinstance(ring, list) or len(ring) < 4:
                return f"{what}: a ring needs at least 4 positions"
            for pos in ring:
                if not isinstance(pos, list) or len(pos) < 2 or not all(is_number(c) for c in pos[:3]):
                    return f"{what}: positions must be [lon, lat] numbers"
                if not -180 <= pos[0] <= 180 or not -90 <= pos[1] <= 90:
                    return f"{what}: coordinates must be WGS84 lon/lat (got {pos[:2]})"
            if ring[0][:2] != ring[-1][:2]:
                return f"{what}: rings must be closed"
    return None


class _Part:
    """One AOI polygon prepared for sampling."""

    def __init__(self, poly):
        self.rings = poly
        self.bbox = bbox_of(poly[:1])
        outer = poly[0]
        xs = {p[0] for p in outer}
        ys = {p[1] for p in outer}
        self.is_box = len(poly) == 1 and len(outer) == 5 and len(xs) == 2 and len(ys) == 2

    def contains(self, x, y):
        minx, miny, maxx, maxy = self.bbox
        if not (minx <= x <= maxx and miny <= y <= maxy):
            return False
        if self.is_box:
            return True
        return point_in_ring(x, y, self.rings[0]) and not any(point_in_ring(x, y, h) for h in self.rings[1:])
