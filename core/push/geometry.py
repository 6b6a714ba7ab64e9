"""Feature geometry to what the services take: WGS84, 2D (Z kept only where asked), points or GeoJSON."""

from __future__ import annotations

import json
import math

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCsException,
    QgsGeometry,
    QgsPoint,
    QgsWkbTypes,
)

from ..qgis_compat import geometry_type, geos_validation
from .choices import MODE_CENTROID, MODE_POINT_ON_SURFACE, MODE_SKIP

PRECISION = 7            # decimal degrees: about 1 cm
SCALE = 10.0 ** PRECISION
COORD_TOLERANCE = 1e-6   # degrees (~10 cm): a service may round what it stores; closer positions are the same
# A position beyond the layer CRS's area of use by more than this (degrees) cannot be an honest use of that CRS
# (a national grid is often used a little past its official area, never half a continent away).
FAR_DEGREES = 20.0
# Transforming back must give the source coordinates again within this (relative, and absolute in CRS units).
ROUND_TRIP_RELATIVE = 1e-7
ROUND_TRIP_ABSOLUTE = 1e-3


class SkipFeature(Exception):
    """A feature that is not sent; the message is the reason shown in the report."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


POINT_TYPE, LINE_TYPE, POLYGON_TYPE = (geometry_type(name) for name in ("Point", "Line", "Polygon"))


class WgsConverter:
    """Transforms feature geometries from the layer CRS to WGS84 with the project's transform context.

    Only positions a transform can honestly produce are sent. Inside the CRS's area of use (and its extent in the
    CRS) a position is trusted; outside it, it must lie within FAR_DEGREES of that area and transform back to where
    it came from, else it is skipped with the reason (a projection clamps far-away values to the pole, wraps them
    round the world, or makes NaN of them).
    """

    def __init__(self, source_crs, transform_context):
        self.wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
        self.assumed_wgs84 = not source_crs.isValid()
        crs = self.wgs84 if self.assumed_wgs84 else source_crs
        self.crs_name = crs.authid() or crs.description() or "the layer CRS"
        self.identity = crs == self.wgs84
        self.transform = QgsCoordinateTransform(crs, self.wgs84, transform_context)
        self.transform_xy = None if self.identity else self.transform.transform
        self.area = self.inverse = None
        self._bounds = None         # (source x/y min/max, WGS84 x/y min/max) as plain floats: the hot path's check
        if not self.identity:
            self.inverse = QgsCoordinateTransform(self.wgs84, crs, transform_context)
            area = crs.bounds()
            if not area.isEmpty() and area.xMinimum() < area.xMaximum():
                self.area = area
                try:
                    box = self.inverse.transformBoundingBox(area)
                    self._bounds = (box.xMinimum(), box.xMaximum(), box.yMinimum(), box.yMaximum(),
                                    area.xMinimum(), area.xMaximum(), area.yMinimum(), area.yMaximum())
                except QgsCsException:
                    self._bounds = None

    def _trusted(self, sx, sy, x, y):
        """True when both the source position and its transform lie in the CRS's area of use (the common case)."""
        bounds = self._bounds
        return (bounds is not None and bounds[0] <= sx <= bounds[1] and bounds[2] <= sy <= bounds[3]
                and bounds[4] <= x <= bounds[5] and bounds[6] <= y <= bounds[7])

    def check_honest(self, sx, sy, x, y):
        """SkipFeature when (x, y), the WGS84 transform of (sx, sy), is not a position the transform can honestly
        give: not a number, far outside the CRS's area of use, or not transforming back to (sx, sy)."""
        if self.identity:
            return
        if not (math.isfinite(x) and math.isfinite(y)):
            raise SkipFeature(f"coordinates ({sx:.6g}, {sy:.6g}) cannot be transformed from {self.crs_name}: the "
                              "result is not a number; check the layer CRS")
        if self.area is None or self._trusted(sx, sy, x, y):
            return
        area = self.area
        beyond = max(area.xMinimum() - x, x - area.xMaximum(), area.yMinimum() - y, y - area.yMaximum(), 0.0)
        if beyond > FAR_DEGREES:
            raise SkipFeature(f"coordinates ({sx:.6g}, {sy:.6g}) lie {beyond:.0f}° outside the area of use of "
                              f"{self.crs_name}; no transform from it can place them honestly; check the layer CRS")
        try:
            back = self.inverse.transform(x, y)
            bx, by = back.x(), back.y()
        except QgsCsException:
            bx = by = float("nan")
        tolerance = ROUND_TRIP_ABSOLUTE + ROUND_TRIP_RELATIVE * max(abs(sx), abs(sy), 1.0)
        if not (abs(bx - sx) <= tolerance and abs(by - sy) <= tolerance):
            raise SkipFeature(f"coordinates ({sx:.6g}, {sy:.6g}) are outside what {self.crs_name} can represent "
                              f"(they transform to {x:.6g}, {y:.6g} and do not transform back); check the layer CRS")

    def _check_geometry(self, source, moved):
        """check_honest for every vertex of a geometry, unless both extents lie in the area of use."""
        if self.identity:
            return
        sbox, box = source.boundingBox(), moved.boundingBox()
        if not (math.isfinite(box.xMinimum()) and math.isfinite(box.yMinimum())
                and math.isfinite(box.xMaximum()) and math.isfinite(box.yMaximum())):
            raise SkipFeature(f"the geometry cannot be transformed from {self.crs_name}: some coordinates become "
                              "not a number; check the layer CRS")
        if self._trusted(sbox.xMinimum(), sbox.yMinimum(), box.xMinimum(), box.yMinimum()) and \
                self._trusted(sbox.xMaximum(), sbox.yMaximum(), box.xMaximum(), box.yMaximum()):
            return
        for vertex in source.vertices():
            try:
                point = self.transform.transform(vertex.x(), vertex.y())
            except QgsCsException as exc:
                raise SkipFeature(f"cannot be transformed to WGS84 ({exc})") from None
            self.check_honest(vertex.x(), vertex.y(), point.x(), point.y())

    def fast_xy(self, geometry):
        """[lng, lat] (rounded) of a plain single point inside the WGS84 range, else None (the full path decides).

        The common case of every push, so it is kept to the fewest QGIS calls.
        """
        try:
            point = geometry.asPoint()      # one call; TypeError for other types, ValueError for a null geometry
        except (TypeError, ValueError):
            return None
        if self.transform_xy is not None:
            sx, sy = point.x(), point.y()
            try:
                point = self.transform_xy(point)
            except QgsCsException:
                return None
            x, y = point.x(), point.y()
            bounds = self._bounds
            if not (bounds is not None and bounds[0] <= sx <= bounds[1] and bounds[2] <= sy <= bounds[3]
                    and bounds[4] <= x <= bounds[5] and bounds[6] <= y <= bounds[7]):
                return None                 # outside the area of use: the full path checks it (and says why)
        else:
            x, y = point.x(), point.y()
        if -180.0 <= x <= 180.0 and -90.0 <= y <= 90.0:      # False for NaN (an empty point) too
            # round(v * SCALE) / SCALE: the same 7 decimals as round(v, 7), three times faster.
            return [round(x * SCALE) / SCALE, round(y * SCALE) / SCALE]
        return None

    def to_wgs84(self, geometry):
        """A WGS84 copy of a geometry (curves segmentized); SkipFeature when null, empty or untransformable."""
        if geometry is None or geometry.isNull():
            raise SkipFeature("no geometry")
        if geometry.isEmpty():
            raise SkipFeature("empty geometry")
        geom = QgsGeometry(geometry)
        if QgsWkbTypes.isCurvedType(geom.wkbType()):
            geom = QgsGeometry(geom.constGet().segmentize())
        if not self.identity:
            source = QgsGeometry(geom)
            try:
                geom.transform(self.transform)
            except QgsCsException as exc:
                raise SkipFeature(f"cannot be transformed to WGS84 ({exc})") from None
            self._check_geometry(source, geom)
        return geom

    def single_point(self, geometry):
        """(lng, lat, z or None) in WGS84 of a single point geometry (the fast common case), else None."""
        if geometry is None or geometry.isNull():
            return None
        vertex = geometry.constGet()
        if type(vertex) is not QgsPoint:
            return None
        if vertex.isEmpty():
            raise SkipFeature("empty geometry")
        x, y = vertex.x(), vertex.y()
        if not self.identity:
            try:
                moved = self.transform.transform(x, y)
            except QgsCsException as exc:
                raise SkipFeature(f"cannot be transformed to WGS84 ({exc})") from None
            self.check_honest(x, y, moved.x(), moved.y())
            x, y = moved.x(), moved.y()
        check_lng_lat(x, y, self.assumed_wgs84)
        return x, y, (vertex.z() if vertex.is3D() else None)

    def point(self, geometry, mode=MODE_POINT_ON_SURFACE, keep_z=False):
        """(lng, lat[, z]) of a feature: the point itself, or a point on surface / centroid of other shapes."""
        if not keep_z:
            fast = self.fast_xy(geometry)
            if fast is not None:
                return fast
        fast = self.single_point(geometry)
        if fast is not None:
            out = [round(fast[0], PRECISION), round(fast[1], PRECISION)]
            if keep_z and fast[2] is not None and math.isfinite(fast[2]):
                out.append(round(fast[2], 3))
            return out
        geom = self.to_wgs84(geometry)
        kind = QgsWkbTypes.geometryType(geom.wkbType())
        if kind == POINT_TYPE:
            parts = geom.constGet().partCount() if geom.isMultipart() else 1
            if parts > 1:
                # Several points become one location: the member point nearest their centre, or the centroid.
                geom = geom.centroid() if mode == MODE_CENTROID else geom.pointOnSurface()
            elif geom.isMultipart():
                geom = QgsGeometry(geom.constGet().geometryN(0).clone())
        elif kind in (LINE_TYPE, POLYGON_TYPE):
            if mode == MODE_SKIP:
                what = "line" if kind == LINE_TYPE else "polygon"
                raise SkipFeature(f"{what} geometry (geometry mode is 'skip')")
            _require_valid(geom)
            geom = geom.centroid() if mode == MODE_CENTROID else geom.pointOnSurface()
        else:
            raise SkipFeature("unsupported geometry type")
        if geom is None or geom.isNull() or geom.isEmpty():
            raise SkipFeature("invalid geometry (no point could be derived from it)")
        vertex = geom.constGet()
        lng, lat = vertex.x(), vertex.y()
        check_lng_lat(lng, lat, self.assumed_wgs84)
        out = [round(lng, PRECISION), round(lat, PRECISION)]
        if keep_z and vertex.is3D() and math.isfinite(vertex.z()):
            out.append(round(vertex.z(), 3))
        return out

    def geojson(self, geometry):
        """A 2D GeoJSON geometry dict in WGS84 (lon/lat order); SkipFeature when it cannot be sent whole."""
        fast = self.fast_xy(geometry)
        if fast is not None:
            return {"type": "Point", "coordinates": fast}
        fast = self.single_point(geometry)
        if fast is not None:
            return {"type": "Point", "coordinates": [round(fast[0], PRECISION), round(fast[1], PRECISION)]}
        geom = self.to_wgs84(geometry)
        kind = QgsWkbTypes.geometryType(geom.wkbType())
        if kind not in (POINT_TYPE, LINE_TYPE, POLYGON_TYPE):
            raise SkipFeature("unsupported geometry type")
        abstract = geom.get()
        abstract.dropZValue()
        abstract.dropMValue()
        if kind != POINT_TYPE:
            _require_valid(geom)
        box = geom.boundingBox()
        check_lng_lat(box.xMinimum(), box.yMinimum(), self.assumed_wgs84)
        check_lng_lat(box.xMaximum(), box.yMaximum(), self.assumed_wgs84)
        return json.loads(geom.asJson(PRECISION))


def _require_valid(geom):
    """SkipFeature naming GEOS's complaint when a line or polygon is invalid."""
    if geom.isGeosValid():
        return
    errors = geom.validateGeometry(geos_validation())
    what = errors[0].what() if errors else "not valid"
    raise SkipFeature(f"invalid geometry: {what}")


def check_lng_lat(lng, lat, assumed_wgs84=False):
    """SkipFeature unless both are finite and inside the WGS84 range."""
    if not (math.isfinite(lng) and math.isfinite(lat)):
        raise SkipFeature("invalid geometry: coordinates are not numbers")
    if not (-180.0 <= lng <= 180.0 and -90.0 <= lat <= 90.0):
        hint = "the layer has no CRS; set it" if assumed_wgs84 else "check the layer CRS"
        raise SkipFeature(f"coordinates outside the WGS84 range after transform ({lng:.6g}, {lat:.6g}); {hint}")


def same_position(x1, y1, x2, y2):
    """True when two lon/lat positions are the same place as a service stores it (within COORD_TOLERANCE)."""
    return abs(x1 - x2) <= COORD_TOLERANCE and abs(y1 - y2) <= COORD_TOLERANCE
