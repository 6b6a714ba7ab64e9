"""Shared bits of the Mapflow algorithms: the AOI and account reads, optional values, writing a result output."""

from __future__ import annotations

import os

from qgis.core import QgsFeatureRequest, QgsProcessingContext, QgsProperty

from ..api.errors import MapbridgeError
from ..core.qgis_compat import property_type, skip_validity_checks_flag
from .base import MapbridgeAlgorithm
from .outputs import copy_into_sink, driver_for, load_on_completion, plain_file_destination, when_loaded

GROUP_ID = "mapflow"
GROUP_NAME = "Mapflow"


def read_aoi(algorithm, parameters, name, context, feedback):
    """The AOI of a polygon source parameter, repaired with makeValid (each repair is logged as a warning)."""
    source = algorithm.source_of(parameters, name, context)
    if source is None:
        raise MapbridgeError("the AOI layer could not be read", service="mapflow", hint="Choose a polygon layer")
    from ..core.mapflow.aoi import aoi_from_source

    # Invalid polygons are read as they are and repaired here: the Processing "stop on invalid geometry"
    # setting would abort inside the feature iterator instead.
    features = source.getFeatures(QgsFeatureRequest(), skip_validity_checks_flag())
    aoi = aoi_from_source(source, context.transformContext(), feedback, features=features)
    for note in aoi.notes:
        feedback.pushWarning(note)
    return aoi


def optional_value(parameters, name):
    """The raw value of an optional parameter, None when unset or empty."""
    value = parameters.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, QgsProperty):
        return None if value.propertyType() == property_type("Invalid") else value
    return value


def write_result_output(algorithm, parameters, name, context, feedback, geojson_path, layer_name,
                        progress_range=(0.0, 100.0), processing_id=""):
    """Write a downloaded GeoJSON result to the sink parameter `name`; returns (destination, feature count, layers).

    A result that mixes polygons, lines and points is written as one layer per geometry type: `destination` is the
    first (polygons when there are any), `layers` every written layer's source."""
    from ..core.mapflow.project_layers import tag
    from ..core.mapflow.result import ResultFile, stage_result, translate
    from ..core.mapflow.result_layers import geometry_groups
    from ..core.mapflow.style import apply_default_style

    result = ResultFile(geojson_path)
    try:
        count = result.count
        feedback.pushInfo(f"The result has {count:,} features with the fields: {', '.join(result.fields) or '(none)'}.")
        if count == 0:
            feedback.pushWarning("The processing found no objects in the AOI; the output is empty.")
        groups = geometry_groups(result)
        destination = plain_file_destination(algorithm, parameters, name, context)
        if groups:
            destination, count, layers = _write_groups(algorithm, parameters, name, context, feedback, result,
                                                       groups, destination)
        elif destination is not None:
            # Fast path: GDAL writes the file directly (all attributes), as ogr2ogr would.
            base = os.path.splitext(os.path.basename(destination))[0] or layer_name
            translate(result.dataset, destination, driver_for(destination), base, result.geometry_type, feedback,
                      progress_range)
            load_on_completion(algorithm, parameters, name, context, destination, "Mapflow result")
            layers = [destination]
        else:
            low, high = progress_range or (0.0, 100.0)
            staged = stage_result(result, feedback, (low, (low + high) / 2) if progress_range else None)
            try:
                destination, count = copy_into_sink(
                    staged, lambda f, w, c: algorithm.parameterAsSink(parameters, name, context, f, w, c), feedback,
                    ((low + high) / 2, high) if progress_range else None, *json_as_text(staged.fields()))
            finally:
                del staged
            layers = [destination]
    finally:
        result.close()
    def finish_layer(layer):
        apply_default_style(layer)
        if processing_id:
            tag(layer, processing_id)

    for source in layers:
        when_loaded(context, source, finish_layer)
    return destination, count, layers


def _write_groups(algorithm, parameters, name, context, feedback, result, groups, destination):
    """Mixed geometries: each kind its own layer. A file output holds them all (a GeoPackage as layers, other
    formats as sibling files); a sink gets the first kind and the others go to a GeoPackage in the temporary
    folder. The extra layers are loaded with the output when QGIS loads it."""
    from qgis.core import QgsProcessingUtils, QgsVectorLayer

    from ..core.mapflow.result_layers import write_groups

    feedback.pushInfo("The result mixes " + ", ".join(f"{count:,} {group}" for group, _, _, count in groups)
                      + "; each kind is written as its own layer.")
    if destination is not None:
        written = write_groups(result.dataset, destination, driver_for(destination), groups, feedback)
        first = written[0][1]
        load_on_completion(algorithm, parameters, name, context, first, "Mapflow result")
        count = written[0][2]
    else:
        parts = QgsProcessingUtils.generateTempFilename("mapflow_result_parts.gpkg")
        written = write_groups(result.dataset, parts, "GPKG", groups, feedback)
        staged = QgsVectorLayer(written[0][1], "result", "ogr")
        try:
            first, count = copy_into_sink(
                staged, lambda f, w, c: algorithm.parameterAsSink(parameters, name, context, f, w, c), feedback, None,
                *json_as_text(staged.fields()))
        finally:
            del staged
        written[0] = (written[0][0], first, count)
    definition = parameters.get(name)
    if context.willLoadLayerOnCompletion(first) or getattr(definition, "destinationProject", None) is not None:
        title = getattr(definition, "destinationName", "") or "Mapflow result"
        for group, source, _ in written[1:]:
            context.addLayerToLoadOnCompletion(source, QgsProcessingContext.LayerDetails(
                f"{title} ({group})", context.project(), name))
    return first, count, [source for _, source, _ in written]


def json_as_text(fields):
    """(fields, convert) for a sink that may not hold JSON objects (memory layers): object and list fields become
    text fields holding the JSON; (None, None) when there are none."""
    import json

    from qgis.core import QgsFields

    from ..core.qgis_compat import FIELD_LIST, FIELD_MAP, FIELD_STRING, FIELD_STRING_LIST, make_field

    kinds = (FIELD_MAP, FIELD_LIST, FIELD_STRING_LIST)
    indexes = [i for i, field in enumerate(fields) if field.type() in kinds]
    if not indexes:
        return None, None
    out = QgsFields()
    for i, field in enumerate(fields):
        out.append(make_field(field.name(), FIELD_STRING) if i in indexes else field)

    def convert(values):
        values = list(values)
        for i in indexes:
            value = values[i]
            if isinstance(value, (dict, list)):
                values[i] = json.dumps(value, ensure_ascii=False)
        return values

    return out, convert


class MapflowAlgorithm(MapbridgeAlgorithm):
    """Base of the Mapflow algorithms (one service, one group)."""

    services = ("mapflow",)
    group_id = GROUP_ID
    group_name = GROUP_NAME

    def prepareAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API name
        """Main thread: make sure what the run notes in RUNS can be saved from the main thread."""
        from ..core.mapflow.tracked import RUNS

        RUNS.attach()
        return super().prepareAlgorithm(parameters, context, feedback)

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802 - QGIS API name
        """Main thread after a successful run: save what the run did to the tracked processings."""
        from ..core.mapflow.tracked import persist_runs

        persist_runs()
        return super().postProcessAlgorithm(context, feedback)
