"""Algorithm outputs in one place: a plain file written directly, anything else through a QGIS sink, and what
happens when QGIS loads the output (styles, custom properties) through post-processors kept alive here."""

from __future__ import annotations

import os
from collections import deque

from qgis.core import (
    QgsFeature,
    QgsProcessingContext,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingOutputLayerDefinition,
    QgsVectorFileWriter,
)

from ..api.errors import CancelledError, MapbridgeError
from ..core.qgis_compat import fast_insert_flag, property_type

# QGIS does not own Python post-processors: the last ones stay referenced until QGIS has run them.
_ALIVE = deque(maxlen=64)

# File formats written directly with GDAL; anything else (memory:, database URIs) goes through a QGIS sink.
DRIVERS = {".gpkg": "GPKG", ".shp": "ESRI Shapefile", ".geojson": "GeoJSON", ".json": "GeoJSON",
           ".fgb": "FlatGeobuf", ".sqlite": "SQLite", ".gml": "GML", ".kml": "KML", ".csv": "CSV",
           ".tab": "MapInfo File", ".geojsonl": "GeoJSONSeq", ".geojsons": "GeoJSONSeq"}


def driver_for(path):
    """The GDAL driver name for a file destination, or None when it is not a plain file path."""
    if not isinstance(path, str) or not path or "|" in path or path.startswith(("memory:", "ogr:", "postgres:",
                                                                                   "postgis:", "spatialite:")):
        return None
    ext = os.path.splitext(path)[1].lower()
    if ext in DRIVERS:
        return DRIVERS[ext]
    driver = QgsVectorFileWriter.driverForExtension(ext) if ext else ""
    return driver or None


def plain_file_destination(algorithm, parameters, name, context, extensions=None):
    """The file an output parameter resolves to when GDAL can write it directly (optionally only these
    extensions, e.g. (".gpkg",)), else None: memory layers and database URIs go through a QGIS sink."""
    value = parameters.get(name)
    if isinstance(value, QgsProcessingOutputLayerDefinition) and \
            value.sink.propertyType() != property_type("Static"):
        return None
    path = algorithm.parameterAsOutputLayer(parameters, name, context)
    if not driver_for(path):
        return None
    if extensions and not path.lower().endswith(tuple(extensions)):
        return None
    return path


def load_on_completion(algorithm, parameters, name, context, output, default_name):
    """For a file written directly: load it when the user asked to, as parameterAsSink would have arranged."""
    definition = parameters.get(name)
    if context.willLoadLayerOnCompletion(output) or not isinstance(definition, QgsProcessingOutputLayerDefinition):
        return
    if definition.destinationProject is not None:
        context.addLayerToLoadOnCompletion(output, QgsProcessingContext.LayerDetails(
            definition.destinationName or default_name, definition.destinationProject, name))


class _CallbackPostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Calls back with the output layer once QGIS has loaded it (main thread)."""

    def __init__(self, callback):
        super().__init__()
        self.callback = callback

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 - QGIS API name
        self.callback(layer)


def when_loaded(context, output, callback):
    """Run callback(layer) when QGIS loads this output into the project (toolbox, model designer, dock)."""
    if output and context.willLoadLayerOnCompletion(output):
        processor = _CallbackPostProcessor(callback)
        _ALIVE.append(processor)
        context.layerToLoadOnCompletionDetails(output).setPostProcessor(processor)


def copy_into_sink(layer, make_sink, feedback, progress_range=(0.0, 100.0), fields=None, convert=None):
    """Copy every feature of a layer into a sink made by make_sink(fields, wkb_type, crs); (sink id, count).

    fields: the sink's fields (default: the layer's); convert(values) -> values adapts each row to them."""
    fields = fields if fields is not None else layer.fields()
    sink, sink_id = make_sink(fields, layer.wkbType(), layer.crs())
    if sink is None:
        raise MapbridgeError("the output layer could not be created", hint="Choose another output")
    low, high = progress_range or (None, None)
    total = max(1, layer.featureCount())
    count = 0
    source_feature, fast = QgsFeature(), fast_insert_flag()
    out = QgsFeature(fields)
    iterator = layer.getFeatures()
    while iterator.nextFeature(source_feature):
        if count % 1000 == 0:
            if feedback.isCanceled():
                raise CancelledError("Writing the output was cancelled; it is incomplete")
            if progress_range:
                feedback.setProgress(low + (high - low) * count / total)
        if convert is None:
            row = source_feature
        else:
            out.setGeometry(source_feature.geometry())
            out.setAttributes(convert(source_feature.attributes()))
            row = out
        if not sink.addFeature(row, fast):
            raise MapbridgeError(f"writing feature {count + 1} to the output failed",
                                 hint=f"Check the output ({sink.lastError() if hasattr(sink, 'lastError') else ''})")
        count += 1
    return sink_id, count
