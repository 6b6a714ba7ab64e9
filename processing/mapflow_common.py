"""Shared bits of the Mapflow algorithms: the AOI and account reads, optional values, writing a result output."""

from __future__ import annotations

import os

from qgis.core import QgsFeatureRequest, QgsProcessingOutputLayerDefinition, QgsProperty

from ..api.errors import MapbridgeError, ServiceError
from ..core.mapflow.account import Account, read_account
from ..core.mapflow.aoi import aoi_from_source
from ..core.mapflow.result import ResultFile, copy_into_sink, driver_for, translate
from ..core.mapflow.tracked import RUNS, persist_runs
from ..core.mapflow.style import style_on_load
from ..core.qgis_compat import property_type, skip_validity_checks_flag
from .base import MapbridgeAlgorithm

GROUP_ID = "mapflow"
GROUP_NAME = "Mapflow"


def read_aoi(algorithm, parameters, name, context, feedback):
    """The AOI of a polygon source parameter, repaired with makeValid (each repair is logged as a warning)."""
    source = algorithm.parameterAsSource(parameters, name, context)
    if source is None:
        raise MapbridgeError("the AOI layer could not be read", service="mapflow", hint="Choose a polygon layer")
    # Invalid polygons are read as they are and repaired here: the Processing "stop on invalid geometry"
    # setting would abort inside the feature iterator instead.
    features = source.getFeatures(QgsFeatureRequest(), skip_validity_checks_flag())
    aoi = aoi_from_source(source, context.transformContext(), feedback, features=features)
    for note in aoi.notes:
        feedback.pushWarning(note)
    return aoi


def read_account_leniently(client, feedback):
    """The account status, logged; an unreadable status (other than auth) gives an empty Account and a warning."""
    try:
        account = read_account(client)
    except ServiceError as exc:
        if exc.status in (401, 403):
            raise
        feedback.pushWarning(f"The account status could not be read ({exc.message}); limits are not checked "
                             "here, the service checks them.")
        return Account()
    feedback.pushInfo(f"Account: billing {account.billing_type or 'unknown'}, {account.balance_text()}, "
                      f"{account.limit_text()}.")
    return account


def optional_value(parameters, name):
    """The raw value of an optional parameter, None when unset or empty."""
    value = parameters.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, QgsProperty):
        return None if value.propertyType() == property_type("Invalid") else value
    return value


def file_destination(parameters, name):
    """The file path of a sink parameter when it is a plain file (written directly with GDAL), else None."""
    value = parameters.get(name)
    if isinstance(value, QgsProcessingOutputLayerDefinition):
        sink = value.sink
        if sink.propertyType() != property_type("Static"):
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

    def prepareAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API name
        """Main thread: make sure what the run notes in RUNS can be saved from the main thread."""
        RUNS.attach()
        return super().prepareAlgorithm(parameters, context, feedback)

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802 - QGIS API name
        """Main thread after a successful run: save what the run did to the tracked processings."""
        persist_runs()
        return super().postProcessAlgorithm(context, feedback)
