"""Algorithm `mapbridge:mapalyze_records`: every Mapalyze record of a form as a typed point layer."""

from __future__ import annotations

import json
import os
import tempfile

from qgis.core import (
    QgsFeature,
    QgsField,
    QgsFields,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingOutputLayerDefinition,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterString,
    QgsProcessingUtils,
    QgsVectorLayer,
)

from ..api.errors import CancelledError
from ..core.mapalyze import layer as mapalyze_layer, load as mapalyze_load
from ..core.mapalyze import field_kinds as mt
from ..core.qgis_compat import FIELD_STRING, FIELD_STRING_LIST, fast_insert_flag, make_field, source_type
from .base import MapbridgeAlgorithm


class _StyleAndMark(QgsProcessingLayerPostProcessorInterface):
    """Gives the loaded output layer its default style and its Mapalyze custom properties (main thread)."""

    instances = []  # Processing does not own Python post-processors: keep them alive

    def __init__(self, form_id, newest, source_url, form_ids):
        super().__init__()
        self.form_id, self.newest, self.source_url, self.form_ids = form_id, newest, source_url, form_ids
        _StyleAndMark.instances = _StyleAndMark.instances[-9:] + [self]

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 - QGIS API name
        if isinstance(layer, QgsVectorLayer):
            mapalyze_layer.mark(layer, form_id=self.form_id, newest=self.newest, source_url=self.source_url)
            mapalyze_layer.apply_default_style(layer, self.form_ids)


class MapalyzeRecordsAlgorithm(MapbridgeAlgorithm):
    """Load Mapalyze records (optionally one form, optionally only newer than SINCE) into a point layer."""

    services = ("mapalyze",)
    group_id = "mapalyze"
    group_name = "Mapalyze"
    help_text = (
        "Loads every Mapalyze field record matching the filters as EPSG:4326 points (PointZ when records carry "
        "an altitude), exactly once. Fields: record_id, then one field per property with a type inferred from "
        "all records: integer, double, boolean, date-time (ISO 8601), string; lists of strings as string lists "
        "(JSON arrays in a GeoPackage); objects and mixed lists as JSON text.\n\n"
        "FORM_ID: only this form (empty: every form). SINCE: only records created after this ISO 8601 "
        "timestamp, e.g. 2025-03-14T09:22:11Z (empty: all). OUTPUT: a GeoPackage is written directly and "
        "streamed page by page; other formats are converted from a temporary GeoPackage.\n\n"
        "The token and base URL come from Mapbridge ▸ Settings (or MAPBRIDGE_MAPALYZE_URL/_TOKEN)."
    )
    FORM_ID = "FORM_ID"
    SINCE = "SINCE"
    OUTPUT = "OUTPUT"
    RECORDS = "RECORDS"
    NEWEST = "NEWEST"
    FORM_IDS = "FORM_IDS"

    def name(self):
        return "mapalyze_records"

    def displayName(self):  # noqa: N802 - QGIS API name
        return "Load Mapalyze records"

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterString(self.FORM_ID, "Form ID (empty: all forms)", optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.SINCE, "Only records created after (ISO 8601, e.g. 2025-03-14T09:22:11Z)", optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, "Mapalyze records",
                                                            source_type("VectorPoint")))
        self.addOutput(QgsProcessingOutputNumber(self.RECORDS, "Records loaded"))
        self.addOutput(QgsProcessingOutputString(self.NEWEST, "Newest capture timestamp"))
        self.addOutput(QgsProcessingOutputString(self.FORM_IDS, "Form ids found (JSON list)"))

    def run_job(self, parameters, context, feedback):
        form_id = (self.parameterAsString(parameters, self.FORM_ID, context) or "").strip() or None
        since = mapalyze_load.validate_since(self.parameterAsString(parameters, self.SINCE, context))
        client = self.clients["mapalyze"]
        destination = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        source_url = mapalyze_load.source_url(client.config.base_url, form_id)
        feedback.pushInfo(f"Loading Mapalyze records from {source_url}" + (f" since {since}" if since else ""))
        gpkg_path = _plain_gpkg_path(destination)
        if gpkg_path:
            layer_name = os.path.splitext(os.path.basename(gpkg_path))[0]
            result = mapalyze_load.load_records(client, gpkg_path, layer_name, form_id=form_id, since=since,
                                                feedback=feedback)
            output = gpkg_path
            self._load_on_completion(parameters, context, output)
        else:
            output, result = self._through_sink(client, parameters, context, feedback, form_id, since)
        if context.willLoadLayerOnCompletion(output):
            details = context.layerToLoadOnCompletionDetails(output)
            details.setPostProcessor(_StyleAndMark(form_id, result.newest, source_url, result.form_ids))
        return {self.OUTPUT: output, self.RECORDS: result.count, self.NEWEST: result.newest or "",
                self.FORM_IDS: json.dumps(result.form_ids, ensure_ascii=False)}

    def _load_on_completion(self, parameters, context, output):
        """What parameterAsSink would have done: load the file when the user asked for it."""
        definition = parameters.get(self.OUTPUT)
        if isinstance(definition, QgsProcessingOutputLayerDefinition) and definition.destinationProject is not None:
            name = definition.destinationName or "Mapalyze records"
            context.addLayerToLoadOnCompletion(
                output, QgsProcessingContext.LayerDetails(name, definition.destinationProject, self.OUTPUT))

    def _through_sink(self, client, parameters, context, feedback, form_id, since):
        """Other outputs (memory, other formats): load into a temporary GeoPackage, then copy into the sink.

        Returns (sink id, LoadResult). String lists become real StringList fields where the format has them."""
        folder = QgsProcessingUtils.tempFolder() if hasattr(QgsProcessingUtils, "tempFolder") else tempfile.gettempdir()
        temp = os.path.join(folder, f"mapalyze_{os.getpid()}_{id(self)}.gpkg")
        result = mapalyze_load.load_records(client, temp, "records", form_id=form_id, since=since, feedback=feedback)
        try:
            return self._copy_to_sink(temp, result, parameters, context, feedback), result
        finally:
            for suffix in ("", "-journal", "-wal", "-shm"):
                if os.path.exists(temp + suffix):
                    try:
                        os.remove(temp + suffix)
                    except OSError:
                        pass

    def _copy_to_sink(self, temp, result, parameters, context, feedback):
        layer = QgsVectorLayer(f"{temp}|layername=records", "records", "ogr")
        kinds = dict(result.fields)
        fields = QgsFields()
        for field in layer.fields():
            if field.name() == "fid":
                continue
            if kinds.get(field.name()) == mt.STRLIST:
                fields.append(make_field(field.name(), FIELD_STRING_LIST, "StringList", sub_type=FIELD_STRING))
            else:
                fields.append(QgsField(field))
        sink, dest_id = self.parameterAsSink(parameters, self.OUTPUT, context, fields, layer.wkbType(),
                                             layer.crs())
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        list_fields = {i for i, f in enumerate(fields) if f.type() == FIELD_STRING_LIST}
        names = fields.names()
        flag = fast_insert_flag()
        total = max(1, layer.featureCount())
        for n, feature in enumerate(layer.getFeatures()):
            if feedback.isCanceled():
                raise CancelledError()
            out = QgsFeature(fields)
            out.setGeometry(feature.geometry())
            values = []
            for i, name in enumerate(names):
                value = feature[name]
                if i in list_fields and isinstance(value, list):
                    value = [str(v) for v in value]
                values.append(value)
            out.setAttributes(values)
            sink.addFeature(out, flag)
            if n % 1000 == 0:
                feedback.setProgress(100.0 * n / total)
        del layer
        return dest_id


def _plain_gpkg_path(destination):
    """The file path when the destination is a plain .gpkg file (written directly), else None."""
    if not destination or "|" in destination or destination.startswith(("memory:", "ogr:", "postgres", "spatialite:")):
        return None
    return destination if destination.lower().endswith(".gpkg") else None
