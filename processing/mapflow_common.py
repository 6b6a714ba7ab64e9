"""Shared bits of the Mapflow algorithms: the AOI and account reads, optional values, writing a result output."""

from __future__ import annotations

import os

from qgis.core import QgsFeatureRequest, QgsProperty

from ..api.errors import MapbridgeError
from ..core.qgis_compat import property_type, skip_validity_checks_flag
from .base import MapbridgeAlgorithm
from .outputs import copy_into_sink, driver_for, load_on_completion, plain_file_destination, when_loaded

GROUP_ID = "mapflow"
GROUP_NAME = "Mapflow"


def read_aoi(algorithm, parameters, name, context, feedback):
    """The AOI of a polygon source parameter, repaired with makeValid (each repair is logged as a warning)."""
    source = algorithm.parameterAsSource(parameters, name, context)
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
                        progress_range=(0.0, 100.0)):
    """Write a downloaded GeoJSON result to the sink parameter `name`; returns (destination, feature count)."""
    from ..core.mapflow.result import ResultFile, stage_result, translate
    from ..core.mapflow.style import apply_default_style

    result = ResultFile(geojson_path)
    try:
        count = result.count
        feedback.pushInfo(f"The result has {count} features with the fields: {', '.join(result.fields) or '(none)'}.")
        if count == 0:
            feedback.pushWarning("The processing found no objects in the AOI; the output is empty.")
        destination = plain_file_destination(algorithm, parameters, name, context)
        if destination is not None:
            # Fast path: GDAL writes the file directly (all attributes), as ogr2ogr would.
            base = os.path.splitext(os.path.basename(destination))[0] or layer_name
            translate(result.dataset, destination, driver_for(destination), base, result.geometry_type, feedback,
                      progress_range)
            load_on_completion(algorithm, parameters, name, context, destination, "Mapflow result")
        else:
            low, high = progress_range or (0.0, 100.0)
            staged = stage_result(result, feedback, (low, (low + high) / 2) if progress_range else None)
            try:
                destination, count = copy_into_sink(
                    staged, lambda f, w, c: algorithm.parameterAsSink(parameters, name, context, f, w, c), feedback,
                    ((low + high) / 2, high) if progress_range else None)
            finally:
                del staged
    finally:
        result.close()
    when_loaded(context, destination, apply_default_style)
    return destination, count


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
