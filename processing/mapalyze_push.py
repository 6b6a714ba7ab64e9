"""Algorithm `mapbridge:mapalyze_push`: features → new records of a Mapalyze form."""

from __future__ import annotations

from qgis.core import QgsProcessingParameterString

from ..core.qgis_compat import field_names_parameter
from .push_base import PushAlgorithm, field_parameter


class MapalyzePushAlgorithm(PushAlgorithm):
    """Create one record per feature in a Mapalyze form."""

    services = ("mapalyze",)
    FORM_ID = "FORM_ID"
    FIELDS = "FIELDS"
    CAPTURED_AT_FIELD = "CAPTURED_AT_FIELD"
    help_text = (
        "Creates one record per feature in the Mapalyze form FORM_ID: the point (lines and polygons give a point "
        "on their surface) in WGS84 as [lng, lat] (with the altitude when the layer has Z), the FIELDS (default: "
        "all but the layer's primary key, e.g. a GeoPackage's fid, and a record_id; binary fields are left out) as "
        "the record's data, and "
        "CAPTURED_AT_FIELD as its capture time (ISO 8601). Features without a usable geometry are skipped with the "
        "reason. Features that came from the form (their record_id is one of its records) are never created again; "
        "with a capture time, records already in the form (same place, time and values) are not created again. "
        "OUTPUT lists every input feature with remote_id, push_status and push_error.")

    def name(self):
        return "mapalyze_push"

    def displayName(self):  # noqa: N802 - QGIS API name
        return "Push features to Mapalyze"

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.add_input("Features to push (points, or a point on each surface)")
        self.addParameter(QgsProcessingParameterString(self.FORM_ID, "Form id"))
        self.addParameter(field_parameter(self.FIELDS, "Fields to send as the record's data (default all)",
                                          self.INPUT, multiple=True))
        self.addParameter(field_parameter(self.CAPTURED_AT_FIELD, "Capture time field", self.INPUT))
        self.add_output()

    def build(self, parameters, context, feedback, source):
        from ..core.push.payloads import MapalyzePayloads
        from ..core.push.mapalyze import MapalyzePush

        payloads = MapalyzePayloads(
            source.fields(), source.sourceCrs(), context.transformContext(),
            field_names=field_names_parameter(self, parameters, self.FIELDS, context),
            captured_at_field=self.field_name(parameters, self.CAPTURED_AT_FIELD, context),
            key_fields=self.key_fields(parameters, context))
        job = MapalyzePush(self.clients["mapalyze"], feedback,
                           self.parameterAsString(parameters, self.FORM_ID, context))
        return job, payloads
