"""Algorithm `mapbridge:mapsemble_sync`: keep a Mapsemble map holding exactly a layer's features, sending only
what changed since the last sync."""

from __future__ import annotations

from qgis.core import QgsProcessingParameterString

from ..core.qgis_compat import field_names_parameter
from .push_base import field_parameter
from .sync_base import SyncAlgorithm


class MapsembleSyncAlgorithm(SyncAlgorithm):
    """Create what is new, PUT what changed, DELETE what left; unchanged features are not sent."""

    services = ("mapsemble",)
    service = "mapsemble"
    LABEL_FIELD = "LABEL_FIELD"
    FIELDS = "FIELDS"
    help_text = (
        "Keeps the Mapsemble map MAP_ID holding exactly the features of INPUT (with 'Selected features only', the "
        "selection): features new since the last sync are created, changed ones (attributes or geometry) replaced, "
        "ones that left the layer deleted, and unchanged ones not sent at all; a second sync with no change sends "
        "no write request. LABEL_FIELD becomes the label and FIELDS (default all; binary fields are left out) the "
        "properties. KEY_FIELD says what identifies a feature across edits (default: the feature id, stable in a "
        "GeoPackage); on a map with a remoteField it is sent there, so a re-sent feature updates instead of "
        "duplicating. The link (remote id and fingerprint of each feature) is kept in the layer's GeoPackage, "
        "or in the Mapbridge data folder for other layers. A feature someone deleted on the map is created again "
        "and reported; a map that was deleted or emptied is reported, not filled again. OUTPUT lists every input "
        "feature and every deleted one with remote_id, push_status (created, updated, deleted, unchanged, skipped, "
        "failed, not_sent) and push_error.")

    def name(self):
        return "mapsemble_sync"

    def displayName(self):  # noqa: N802 - QGIS API name
        return "Sync a layer with a Mapsemble map"

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.add_input()
        self.addParameter(QgsProcessingParameterString(self.MAP_ID, "Map id"))
        self.addParameter(field_parameter(self.LABEL_FIELD, "Label field", self.INPUT, optional=False))
        self.addParameter(field_parameter(self.FIELDS, "Fields to send (default all)", self.INPUT, multiple=True))
        self.add_key()
        self.add_output()

    def build(self, parameters, context, feedback, source):
        from ..api.errors import MapbridgeError
        from ..core.sync.mapsemble import MapsembleSync

        map_id = self.parameterAsString(parameters, self.MAP_ID, context).strip()
        if not map_id:
            raise MapbridgeError("no map given", service=self.service, hint="Choose the map to sync with (MAP_ID)")
        label_field = self.field_name(parameters, self.LABEL_FIELD, context)
        field_names = field_names_parameter(self, parameters, self.FIELDS, context) or None
        applier = MapsembleSync(self.clients["mapsemble"], feedback, map_id, source.fields(), source.sourceCrs(),
                                context.transformContext(), label_field, field_names,
                                self.field_name(parameters, self.KEY_FIELD, context), self.generated_fields)
        remembered = {self.MAP_ID: map_id, self.LABEL_FIELD: label_field, self.FIELDS: field_names}
        return applier, remembered, None
