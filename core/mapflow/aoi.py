"""The area of interest of a Mapflow processing: gathered, repaired, transformed to WGS84 and measured."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCoordinateTransformContext,
    QgsCsException,
    QgsDistanceArea,
    QgsGeometry,
    QgsPointXY,
    QgsRectangle,
)

from ...api.errors import MapbridgeError
from ..qgis_compat import geometry_type

WGS84 = "EPSG:4326"
# Coordinates sent to Mapflow: 7 decimals of a degree is about 1 cm.
GEOJSON_PRECISION = 7
MAPFLOW = "mapflow"
POLYGON = geometry_type("Polygon")


def wgs84():
    """The WGS84 lon/lat CRS."""
    return QgsCoordinateReferenceSystem(WGS84)


@dataclass
class Aoi:
    """A validated AOI in WGS84 lon/lat with its ellipsoidal area and what was done to it."""

    geometry: QgsGeometry
    area_m2: float
    feature_count: int = 1
    notes: list = field(default_factory=list)

    @property
    def area_km2(self):
        """Area in km²."""
        return self.area_m2 / 1e6

    @property
    def part_count(self):
        """Number of separate polygons."""
        return max(1, self.geometry.constGet().numGeometries()) if self.geometry.isMultipart() else 1

    def geojson(self):
        """The GeoJSON geometry dict (Polygon when one part, else MultiPolygon), lon/lat order."""
        return geometry_to_geojson(self.geometry)

    def part_geojsons(self):
        """One GeoJSON Polygon dict per part."""
        return [geometry_to_geojson(part) for part in polygon_parts(self.geometry)]


def ellipsoidal_area_m2(geometry_wgs84, transform_context=None):
    """Area in m² on the WGS84 ellipsoid of a lon/lat geometry."""
    calculator = QgsDistanceArea()
    calculator.setSourceCrs(wgs84(), transform_context or QgsCoordinateTransformContext())
    calculator.setEllipsoid("WGS84")
    return abs(calculator.measureArea(geometry_wgs84))


def polygon_parts(geometry):
    """Single-part polygon geometries of a (multi)polygon."""
    if geometry.isMultipart():
        return [QgsGeometry.fromPolygonXY(p) for p in geometry.asMultiPolygon()]
    return [QgsGeometry(geometry)]


def geometry_to_geojson(geometry, precision=GEOJSON_PRECISION):
    """A 2D GeoJSON dict of a polygon geometry (Polygon for one part, MultiPolygon for several)."""
    geom = QgsGeometry(geometry)
    if geom.isMultipart() and geom.constGet().numGeometries() == 1:
        geom = QgsGeometry.fromPolygonXY(geom.asMultiPolygon()[0])
    abstract = geom.get()
    abstract.dropZValue()
    abstract.dropMValue()
    return json.loads(geom.asJson(precision))


def polygonal_only(geometry):
    """Keep only the polygon parts of a geometry (makeValid may add lines or points); None when none are left."""
    if geometry is None or geometry.isEmpty():
        return None
    if geometry.type() == POLYGON:
        return geometry
    collection = geometry.constGet()
    polygons = []
    for i in range(collection.numGeometries() if hasattr(collection, "numGeometries") else 0):
        part = QgsGeometry(collection.geometryN(i).clone())
        if part.type() == POLYGON and not part.isEmpty():
            polygons.append(part)
    if not polygons:
        return None
    return QgsGeometry.unaryUnion(polygons) if len(polygons) > 1 else polygons[0]


def _unwrapped_ring(ring, reference=None):
    """A ring's longitudes made continuous (a step of more than 180° is a crossing of ±180°, not a trip round the
    world), shifted by whole turns so that it starts within 180° of `reference`."""
    out, offset, previous = [], 0.0, None
    for point in ring:
        x = point.x()
        if previous is not None:
            step = x - previous
            if step > 180.0:
                offset -= 360.0
            elif step < -180.0:
                offset += 360.0
        previous = x
        out.append((x + offset, point.y()))
    if reference is not None and out:
        turns = round((reference - out[0][0]) / 360.0)
        out = [(x + 360.0 * turns, y) for x, y in out]
    return out


def _crosses_antimeridian(geometry):
    box = geometry.boundingBox()
    if box.xMinimum() < -180.0 or box.xMaximum() > 180.0:
        return True
    polygons = geometry.asMultiPolygon() if geometry.isMultipart() else [geometry.asPolygon()]
    return any(abs(b.x() - a.x()) > 180.0 for polygon in polygons for ring in polygon for a, b in zip(ring, ring[1:]))


def split_at_antimeridian(geometry):
    """A lon/lat polygon that crosses ±180° as a MultiPolygon cut there, each part inside -180…180; others as is.

    Transforming vertex by vertex turns a small area across the antimeridian into one going the other way round
    the world (its longitudes jump from 179.9 to -179.9): the area and the cost would be those of that band.
    """
    if geometry is None or geometry.isEmpty() or not _crosses_antimeridian(geometry):
        return geometry
    polygons = geometry.asMultiPolygon() if geometry.isMultipart() else [geometry.asPolygon()]
    pieces = []
    for polygon in polygons:
        if not polygon:
            continue
        outer = _unwrapped_ring(polygon[0])
        rings = [outer] + [_unwrapped_ring(hole, outer[0][0]) for hole in polygon[1:]]
        unwrapped = QgsGeometry.fromPolygonXY([[QgsPointXY(x, y) for x, y in ring] for ring in rings])
        box = unwrapped.boundingBox()
        first, last = int((box.xMinimum() + 180.0) // 360.0), int((box.xMaximum() + 180.0) // 360.0)
        for turn in range(first, last + 1):
            window = QgsGeometry.fromRect(QgsRectangle(-180.0 + 360.0 * turn, -90.0, 180.0 + 360.0 * turn, 90.0))
            piece = polygonal_only(unwrapped.intersection(window))
            if piece is None or piece.isEmpty():
                continue
            piece.translate(-360.0 * turn, 0.0)
            pieces.extend(polygon_parts(piece))
    if not pieces:
        return geometry
    return QgsGeometry.collectGeometry(pieces)


def _split_noted(geometry, label, notes):
    split = split_at_antimeridian(geometry)
    if split is not geometry:
        notes.append(f"The AOI {label} crosses the antimeridian (±180°); it is sent as polygons on each side of it, "
                     "measured and priced for the area itself.")
    return split


def repaired(geometry, label, notes):
    """The geometry, repaired with makeValid when invalid (noted); raises when it cannot be repaired."""
    if geometry.isGeosValid():
        return geometry
    errors = [e.what() for e in geometry.validateGeometry()][:3]
    fixed = polygonal_only(geometry.makeValid())
    if fixed is None or fixed.isEmpty() or not fixed.isGeosValid():
        raise MapbridgeError(
            f"the AOI {label} is not a valid polygon and could not be repaired ({'; '.join(errors) or 'invalid'})",
            service=MAPFLOW, hint="Fix it with Vector ▸ Geometry Tools ▸ Fix Geometries, or draw the area again")
    notes.append(f"The AOI {label} was invalid ({'; '.join(errors) or 'invalid'}) and was repaired with makeValid.")
    return fixed


def build_aoi(geometries, source_crs, transform_context=None, labels=None):
    """Validate, repair, transform to WGS84 and union polygon geometries into one Aoi."""
    context = transform_context or QgsCoordinateTransformContext()
    notes = []
    transform = None
    if source_crs is not None and source_crs.isValid() and source_crs.authid() != WGS84:
        transform = QgsCoordinateTransform(source_crs, wgs84(), context)
    parts = []
    count = 0
    for index, geometry in enumerate(geometries):
        label = (labels[index] if labels else f"feature {index + 1}")
        if geometry is None or geometry.isNull() or geometry.isEmpty():
            notes.append(f"The AOI {label} has no geometry and was skipped.")
            continue
        if geometry.type() != POLYGON:
            raise MapbridgeError(f"the AOI {label} is not a polygon", service=MAPFLOW,
                                 hint="Use a polygon layer, a drawn polygon or rectangle, or the canvas extent")
        count += 1
        geom = QgsGeometry(geometry)
        if transform is None:
            # Already lon/lat: cut at ±180° first (read as plane coordinates it looks like a band round the world).
            geom = _split_noted(geom, label, notes)
        geom = repaired(geom, label, notes)
        if transform is not None:
            try:
                geom.transform(transform)
            except QgsCsException as exc:
                raise MapbridgeError(f"the AOI {label} could not be transformed to WGS84: {exc}", service=MAPFLOW,
                                     hint="Check the layer's coordinate reference system") from None
            geom = _split_noted(geom, label, notes)
        parts.append(geom)
    if not parts:
        raise MapbridgeError("the AOI is empty (no polygon features)", service=MAPFLOW,
                             hint="Select or draw at least one polygon")
    merged = QgsGeometry.unaryUnion(parts) if len(parts) > 1 else parts[0]
    merged = polygonal_only(merged)
    if merged is None or merged.isEmpty():
        raise MapbridgeError("the AOI is empty after merging its features", service=MAPFLOW,
                             hint="Select or draw at least one polygon with an area")
    if not merged.isGeosValid():
        merged = repaired(merged, "after reprojection", notes)
    box = merged.boundingBox()
    if box.xMinimum() < -180.0001 or box.xMaximum() > 180.0001 or box.yMinimum() < -90.0001 \
            or box.yMaximum() > 90.0001:
        raise MapbridgeError("the AOI is outside the valid longitude/latitude range", service=MAPFLOW,
                             hint="Check the coordinate reference system of the AOI layer")
    area = ellipsoidal_area_m2(merged, context)
    if area <= 0:
        raise MapbridgeError("the AOI has no area", service=MAPFLOW, hint="Draw or select a polygon with an area")
    return Aoi(merged, area, count, notes)


def aoi_from_source(source, transform_context=None, feedback=None, features=None):
    """An Aoi from a QgsFeatureSource (a Processing source honours 'selected features only').

    features: an iterator over the source to use instead of source.getFeatures() (e.g. one that skips the
    Processing geometry validity checks, since invalid polygons are repaired here).
    """
    geometries, labels = [], []
    for feature in features if features is not None else source.getFeatures():
        if feedback is not None and feedback.isCanceled():
            break
        geometries.append(feature.geometry())
        labels.append(f"feature {feature.id()}")
    return build_aoi(geometries, source.sourceCrs(), transform_context, labels)


def aoi_from_rectangle(rectangle: QgsRectangle, crs, transform_context=None):
    """An Aoi from an extent (canvas extent or a drawn rectangle)."""
    return build_aoi([QgsGeometry.fromRect(rectangle)], crs, transform_context, ["extent"])


def save_aoi_geojson(aoi, path):
    """Write the AOI as a one-feature GeoJSON file (WGS84), e.g. to hand it to a Processing algorithm."""
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"area_km2": round(aoi.area_km2, 6)}, "geometry": aoi.geojson()}]}
    with open(path, "w", encoding="utf-8") as out:
        json.dump(collection, out)
    return path
