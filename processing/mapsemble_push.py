"""Algorithm `mapbridge:mapsemble_push`: features → GeoJSON features on a Mapsemble map (POST/PUT/PATCH/DELETE)."""

from __future__ import annotations

from qgis.core import QgsProcessingParameterEnum, QgsProcessingParameterString

from ..api.errors import MapbridgeError
from ..core.push.choices import METHOD_CREATE, METHOD_DELETE, METHODS
from ..core.qgis_compat import field_names_parameter
from .push_base import PushAlgorithm, field_parameter


class MapsemblePushAlgorithm(PushAlgorithm):
    """Create, replace, update or delete features of a Mapsemble map in batches."""

    services = ("mapsemble",)
    MAP_ID = "MAP_ID"
    LABEL_FIELD = "LABEL_FIELD"
    REMOTE_ID_FIELD = "REMOTE_ID_FIELD"
    METHOD = "METHOD"
    FIELDS = "FIELDS"
    help_text = (
        "Sends the features to the Mapsemble map MAP_ID as GeoJSON (WGS84, lon/lat). LABEL_FIELD (required "
        "except for delete) becomes the label; the FIELDS (default all but the layer's primary key, e.g. a "
        "GeoPackage's fid, which only numbers the file's rows; binary fields are left out) become "
        "properties under their field names (the map's field slugs). METHOD: create (POST), replace (PUT), "
        "update (PATCH) or delete (DELETE). REMOTE_ID_FIELD holds each feature's remote id: on a map with a "
        "remoteField it is sent in that property, so pushing again updates instead of duplicating (upsert); on a "
        "map without one it must hold Mapsemble feature ids. Replace, update and delete need it. Null, empty or "
        "invalid geometries are skipped with the reason. OUTPUT lists every input feature with remote_id, "
        "push_status and push_error.")

    def name(self):
        return "mapsemble_push"

    def displayName(self):  # noqa: N802 - QGIS API name
        return "Push features to Mapsemble"

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.add_input()
        self.addParameter(QgsProcessingParameterString(self.MAP_ID, "Map id"))
        # Optional only because a delete names the features by remote id alone; build() requires it otherwise.
        self.addParameter(field_parameter(self.LABEL_FIELD, "Label field (required except for delete)", self.INPUT))
        self.addParameter(field_parameter(self.REMOTE_ID_FIELD, "Remote id field (for upsert)", self.INPUT))
        self.addParameter(QgsProcessingParameterEnum(self.METHOD, "Method", list(METHODS),
                                                     defaultValue=METHOD_CREATE))
        self.addParameter(field_parameter(self.FIELDS, "Fields to send (default all)", self.INPUT, multiple=True))
        self.add_output()

    def build(self, parameters, context, feedback, source):
        from ..core.push.payloads import MapsemblePayloads
        from ..core.push.mapsemble import MapsemblePush

        method = self.parameterAsEnum(parameters, self.METHOD, context)
        remote_id_field = self.field_name(parameters, self.REMOTE_ID_FIELD, context)
        label_field = self.field_name(parameters, self.LABEL_FIELD, context)
        if method != METHOD_DELETE and not label_field:
            raise MapbridgeError(f"{METHODS[method]} needs a label field", service="mapsemble",
                                 hint="Set LABEL_FIELD to the field holding each feature's label (only a delete "
                                      "goes without)")
        if method != METHOD_CREATE and not remote_id_field:
            raise MapbridgeError(f"{METHODS[method]} needs a remote id field to find the features on the map",
                                 service="mapsemble", hint="Set REMOTE_ID_FIELD")
        job = MapsemblePush(self.clients["mapsemble"], feedback,
                            self.parameterAsString(parameters, self.MAP_ID, context), method,
                            remote_id_field=remote_id_field)
        job.prepare()
        if remote_id_field and not job.remote_key and method != METHOD_CREATE:
            feedback.pushInfo(f"Mapsemble: map {job.map_id} shows no remoteField; '{remote_id_field}' is taken as "
                              f"Mapsemble feature ids")
        payloads = MapsemblePayloads(
            source.fields(), source.sourceCrs(), context.transformContext(), method=method,
            label_field=label_field if method != METHOD_DELETE else None,
            field_names=field_names_parameter(self, parameters, self.FIELDS, context),
            remote_id_field=remote_id_field, remote_key=job.remote_key, key_fields=self.key_fields(parameters, context))
        return job, payloads
