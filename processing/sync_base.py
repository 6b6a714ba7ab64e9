"""Shared frame of the two sync algorithms: input layer, key, report layer, counts; subclasses build the service's
side of the sync."""

from __future__ import annotations

import os

from qgis.core import (
    QgsFeatureRequest,
    QgsProcessingException,
    QgsProcessingFeatureSourceDefinition,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingUtils,
)

from ..core.qgis_compat import skip_validity_checks_flag, source_type
from ..core.sync.choices import COUNT_KEYS, SELECTED_ONLY
from .base import MapbridgeAlgorithm
from .push_base import field_parameter

LINK_PROPERTY = "mapbridge/sync"        # the layer remembers (in the project) that it is synced, for the Layers panel


class SyncAlgorithm(MapbridgeAlgorithm):
    """INPUT → compare with the link → send what changed → OUTPUT report; results also carry the seven counts."""

    INPUT = "INPUT"
    OUTPUT = "OUTPUT"
    KEY_FIELD = "KEY_FIELD"
    MAP_ID = "MAP_ID"
    group_id = "sync"
    group_name = "Sync"
    service = ""
    returns_map_id = False

    def __init__(self):
        super().__init__()
        self.synced = None          # (layer id, link summary) for postProcessAlgorithm
        self.generated_fields = []  # fields the data source makes up (a GeoPackage's fid), not sent by default

    def add_input(self):
        """INPUT: a vector layer (a file or a project layer: the link is kept with it)."""
        self.addParameter(QgsProcessingParameterFeatureSource(self.INPUT, "Layer to keep in sync",
                                                              [source_type("Vector")]))

    def add_key(self):
        """KEY_FIELD: what identifies a feature across edits (default: the feature id)."""
        self.addParameter(field_parameter(self.KEY_FIELD, "Key field (default: the feature id)", self.INPUT))

    def add_output(self):
        """OUTPUT report layer and the counts."""
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, "Sync report",
                                                            source_type("VectorAnyGeometry")))
        for status, key in COUNT_KEYS.items():
            self.addOutput(QgsProcessingOutputNumber(key, f"Features {status.replace('_', ' ')}"))

    def field_name(self, parameters, name, context):
        """The single field chosen for a field parameter, or None."""
        from ..core.qgis_compat import field_names_parameter

        fields = field_names_parameter(self, parameters, name, context)
        return fields[0] if fields else None

    def input_layer(self, parameters, context):
        """The layer behind INPUT (also when it is 'selected features only'), or None."""
        layer = self.parameterAsVectorLayer(parameters, self.INPUT, context)
        value = parameters.get(self.INPUT)
        if layer is None and isinstance(value, QgsProcessingFeatureSourceDefinition):
            name = value.source.valueAsString(context.expressionContext())[0]
            layer = QgsProcessingUtils.mapLayerFromString(name, context)
        return layer

    def build(self, parameters, context, feedback, source):
        """(applier, remembered parameters, new map title or None) for this service."""
        raise NotImplementedError

    def run_job(self, parameters, context, feedback):
        """Read the link, sync the input with the map, write the report, return the results."""
        from ..api.errors import MapbridgeError
        from ..core.gc_guard import quiet_gc
        from ..core.push.report import ReportWriter, report_fields
        from ..core.sync.place import place_of
        from ..core.sync.session import sync_layer

        source = self.source_of(parameters, self.INPUT, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.INPUT))
        layer = self.input_layer(parameters, context)
        if layer is None:
            raise MapbridgeError("the input must be a layer (a file or a layer of the project) so that its link to "
                                 "the map can be kept", service=self.service,
                                 hint="Save the features to a GeoPackage and sync that layer")
        place = place_of(layer)
        if _temporary(layer):
            feedback.pushWarning(f"{layer.name()} is a temporary layer: the next sync of another temporary layer will "
                                 f"not find this link and sends every feature again. Sync a saved layer instead.")
        provider_fields = layer.dataProvider().fields()
        self.generated_fields = [provider_fields.at(i).name() for i in layer.dataProvider().pkAttributeIndexes()]
        key_field = self.field_name(parameters, self.KEY_FIELD, context)
        applier, remembered, new_map_title = self.build(parameters, context, feedback, source)
        remembered[self.KEY_FIELD] = key_field
        remembered[SELECTED_ONLY] = selected_only(parameters.get(self.INPUT)) or None
        fields = report_fields(source.fields())
        sink, dest_id = self.parameterAsSink(parameters, self.OUTPUT, context, fields, source.wkbType(),
                                             source.sourceCrs())
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        features = source.getFeatures(QgsFeatureRequest(), skip_validity_checks_flag())
        # From the link's entries to the last report row the job makes tens of thousands of objects: a full
        # collection of the whole QGIS process among them costs more than the rest of a small sync.
        with quiet_gc():
            rows, tally, link = sync_layer(applier, place, source, features, key_field, remembered, feedback,
                                           new_map_title)
            report = ReportWriter(sink, fields, feedback, source.fields())
            report.write_rest(rows)
        if report.incomplete_rows:
            feedback.reportError(f"{report.incomplete_rows:,} report rows lack the input attributes (the output "
                                 f"refused them: {report.last_refusal or 'no reason given'}); their push_error says "
                                 "so. Choose another output format to keep them.")
        del sink, report        # closes a file output so the report is complete on disk
        feedback.setProgress(100.0)
        if link.map_id:
            self.synced = (layer.id(), {"service": self.service, "map_id": link.map_id, "last_sync": link.last_sync,
                                        "key_field": link.key_field})
        results = {self.OUTPUT: dest_id}
        if self.returns_map_id:
            results[self.MAP_ID] = link.map_id
        results.update(tally)
        return results

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802 - QGIS API name
        """On the main thread: a project layer remembers it is synced (the Layers panel shows it)."""
        if self.synced is not None and context.project() is not None:
            layer_id, summary = self.synced
            layer = context.project().mapLayer(layer_id)
            if layer is not None:
                from ..core.sync.marker import mark_synced

                mark_synced(layer, summary)
        return {}


def selected_only(value):
    """True when INPUT is a layer's selection ('Selected features only')."""
    return bool(getattr(value, "selectedFeaturesOnly", False)) if isinstance(
        value, QgsProcessingFeatureSourceDefinition) else False


def _temporary(layer):
    """A layer written to Processing's temporary folder (e.g. an earlier step of a model)."""
    folder = os.path.realpath(QgsProcessingUtils.tempFolder())
    path = os.path.realpath(layer.source().split("|")[0])
    return path.startswith(folder + os.sep)
