"""Everything that differs between QGIS 3.22 and QGIS 4 (enums, field types, deprecated calls), in one place."""

from __future__ import annotations

from qgis.core import (
    Qgis,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsField,
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
from qgis.PyQt.QtCore import QMetaType, QVariant


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


# Attribute field types: QMetaType types from QGIS 3.38 on (QGIS 4 has no other kind), QVariant types before.
_META_TYPES = Qgis.versionInt() >= 33800


def _field_type(meta_name, variant_name):
    return getattr(QMetaType.Type, meta_name) if _META_TYPES else getattr(QVariant, variant_name)


FIELD_STRING = _field_type("QString", "String")
FIELD_INT = _field_type("Int", "Int")
FIELD_LONG = _field_type("LongLong", "LongLong")
FIELD_DOUBLE = _field_type("Double", "Double")
FIELD_BOOL = _field_type("Bool", "Bool")
FIELD_DATE = _field_type("QDate", "Date")
FIELD_TIME = _field_type("QTime", "Time")
FIELD_DATETIME = _field_type("QDateTime", "DateTime")
FIELD_BINARY = _field_type("QByteArray", "ByteArray")
FIELD_STRING_LIST = _field_type("QStringList", "StringList")
FIELD_LIST = _field_type("QVariantList", "List")
FIELD_MAP = _field_type("QVariantMap", "Map")


def make_field(name, kind, type_name="", length=0, precision=0, comment="", sub_type=None):
    """A QgsField of one of the FIELD_* types (the constructor that is not deprecated on this QGIS)."""
    if sub_type is None:
        return QgsField(name, kind, type_name, length, precision, comment)
    return QgsField(name, kind, type_name, length, precision, comment, sub_type)


def field_names_parameter(algorithm, parameters, name, context):
    """The field names chosen for a field parameter (parameterAsFields is deprecated from QGIS 3.40)."""
    if hasattr(algorithm, "parameterAsStrings"):
        return algorithm.parameterAsStrings(parameters, name, context)
    return algorithm.parameterAsFields(parameters, name, context)
