"""Shared bits of the Mapflow algorithms: enum compatibility, the AOI parameter and writing a result output."""

from __future__ import annotations

import os

from qgis.core import (
    Qgis,
    QgsProcessing,
    QgsProcessingOutputLayerDefinition,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterNumber,
    QgsProperty,
)

from ..api.errors import MapbridgeError
from ..core.mapflow_result import ResultFile, copy_into_sink, driver_for, translate
from ..core.mapflow_style import style_on_load
from .base import MapbridgeAlgorithm

GROUP_ID = "mapflow"
GROUP_NAME = "Mapflow"


def polygon_source_type():
    """The 'vector polygon' source type (Qgis.ProcessingSourceType from 3.36, QgsProcessing.SourceType before)."""
    if hasattr(Qgis, "ProcessingSourceType"):
        return Qgis.ProcessingSourceType.VectorPolygon
    return QgsProcessing.SourceType.TypeVectorPolygon


def raster_source_type():
    """The 'raster' source type across QGIS versions."""
    if hasattr(Qgis, "ProcessingSourceType"):
        return Qgis.ProcessingSourceType.Raster
    return QgsProcessing.SourceType.TypeRaster


def number_type(kind):
    """'Integer' or 'Double' number parameter type across QGIS versions."""
    if hasattr(Qgis, "ProcessingNumberParameterType"):
        return getattr(Qgis.ProcessingNumberParameterType, kind)
    return getattr(QgsProcessingParameterNumber.Type, kind)


def _property_type(name):
    """A QgsProperty type (Qgis.PropertyType from 3.36, QgsProperty.Type before)."""
    if hasattr(Qgis, "PropertyType"):
        return getattr(Qgis.PropertyType, name)
    return getattr(QgsProperty.Type, f"{name}Property")


def advanced(parameter):
    """Mark a parameter as advanced (collapsed in the dialog)."""
    if hasattr(Qgis, "ProcessingParameterFlag"):
        parameter.setFlags(parameter.flags() | Qgis.ProcessingParameterFlag.Advanced)
    else:
        parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
    return parameter


def optional_value(parameters, name):
    """The raw value of an optional parameter, None when unset or empty."""
    value = parameters.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, QgsProperty):
        return None if value.propertyType() == _property_type("Invalid") else value
    return value


def file_destination(parameters, name):
    """The file path of a sink parameter when it is a plain file (written directly with GDAL), else None."""
    value = parameters.get(name)
    if isinstance(value, QgsProcessingOutputLayerDefinition):
        sink = value.sink
        if sink.propertyType() != _property_type("Static"):
            return None
        value = sink.staticValue()
    if not isinstance(value, str) or value in ("", "TEMPORARY_OUTPUT"):
        return None
    return value if driver_for(value) else None


def write_result_output(algorithm, parameters, name, context, feedback, geojson_path, layer_name,
                        progress_range=(0.0, 100.0)):
    """Write a downloaded GeoJSON result to the sink parameter `name`; returns (destination, feature count)."""
    result = ResultFile(geojson_path)
    try:
        count = result.count
        feedback.pushInfo(f"The result has {count} features with the fields: {', '.join(result.fields) or '(none)'}.")
        if count == 0:
            feedback.pushWarning("The processing found no objects in the AOI; the output is empty.")
        path = file_destination(parameters, name)
        if path is not None:
            # Fast path: GDAL writes the file directly (all attributes), as ogr2ogr would.
            destination = algorithm.parameterAsOutputLayer(parameters, name, context)
            base = os.path.splitext(os.path.basename(destination))[0] or layer_name
            translate(result.dataset, destination, driver_for(destination), base, result.geometry_type, feedback,
                      progress_range)
        else:
            def make_sink(fields_, wkb_type, crs):
                sink, dest = algorithm.parameterAsSink(parameters, name, context, fields_, wkb_type, crs)
                if sink is None:
                    raise MapbridgeError("the output layer could not be created", hint="Choose another output")
                return sink, dest

            destination, count = copy_into_sink(result, make_sink, feedback, progress_range)
    finally:
        result.close()
    style_on_load(context, destination)
    return destination, count


class MapflowAlgorithm(MapbridgeAlgorithm):
    """Base of the Mapflow algorithms (one service, one group)."""

    services = ("mapflow",)
    group_id = GROUP_ID
    group_name = GROUP_NAME
