"""Algorithm `mapbridge:mapflow_process`: run a Mapflow model on an AOI and load its result."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingOutputMultipleLayers,
    QgsProcessingParameterAuthConfig,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ..api.errors import CancelledError, MapbridgeError
from ..core.mapflow.choices import DEFAULT_MODEL, DEFAULT_PROVIDER, DEFAULT_ZOOM
from ..core.qgis_compat import advanced, number_type, source_type
from .mapflow_common import MapflowAlgorithm, optional_value, read_aoi, write_result_output

# Seconds a running algorithm claims a processing's result for itself (renewed at each status read), so the
# dock does not load it a second time; released when the run ends.
WAIT_LEASE = 120
WRITE_LEASE = 1800


class MapflowProcessAlgorithm(MapflowAlgorithm):
    """Validate and measure the AOI, start a processing, wait for it, and write its result."""

    help_text = (
        "Runs a Mapflow AI model (e.g. 🏠 Buildings) on the polygons of AOI (selected features only works) and "
        "writes the detected objects with all their attributes to OUTPUT.\n\n"
        "Before anything is spent it repairs invalid polygons with makeValid (and says so), measures the area in "
        "km² on the ellipsoid, reads the account status (balance, AOI limit) and the cost, logs them, and refuses "
        "an AOI over the account's limit. Several polygons are sent as one MultiPolygon.\n\n"
        "It then polls the processing with a growing interval (1 s up to 30 s), reporting its percentage. "
        "Cancelling stops waiting only: the processing keeps running on Mapflow and its result can be fetched "
        "later with 'Load Mapflow processing results' and the PROCESSING_ID shown in the log.\n\n"
        "NAME is optional: when empty the processing is named after the model and the time "
        "(e.g. 'Buildings 2024-05-01 14:30'). PROJECT_ID defaults to your default Mapflow project; PROVIDER and "
        "ZOOM choose the provider's imagery.\n\n"
        "OPTIONS: the model's optional blocks to switch on, comma-separated (e.g. 'Classification, Heights'); "
        "each adds its price. Empty: none.\n\n"
        "Other imagery than the provider's basemap (advanced, give at most one): IMAGE_ID, one or several "
        "comma-separated catalog images of one provider from 'Search the Mapflow imagery catalog' (their "
        "provider as PROVIDER, their zoom as ZOOM); MOSAIC_ID or MY_IMAGE_IDS, your own imagery uploaded to "
        "Mapflow (My imagery); SOURCE_URL, an XYZ, TMS or QUADKEY tile URL (SOURCE_TYPE, SOURCE_CRS epsg:3857 or "
        "epsg:3395, and an optional login from the QGIS authentication database as SOURCE_AUTHCFG)."
    )
    AOI = "AOI"
    NAME = "NAME"
    MODEL = "MODEL"
    PROJECT_ID = "PROJECT_ID"
    PROVIDER = "PROVIDER"
    ZOOM = "ZOOM"
    IMAGE_ID = "IMAGE_ID"
    OPTIONS = "OPTIONS"
    MOSAIC_ID = "MOSAIC_ID"
    MY_IMAGE_IDS = "MY_IMAGE_IDS"
    SOURCE_URL = "SOURCE_URL"
    SOURCE_TYPE = "SOURCE_TYPE"
    SOURCE_CRS = "SOURCE_CRS"
    SOURCE_AUTHCFG = "SOURCE_AUTHCFG"
    OUTPUT = "OUTPUT"
    PROCESSING_ID = "PROCESSING_ID"
    AREA_KM2 = "AREA_KM2"
    COST = "COST"
    FEATURE_COUNT = "FEATURE_COUNT"
    LAYERS = "LAYERS"

    # Polling schedule (tests and the sandbox may shorten it through the class attributes).
    poll_initial = 1.0
    poll_maximum = 30.0

    def name(self):
        return "mapflow_process"

    def displayName(self):  # noqa: N802 - QGIS API name
        return "Run a Mapflow processing on an area"

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.AOI, "Area of interest (polygons)", [source_type("VectorPolygon")]))
        self.addParameter(QgsProcessingParameterString(self.NAME, "Processing name", optional=True))
        self.addParameter(QgsProcessingParameterString(self.MODEL, "Model (workflow name)", DEFAULT_MODEL))
        self.addParameter(QgsProcessingParameterString(
            self.PROJECT_ID, "Mapflow project id (empty: your default project)", optional=True))
        self.addParameter(QgsProcessingParameterString(self.PROVIDER, "Imagery provider", DEFAULT_PROVIDER))
        self.addParameter(QgsProcessingParameterNumber(
            self.ZOOM, "Zoom level of the imagery", number_type("Integer"), DEFAULT_ZOOM, False, 0, 22))
        self.addParameter(QgsProcessingParameterString(
            self.OPTIONS, "Model options to switch on (comma-separated block names)", optional=True))
        self.addParameter(advanced(QgsProcessingParameterString(
            self.IMAGE_ID, "Catalog image id(s) (imagerySearch source instead of the provider's basemap)",
            optional=True)))
        self.addParameter(advanced(QgsProcessingParameterString(
            self.MOSAIC_ID, "My imagery: mosaic id", optional=True)))
        self.addParameter(advanced(QgsProcessingParameterString(
            self.MY_IMAGE_IDS, "My imagery: image ids (comma-separated)", optional=True)))
        self.addParameter(advanced(QgsProcessingParameterString(
            self.SOURCE_URL, "Custom imagery: tile URL with {z}/{x}/{y} (or {q} for QUADKEY)", optional=True)))
        self.addParameter(advanced(QgsProcessingParameterString(
            self.SOURCE_TYPE, "Custom imagery: XYZ, TMS or QUADKEY", "XYZ", optional=True)))
        self.addParameter(advanced(QgsProcessingParameterString(
            self.SOURCE_CRS, "Custom imagery: tile CRS (epsg:3857 or epsg:3395)", "epsg:3857", optional=True)))
        self.addParameter(advanced(QgsProcessingParameterAuthConfig(
            self.SOURCE_AUTHCFG, "Custom imagery: login (QGIS authentication configuration)", optional=True)))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, "Mapflow result"))
        self.addOutput(QgsProcessingOutputString(self.PROCESSING_ID, "Processing id"))
        self.addOutput(QgsProcessingOutputNumber(self.AREA_KM2, "AOI area (km²)"))
        self.addOutput(QgsProcessingOutputNumber(self.COST, "Cost (credits, when priced)"))
        self.addOutput(QgsProcessingOutputNumber(self.FEATURE_COUNT, "Features in the result"))
        self.addOutput(QgsProcessingOutputMultipleLayers(
            self.LAYERS, "Every result layer (one per geometry type when the result mixes them)"))

    def prepareAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API name
        """Main thread: the custom source's login from the auth DB, and the QGIS project the run belongs to."""
        from ..core.mapflow.tracked import project_key

        self.login = ("", "")
        authcfg = self.parameterAsString(parameters, self.SOURCE_AUTHCFG, context) if \
            optional_value(parameters, self.SOURCE_AUTHCFG) is not None else ""
        if authcfg:
            from ..core.mapflow.sources import login_of_authcfg

            self.login = login_of_authcfg(authcfg)
        self.qgis_project = project_key(context.project())
        return super().prepareAlgorithm(parameters, context, feedback)

    def _source(self, parameters, context, zoom):
        """The imagery source from the parameters (at most one of image, My imagery, custom URL)."""
        from ..core.mapflow import sources

        def text(name):
            return (self.parameterAsString(parameters, name, context) or "").strip() \
                if optional_value(parameters, name) is not None else ""

        def ids(name):
            return [i.strip() for i in text(name).split(",") if i.strip()]

        given = [name for name in (self.IMAGE_ID, self.MOSAIC_ID, self.MY_IMAGE_IDS, self.SOURCE_URL) if text(name)]
        if len(given) > 1 and set(given) != {self.MOSAIC_ID, self.MY_IMAGE_IDS}:
            raise MapbridgeError(f"several imagery sources were given ({', '.join(given)})", service="mapflow",
                                 hint="Give one of IMAGE_ID, MOSAIC_ID/MY_IMAGE_IDS or SOURCE_URL")
        provider = self.parameterAsString(parameters, self.PROVIDER, context)
        if text(self.MOSAIC_ID) or text(self.MY_IMAGE_IDS):
            return sources.my_imagery_source(text(self.MOSAIC_ID), [] if text(self.MOSAIC_ID) else ids(
                self.MY_IMAGE_IDS))
        if text(self.SOURCE_URL):
            return sources.custom_source(text(self.SOURCE_URL), text(self.SOURCE_TYPE) or "XYZ", zoom,
                                         text(self.SOURCE_CRS) or "epsg:3857", *self.login)
        if text(self.IMAGE_ID):
            return sources.Source(sources.CATALOG, provider=provider, zoom=zoom, image_ids=ids(self.IMAGE_ID))
        return sources.provider_source(provider, zoom)

    def run_job(self, parameters, context, feedback):
        from ..core.feedback import record_partial
        from ..core.mapflow import start as start_sequence
        from ..core.mapflow.polling import Backoff, wait_for_processing
        from ..core.mapflow.processings import ID_MARKER, status_of
        from ..core.mapflow.result import ResultDownload, download_result
        from ..core.mapflow.tracked import RUNS

        client = self.clients["mapflow"]
        aoi = read_aoi(self, parameters, self.AOI, context, feedback)
        zoom = self.parameterAsInt(parameters, self.ZOOM, context) if optional_value(parameters, self.ZOOM) \
            is not None else DEFAULT_ZOOM
        options = self.parameterAsString(parameters, self.OPTIONS, context) \
            if optional_value(parameters, self.OPTIONS) is not None else ""
        choice = start_sequence.Choice(
            name=self.parameterAsString(parameters, self.NAME, context),
            model=self.parameterAsString(parameters, self.MODEL, context),
            provider=self.parameterAsString(parameters, self.PROVIDER, context),
            zoom=zoom, project_id=self.parameterAsString(parameters, self.PROJECT_ID, context),
            options=tuple(o.strip() for o in options.split(",")), source=self._source(parameters, context, zoom))
        feedback.pushInfo(f"AOI: {aoi.feature_count} feature(s), {aoi.part_count} polygon(s).")
        planned = start_sequence.plan(client, aoi, choice, feedback)
        if feedback.isCanceled():
            raise CancelledError("Cancelled before the processing was started; nothing was spent", service="mapflow")

        answer = start_sequence.start(client, planned, feedback)
        name, model, project_id, cost = (planned.choice.name, planned.choice.model, planned.choice.project_id,
                                         planned.cost)
        processing_id = str(answer["id"])
        record_partial(feedback, self.PROCESSING_ID, processing_id)
        feedback.pushInfo(f"{ID_MARKER}{processing_id}")
        feedback.pushInfo(f"Started processing '{name}' in project {project_id}.")
        status, percent = status_of(answer)
        # Worker thread: noted in memory; the main thread (dock poller, postProcessAlgorithm) saves it.
        RUNS.lease(processing_id, WAIT_LEASE)
        RUNS.note(processing_id, name=name, projectId=project_id, model=model, status=status, percent=percent,
                  created=answer.get("created") or "", loaded=False, qgisProject=self.qgis_project)
        written = {}
        try:
            final = wait_for_processing(client, processing_id, feedback,
                                        backoff=Backoff(initial=self.poll_initial, maximum=self.poll_maximum),
                                        on_status=lambda a: self._on_status(processing_id, a))
            RUNS.lease(processing_id, WRITE_LEASE)
            with ResultDownload(processing_id) as download:
                download_result(client, processing_id, download, feedback, progress_range=None)
                destination, count, layers = write_result_output(
                    self, parameters, self.OUTPUT, context, feedback, download.path, "mapflow_result",
                    progress_range=None, processing_id=processing_id)
            written = {"status": "OK", "percent": 100, "loaded": True}
        finally:
            RUNS.release(processing_id, **written)
        feedback.pushInfo(f"Wrote {count:,} features of processing {processing_id}.")
        cost_final = final.get("cost") if isinstance(final.get("cost"), (int, float)) else cost
        return {self.OUTPUT: destination, self.PROCESSING_ID: processing_id, self.AREA_KM2: aoi.area_km2,
                self.COST: cost_final, self.FEATURE_COUNT: count, self.LAYERS: layers}

    @staticmethod
    def _on_status(processing_id, answer):
        from ..core.mapflow.processings import status_of
        from ..core.mapflow.tracked import RUNS

        status, percent = status_of(answer)
        RUNS.note(processing_id, status=status, percent=percent)
        RUNS.lease(processing_id, WAIT_LEASE)
