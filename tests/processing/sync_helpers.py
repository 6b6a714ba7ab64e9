"""Shared pieces of the sync tests: GeoPackage layers written with OGR, edits made through QGIS, what the sandbox
holds and what it received."""

from __future__ import annotations

from osgeo import ogr, osr
from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsProject, QgsVectorLayer

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# The layers these helpers open belong to the project (conftest removes them after each test). A GeoPackage layer
# Python owns is deleted when the interpreter exits, after QGIS and GDAL are gone (a crash), and an algorithm's
# error keeps its input layer referenced that long (through the frames of the traceback QGIS's error handler keeps).
OWNED = []


def write_gpkg(path, rows, table="places", epsg=4326, legend=False):
    """A GeoPackage with a point table: rows as (x, y, name, code, rank); returns the QGIS layer (in the project,
    in the Layers panel with legend=True)."""
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    layer = ds.CreateLayer(table, srs, ogr.wkbPoint)
    for name, kind in (("name", ogr.OFTString), ("code", ogr.OFTString), ("rank", ogr.OFTInteger),
                       ("kind", ogr.OFTString)):
        layer.CreateField(ogr.FieldDefn(name, kind))
    layer.StartTransaction()
    for x, y, *values in rows:
        feature = ogr.Feature(layer.GetLayerDefn())
        for name, value in zip(("name", "code", "rank", "kind"), values):
            if value is not None:
                feature.SetField(name, value)
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({x!r} {y!r})"))
        layer.CreateFeature(feature)
    layer.CommitTransaction()
    ds = None
    return open_gpkg(path, table, legend)


def open_gpkg(path, table="places", legend=False):
    """The GeoPackage table as a QGIS layer of the project (in the Layers panel with legend=True)."""
    layer = QgsVectorLayer(f"{path}|layername={table}", table, "ogr")
    assert layer.isValid(), path
    QgsProject.instance().addMapLayer(layer, legend)
    OWNED.append(layer.id())
    return layer


def places(n, start=0, kinds=("Cafe", "Shop")):
    """n rows of (x, y, name, code, rank, kind)."""
    return [(4.8 + i * 0.001, 52.3 + i * 0.0005, f"Place {i}", f"P-{i}", i, kinds[i % len(kinds)])
            for i in range(start, start + n)]


def feature_id(layer, field, value):
    """The feature id of the feature whose field holds value."""
    return next(f.id() for f in layer.getFeatures() if f[field] == value)


def edit(layer, *, attributes=(), moves=(), deletes=(), adds=()):
    """Edit through QGIS and commit: attributes as (fid, field, value), moves as (fid, x, y), deletes as fids,
    adds as (x, y, {field: value})."""
    assert layer.startEditing()
    fields = layer.fields()
    for fid, name, value in attributes:
        assert layer.changeAttributeValue(fid, fields.lookupField(name), value)
    for fid, x, y in moves:
        assert layer.changeGeometry(fid, QgsGeometry.fromPointXY(QgsPointXY(x, y)))
    for fid in deletes:
        assert layer.deleteFeature(fid)
    for x, y, values in adds:
        feature = QgsFeature(fields)
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(x, y)))
        for name, value in values.items():
            feature.setAttribute(name, value)
        assert layer.addFeature(feature)
    assert layer.commitChanges(), layer.commitErrors()


def writes(sandbox, service):
    """The write requests a service received."""
    return [r for r in sandbox.requests if r.service == service and r.method in WRITE_METHODS]
