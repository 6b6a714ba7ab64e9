"""Shared frame of the three push algorithms: input, report layer, counts; subclasses build payloads and the job."""

from __future__ import annotations

from qgis.core import (
    QgsFeatureRequest,
    QgsProcessingException,
    QgsProcessingFeatureSourceDefinition,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterString,
    QgsProcessingUtils,
)

from ..core.push.choices import COUNT_KEYS, GEOMETRY_MODES, MODE_POINT_ON_SURFACE
from ..core.qgis_compat import FIELD_DATETIME, field_names_parameter, skip_validity_checks_flag, source_type
from .base import MapbridgeAlgorithm

SKIPPED_WHY = "SKIPPED_WHY"     # the skip reasons in one line ("" when nothing was skipped), for the dock's summary


def field_parameter(name, description, parent, optional=True, multiple=False):
    """A field (or several) of the INPUT layer."""
    return QgsProcessingParameterField(name, description, parentLayerParameterName=parent, allowMultiple=multiple,
                                       optional=optional)


def add_mapiry_target(algorithm):
    """MAP_ID or NEW_MAP_TITLE, NAME_FIELD, DESCRIPTION_FIELD and GEOMETRY_MODE: the Mapiry side of a push or sync."""
    algorithm.addParameter(QgsProcessingParameterString("MAP_ID", "Map id (leave empty to create a new map)",
                                                        optional=True))
    algorithm.addParameter(QgsProcessingParameterString("NEW_MAP_TITLE", "Title of a new map (when no map id)",
                                                        optional=True))
    algorithm.addParameter(field_parameter("NAME_FIELD", "Name field", "INPUT", optional=False))
    algorithm.addParameter(field_parameter("DESCRIPTION_FIELD", "Description field", "INPUT"))
    algorithm.addParameter(QgsProcessingParameterEnum("GEOMETRY_MODE", "Lines and polygons become",
                                                      list(GEOMETRY_MODES), defaultValue=MODE_POINT_ON_SURFACE))


class PushAlgorithm(MapbridgeAlgorithm):
    """INPUT → payloads → job → OUTPUT report; the result also carries the counts (CREATED … FAILED, NOT_SENT)."""

    INPUT = "INPUT"
    OUTPUT = "OUTPUT"
    group_id = "push"
    group_name = "Push"

    def add_input(self, description="Features to push"):
        """INPUT: any vector layer; the dialog's 'Selected features only' applies as everywhere in QGIS."""
        self.addParameter(QgsProcessingParameterFeatureSource(self.INPUT, description, [source_type("Vector")]))

    def add_output(self):
        """OUTPUT report layer and the counts."""
        report = QgsProcessingParameterFeatureSink(self.OUTPUT, "Push report", source_type("VectorAnyGeometry"))
        self.addParameter(report)
        for status, key in COUNT_KEYS.items():
            self.addOutput(QgsProcessingOutputNumber(key, f"Features {status}"))
        self.addOutput(QgsProcessingOutputString(SKIPPED_WHY, "Why features were skipped"))

    def field_name(self, parameters, name, context):
        """The single field chosen for a field parameter, or None."""
        fields = field_names_parameter(self, parameters, name, context)
        return fields[0] if fields else None

    def key_fields(self, parameters, context):
        """The INPUT layer's primary key fields (not sent by default, as in a sync), [] when INPUT is no layer."""
        from ..core.push.payloads import key_field_names

        layer = self.parameterAsVectorLayer(parameters, self.INPUT, context)
        value = parameters.get(self.INPUT)
        if layer is None and isinstance(value, QgsProcessingFeatureSourceDefinition):
            layer = QgsProcessingUtils.mapLayerFromString(value.source.valueAsString(context.expressionContext())[0],
                                                          context)
        return key_field_names(layer)

    def build(self, parameters, context, feedback, source):
        """(job, make_payload) for this service; may call the service (main work runs in run())."""
        raise NotImplementedError

    def _zone_dropped(self, parameters, context, source):
        """True when the input is a GeoPackage whose UTC date-times this QGIS reads as local time."""
        from ..core.push.values import ogr_drops_time_zones

        if not any(field.type() == FIELD_DATETIME for field in source.fields()):
            return False
        layer = self.parameterAsVectorLayer(parameters, self.INPUT, context)
        if layer is None or layer.providerType() != "ogr":
            return False
        is_gpkg = (layer.dataProvider().storageType() or "").upper() == "GPKG" or \
            layer.source().split("|")[0].lower().endswith(".gpkg")
        return is_gpkg and ogr_drops_time_zones()

    def extra_results(self, job):
        """Results besides the report and the counts."""
        return {}

    def run_job(self, parameters, context, feedback):
        """Gather the features, push them, write the report, return the results."""
        from ..core.push.report import ReportWriter, report_failure, report_fields, report_problem, save_remote_ids
        from ..core.push.items import describe_skips, skip_reasons
        from ..core.push.run import run_push

        source = self.source_of(parameters, self.INPUT, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.INPUT))
        job, make_payload = self.build(parameters, context, feedback, source)
        make_payload.local_is_utc = self._zone_dropped(parameters, context, source)
        fields = report_fields(source.fields())
        sink, dest_id = self.parameterAsSink(parameters, self.OUTPUT, context, fields, source.wkbType(),
                                             source.sourceCrs())
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        total = max(0, source.featureCount())
        # Invalid geometries are skipped with a reason by the push itself, whatever the Processing setting says.
        features = source.getFeatures(QgsFeatureRequest(), skip_validity_checks_flag())
        report = ReportWriter(sink, fields, feedback, source.fields())
        items, tally = run_push(job, features, make_payload, feedback, total, report)
        report.write_rest(items)
        if report.incomplete_rows:
            feedback.reportError(f"{report.incomplete_rows:,} report rows lack the input attributes (the output "
                                 f"refused them: {report.last_refusal or 'no reason given'}); their push_error says "
                                 "so. Choose another output format to keep them.")
        del sink                # closes a file output so the report is complete on disk
        problem = report_problem(report, dest_id, context, len(items))
        if problem:
            # The report is the record of the remote ids: a push whose report is lost does not end as a success.
            saved = save_remote_ids(items, job.service, dest_id, feedback)
            raise report_failure(items, tally, job.service, dest_id, problem, saved)
        if not feedback.isCanceled():
            feedback.setProgress(100.0)     # a cancelled push's bar stays where the push stopped
        reasons = skip_reasons(items)
        results = {self.OUTPUT: dest_id, SKIPPED_WHY: describe_skips(reasons) if reasons else ""}
        results.update(tally)
        results.update(self.extra_results(job))
        return results
