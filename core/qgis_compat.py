"""Enum values that moved between QGIS 3.22 and QGIS 4, in one place (newest spelling first)."""

from __future__ import annotations

from qgis.core import (
    Qgis,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsGeometry,
    QgsMapLayerProxyModel,
    QgsProcessing,
    QgsProcessingFeatureSource,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterNumber,
    QgsProperty,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant


def _qgis_enum(enum_name, member, legacy):
    """Qgis.<enum_name>.<member> where it exists (3.3x+, QGIS 4), else legacy() (3.22)."""
    enum = getattr(Qgis, enum_name, None)
    if enum is not None and hasattr(enum, member):
        return getattr(enum, member)
    return legacy()


def source_type(member):
    """A Processing source type: Vector, VectorAnyGeometry, VectorPoint, VectorLine, VectorPolygon, Raster."""
    return _qgis_enum("ProcessingSourceType", member, lambda: getattr(QgsProcessing.SourceType, "Type" + member))


def number_type(member):
    """A number parameter type: Integer or Double."""
    return _qgis_enum("ProcessingNumberParameterType", member,
                      lambda: getattr(QgsProcessingParameterNumber.Type, member))


def datetime_type(member):
    """A date/time parameter type: Date, Time or DateTime."""
    return _qgis_enum("ProcessingDateTimeParameterDataType", member,
                      lambda: getattr(QgsProcessingParameterDateTime.Type, member))


def advanced(parameter):
    """Mark a Processing parameter as advanced (collapsed in the dialog)."""
    flag = _qgis_enum("ProcessingParameterFlag", "Advanced",
                      lambda: QgsProcessingParameterDefinition.Flag.FlagAdvanced)
    parameter.setFlags(parameter.flags() | flag)
    return parameter


def skip_validity_checks_flag():
    """The feature-source flag that reads invalid geometries instead of aborting (Processing setting)."""
    return _qgis_enum("ProcessingFeatureSourceFlag", "SkipGeometryValidityChecks",
                      lambda: QgsProcessingFeatureSource.Flag.FlagSkipGeometryValidityChecks)


def fast_insert_flag():
    """QgsFeatureSink's FastInsert flag."""
    return _qgis_enum("FeatureSinkFlag", "FastInsert", lambda: QgsFeatureSink.Flag.FastInsert)


def layer_filter(member):
    """A QgsMapLayerComboBox filter: VectorLayer, PointLayer, PolygonLayer, RasterLayer…"""
    return _qgis_enum("LayerFilter", member, lambda: getattr(QgsMapLayerProxyModel.Filter, member))


def vector_layer_type():
    """The vector member of the layer-type enum."""
    def legacy():
        from qgis.core import QgsMapLayerType

        return QgsMapLayerType.VectorLayer

    return _qgis_enum("LayerType", "Vector", legacy)


def geometry_type(member):
    """A geometry type: Point, Line, Polygon, Unknown, Null."""
    return _qgis_enum("GeometryType", member, lambda: getattr(QgsWkbTypes.GeometryType, member + "Geometry"))


def wkb_type(member):
    """A WKB geometry type: Point, PointZ, MultiPolygon…"""
    return _qgis_enum("WkbType", member, lambda: getattr(QgsWkbTypes.Type, member))


def request_flag(member):
    """A QgsFeatureRequest flag: NoGeometry, SubsetOfAttributes…"""
    return _qgis_enum("FeatureRequestFlag", member, lambda: getattr(QgsFeatureRequest.Flag, member))


def geos_validation():
    """The GEOS engine for QgsGeometry.validateGeometry / isGeosValid checks."""
    return _qgis_enum("GeometryValidationEngine", "Geos", lambda: QgsGeometry.ValidationMethod.ValidatorGeos)


def property_type(member):
    """A QgsProperty type: Field, Expression, Static, Invalid."""
    legacy_names = {"Field": "FieldBasedProperty", "Expression": "ExpressionBasedProperty"}
    return _qgis_enum("PropertyType", member,
                      lambda: getattr(QgsProperty, legacy_names.get(member, member + "Property")))


# Attribute field types. QgsField takes QVariant types on QGIS 3.x; QGIS 4 keeps these names as a shim.
FIELD_STRING = QVariant.String
FIELD_INT = QVariant.Int
FIELD_LONG = QVariant.LongLong
FIELD_DOUBLE = QVariant.Double
FIELD_BOOL = QVariant.Bool
FIELD_DATE = QVariant.Date
FIELD_DATETIME = QVariant.DateTime
FIELD_STRING_LIST = QVariant.StringList
FIELD_LIST = QVariant.List
FIELD_MAP = QVariant.Map
