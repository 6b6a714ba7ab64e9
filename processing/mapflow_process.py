"""Algorithm `mapbridge:mapflow_process`: run a Mapflow model on an AOI and load its result."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ..api.errors import CancelledError
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
        "IMAGE_ID (advanced, optional) processes one image of the imagery catalog instead of the provider's "
        "basemap: give an id from 'Search the Mapflow imagery catalog' (its footprints' id field) and the "
        "image's provider as PROVIDER; ZOOM is then not used. The account must allow that provider."
    )
    AOI = "AOI"
    NAME = "NAME"
    MODEL = "MODEL"
    PROJECT_ID = "PROJECT_ID"
    PROVIDER = "PROVIDER"
    ZOOM = "ZOOM"
    IMAGE_ID = "IMAGE_ID"
    OUTPUT = "OUTPUT"
    PROCESSING_ID = "PROCESSING_ID"
    AREA_KM2 = "AREA_KM2"
    COST = "COST"
    FEATURE_COUNT = "FEATURE_COUNT"

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
        self.addParameter(advanced(QgsProcessingParameterString(
            self.IMAGE_ID, "Catalog image id (imagerySearch source instead of the provider's basemap)",
            optional=True)))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, "Mapflow result"))
        self.addOutput(QgsProcessingOutputString(self.PROCESSING_ID, "Processing id"))
        self.addOutput(QgsProcessingOutputNumber(self.AREA_KM2, "AOI area (km²)"))
        self.addOutput(QgsProcessingOutputNumber(self.COST, "Cost (credits, when priced)"))
        self.addOutput(QgsProcessingOutputNumber(self.FEATURE_COUNT, "Features in the result"))

    def run_job(self, parameters, context, feedback):
        from ..core.mapflow import start as start_sequence
        from ..core.mapflow.polling import Backoff, wait_for_processing
        from ..core.mapflow.processings import ID_MARKER, status_of
        from ..core.mapflow.result import ResultDownload, download_result
        from ..core.mapflow.tracked import RUNS

        client = self.clients["mapflow"]
        aoi = read_aoi(self, parameters, self.AOI, context, feedback)
        zoom = self.parameterAsInt(parameters, self.ZOOM, context) if optional_value(parameters, self.ZOOM) \
            is not None else DEFAULT_ZOOM
        choice = start_sequence.Choice(
            name=self.parameterAsString(parameters, self.NAME, context),
            model=self.parameterAsString(parameters, self.MODEL, context),
            provider=self.parameterAsString(parameters, self.PROVIDER, context),
            zoom=zoom, project_id=self.parameterAsString(parameters, self.PROJECT_ID, context),
            image_id=self.parameterAsString(parameters, self.IMAGE_ID, context))
        feedback.pushInfo(f"AOI: {aoi.feature_count} feature(s), {aoi.part_count} polygon(s).")
        planned = start_sequence.plan(client, aoi, choice, feedback)
        if feedback.isCanceled():
            raise CancelledError("Cancelled before the processing was started; nothing was spent", service="mapflow")

        answer = start_sequence.start(client, planned, feedback)
        name, model, project_id, cost = (planned.choice.name, planned.choice.model, planned.choice.project_id,
                                         planned.cost)
        processing_id = str(answer["id"])
        feedback.pushInfo(f"{ID_MARKER}{processing_id}")
        feedback.pushInfo(f"Started processing '{name}' in project {project_id}.")
        status, percent = status_of(answer)
        # Worker thread: noted in memory; the main thread (dock poller, postProcessAlgorithm) saves it.
        RUNS.lease(processing_id, WAIT_LEASE)
        RUNS.note(processing_id, name=name, projectId=project_id, model=model, status=status, percent=percent,
                  created=answer.get("created") or "", loaded=False)
        written = {}
        try:
            final = wait_for_processing(client, processing_id, feedback,
                                        backoff=Backoff(initial=self.poll_initial, maximum=self.poll_maximum),
                                        on_status=lambda a: self._on_status(processing_id, a))
            RUNS.lease(processing_id, WRITE_LEASE)
            with ResultDownload(processing_id) as download:
                download_result(client, processing_id, download, feedback, progress_range=None)
                destination, count = write_result_output(
                    self, parameters, self.OUTPUT, context, feedback, download.path, "mapflow_result",
                    progress_range=None)
            written = {"status": "OK", "percent": 100, "loaded": True}
        finally:
            RUNS.release(processing_id, **written)
        feedback.pushInfo(f"Wrote {count} features of processing {processing_id}.")
        cost_final = final.get("cost") if isinstance(final.get("cost"), (int, float)) else cost
        return {self.OUTPUT: destination, self.PROCESSING_ID: processing_id, self.AREA_KM2: aoi.area_km2,
                self.COST: cost_final, self.FEATURE_COUNT: count}

    @staticmethod
    def _on_status(processing_id, answer):
        from ..core.mapflow.processings import status_of
        from ..core.mapflow.tracked import RUNS

        status, percent = status_of(answer)
        RUNS.note(processing_id, status=status, percent=percent)
        RUNS.lease(processing_id, WAIT_LEASE)
