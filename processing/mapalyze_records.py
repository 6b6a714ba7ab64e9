"""Algorithm `mapbridge:mapalyze_records`: every Mapalyze record of a form as a typed point layer."""

from __future__ import annotations

import os

from qgis.core import (
    QgsField,
    QgsFields,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterString,
    QgsProcessingUtils,
    QgsVectorLayer,
)

from ..core.mapalyze import layer as mapalyze_layer
from ..core.qgis_compat import FIELD_STRING, FIELD_STRING_LIST, make_field, source_type
from .base import MapbridgeAlgorithm
from .outputs import copy_into_sink, load_on_completion, plain_file_destination, when_loaded


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
        "timestamp, e.g. 2025-03-14T09:22:11Z (empty: all); Mapalyze filters on when records reached the "
        "server, not on their capture time. WATERMARK: the server's own time of this load; refreshing from it "
        "(minus a margin) catches every record created since. OUTPUT: a GeoPackage is written directly and "
        "streamed page by page; other formats are converted from a temporary GeoPackage.\n\n"
        "The token and base URL come from Mapbridge ▸ Settings (or MAPBRIDGE_MAPALYZE_URL/_TOKEN)."
    )
    FORM_ID = "FORM_ID"
    SINCE = "SINCE"
    OUTPUT = "OUTPUT"
    RECORDS = "RECORDS"
    NEWEST = "NEWEST"
    WATERMARK = "WATERMARK"
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
        self.addOutput(QgsProcessingOutputString(
            self.WATERMARK, "Server time of this load (a refresh asks for the records created since then)"))
        self.addOutput(QgsProcessingOutputString(self.FORM_IDS, "Form ids found, most records first (JSON list)"))

    def run_job(self, parameters, context, feedback):
        import json

        from ..core.mapalyze import load as mapalyze_load

        form_id = (self.parameterAsString(parameters, self.FORM_ID, context) or "").strip() or None
        since = mapalyze_load.validate_since(self.parameterAsString(parameters, self.SINCE, context))
        client = self.clients["mapalyze"]
        source_url = mapalyze_load.source_url(client.config.base_url, form_id)
        feedback.pushInfo(f"Loading Mapalyze records from {source_url}" + (f" since {since}" if since else ""))
        gpkg_path = plain_file_destination(self, parameters, self.OUTPUT, context, (".gpkg",))
        if gpkg_path:
            layer_name = os.path.splitext(os.path.basename(gpkg_path))[0]
            result = mapalyze_load.load_records(client, gpkg_path, layer_name, form_id=form_id, since=since,
                                                feedback=feedback)
            output = gpkg_path
            load_on_completion(self, parameters, self.OUTPUT, context, output, "Mapalyze records")
        else:
            output, result = self._through_sink(client, parameters, context, feedback, form_id, since)

        def style_and_mark(layer):
            if isinstance(layer, QgsVectorLayer):
                mapalyze_layer.mark(layer, form_id=form_id, newest=result.newest, source_url=source_url,
                                    watermark=result.watermark, since=since or "")
                mapalyze_layer.apply_default_style(layer, result.form_ids)

        when_loaded(context, output, style_and_mark)
        return {self.OUTPUT: output, self.RECORDS: result.count, self.NEWEST: result.newest or "",
                self.WATERMARK: result.watermark or "", self.FORM_IDS: json.dumps(result.form_ids, ensure_ascii=False)}

    def _through_sink(self, client, parameters, context, feedback, form_id, since):
        """Other outputs (memory, other formats): load into a temporary GeoPackage, then copy into the sink.

        Returns (sink id, LoadResult). String lists become real StringList fields where the format has them."""
        import tempfile

        from ..core.mapalyze import field_kinds as mt
        from ..core.mapalyze import load as mapalyze_load

        folder = QgsProcessingUtils.tempFolder() if hasattr(QgsProcessingUtils, "tempFolder") else tempfile.gettempdir()
        temp = os.path.join(folder, f"mapalyze_{os.getpid()}_{id(self)}.gpkg")
        result = mapalyze_load.load_records(client, temp, "records", form_id=form_id, since=since, feedback=feedback)
        try:
            layer = QgsVectorLayer(f"{temp}|layername=records", "records", "ogr")
            kinds = dict(result.fields)
            fields, keep, lists = QgsFields(), [], set()
            for index, field in enumerate(layer.fields()):
                if field.name() == "fid":
                    continue
                keep.append(index)
                if kinds.get(field.name()) == mt.STRLIST:
                    lists.add(index)
                    fields.append(make_field(field.name(), FIELD_STRING_LIST, "StringList", sub_type=FIELD_STRING))
                else:
                    fields.append(QgsField(field))

            def convert(values):
                return [[str(v) for v in values[i]] if i in lists and isinstance(values[i], list) else values[i]
                        for i in keep]

            sink_id, _ = copy_into_sink(layer, lambda f, w, c: self.parameterAsSink(parameters, self.OUTPUT, context,
                                                                                    f, w, c),
                                        feedback, fields=fields, convert=convert)
            del layer
            return sink_id, result
        finally:
            for suffix in ("", "-journal", "-wal", "-shm"):
                if os.path.exists(temp + suffix):
                    try:
                        os.remove(temp + suffix)
                    except OSError:
                        pass
