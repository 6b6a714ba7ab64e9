"""Algorithm `mapbridge:mapiry_sync`: keep a Mapiry map holding exactly a layer's features as locations, sending
only what changed since the last sync."""

from __future__ import annotations

from qgis.core import QgsProcessingOutputString

from .push_base import add_mapiry_target, field_parameter
from .sync_base import SyncAlgorithm


class MapirySyncAlgorithm(SyncAlgorithm):
    """Bulk-create what is new, PUT what changed, DELETE what left; unchanged locations are not sent."""

    services = ("mapiry",)
    service = "mapiry"
    returns_map_id = True
    NEW_MAP_TITLE = "NEW_MAP_TITLE"
    NAME_FIELD = "NAME_FIELD"
    DESCRIPTION_FIELD = "DESCRIPTION_FIELD"
    GEOMETRY_MODE = "GEOMETRY_MODE"
    LAYER_FIELD = "LAYER_FIELD"
    help_text = (
        "Keeps the Mapiry map MAP_ID (or a new map titled NEW_MAP_TITLE, made at the first sync and reused by the "
        "next ones) holding exactly the features of INPUT as locations (with 'Selected features only', the "
        "selection): new features are created 100 per bulk request, changed ones (name, description, position) "
        "updated one by one, ones that left the layer deleted, and unchanged ones not sent at all; a second sync "
        "with no change sends no write request, so the bulk limit of 20 requests an hour is spent on new features "
        "only. GEOMETRY_MODE says what lines and polygons become (as in mapiry_push). The values of LAYER_FIELD "
        "become Mapiry layers (created when missing) and each location joins its layer. KEY_FIELD says what "
        "identifies a feature across edits (default: the feature id, stable in a GeoPackage). The link is kept in "
        "the layer's GeoPackage, or in the Mapbridge data folder for other layers. A location someone deleted is "
        "created again and reported; a map that was deleted or emptied is reported, not filled again. OUTPUT lists "
        "every input feature and every deleted one with remote_id, push_status (created, updated, deleted, "
        "unchanged, skipped, failed, not_sent) and push_error.")

    def name(self):
        return "mapiry_sync"

    def displayName(self):  # noqa: N802 - QGIS API name
        return "Sync a layer with a Mapiry map"

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.add_input()
        add_mapiry_target(self)
        self.add_key()
        self.addParameter(field_parameter(self.LAYER_FIELD, "Layer field (its values become Mapiry layers)",
                                          self.INPUT))
        self.add_output()
        self.addOutput(QgsProcessingOutputString(self.MAP_ID, "Map id"))

    def build(self, parameters, context, feedback, source):
        from ..api.errors import MapbridgeError
        from ..core.sync.mapiry import MapirySync

        map_id = self.parameterAsString(parameters, self.MAP_ID, context).strip()
        title = self.parameterAsString(parameters, self.NEW_MAP_TITLE, context).strip()
        if not map_id and not title:
            raise MapbridgeError("no map given", service=self.service,
                                 hint="Give the id of a map (MAP_ID) or a title for a new one (NEW_MAP_TITLE)")
        remembered = {self.MAP_ID: map_id, self.NEW_MAP_TITLE: title,
                      self.NAME_FIELD: self.field_name(parameters, self.NAME_FIELD, context),
                      self.DESCRIPTION_FIELD: self.field_name(parameters, self.DESCRIPTION_FIELD, context),
                      self.GEOMETRY_MODE: self.parameterAsEnum(parameters, self.GEOMETRY_MODE, context),
                      self.LAYER_FIELD: self.field_name(parameters, self.LAYER_FIELD, context)}
        applier = MapirySync(self.clients["mapiry"], feedback, map_id, source.fields(), source.sourceCrs(),
                             context.transformContext(), remembered[self.NAME_FIELD],
                             remembered[self.DESCRIPTION_FIELD], remembered[self.GEOMETRY_MODE],
                             remembered[self.LAYER_FIELD], new_map_title=None if map_id else title)
        return applier, remembered, None if map_id else title
