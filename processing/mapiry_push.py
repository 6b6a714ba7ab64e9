"""Algorithm `mapbridge:mapiry_push`: features → named locations on a Mapiry map."""

from __future__ import annotations

from qgis.core import QgsProcessingOutputString

from .push_base import PushAlgorithm, add_mapiry_target


class MapiryPushAlgorithm(PushAlgorithm):
    """Bulk-create one location per feature, without duplicating what is already on the map."""

    services = ("mapiry",)
    MAP_ID = "MAP_ID"
    NEW_MAP_TITLE = "NEW_MAP_TITLE"
    NAME_FIELD = "NAME_FIELD"
    DESCRIPTION_FIELD = "DESCRIPTION_FIELD"
    GEOMETRY_MODE = "GEOMETRY_MODE"
    help_text = (
        "Creates one Mapiry location per feature (name, lat/lng, optional description) on the map MAP_ID, or on a "
        "new map titled NEW_MAP_TITLE. Coordinates are transformed to WGS84; lines and polygons become a point on "
        "their surface or their centroid, or are skipped (GEOMETRY_MODE). Features without a name or a usable "
        "geometry are skipped with the reason. Locations go 100 per request; a rejected one does not stop the "
        "others. When the bulk rate limit (20 requests an hour) is used up the push waits and says when it goes "
        "on. Locations already on the map (same name and coordinates) are not sent again, so re-running a "
        "cancelled or failed push finishes it without duplicates. OUTPUT lists every input feature with "
        "remote_id, push_status and push_error.")

    def name(self):
        return "mapiry_push"

    def displayName(self):  # noqa: N802 - QGIS API name
        return "Push features to Mapiry"

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.add_input()
        add_mapiry_target(self)
        self.add_output()
        self.addOutput(QgsProcessingOutputString(self.MAP_ID, "Map id"))

    def build(self, parameters, context, feedback, source):
        from ..core.push.payloads import MapiryPayloads
        from ..core.push.mapiry import MapiryPush

        payloads = MapiryPayloads(
            source.fields(), source.sourceCrs(), context.transformContext(),
            name_field=self.field_name(parameters, self.NAME_FIELD, context),
            description_field=self.field_name(parameters, self.DESCRIPTION_FIELD, context),
            geometry_mode=self.parameterAsEnum(parameters, self.GEOMETRY_MODE, context))
        job = MapiryPush(self.clients["mapiry"], feedback,
                         map_id=self.parameterAsString(parameters, self.MAP_ID, context),
                         new_map_title=self.parameterAsString(parameters, self.NEW_MAP_TITLE, context))
        if not job.map_id and not job.new_map_title:
            job.prepare()       # raises the clear "give MAP_ID or NEW_MAP_TITLE" error before anything happens
        return job, payloads

    def extra_results(self, job):
        return {self.MAP_ID: job.map_id or ""}
