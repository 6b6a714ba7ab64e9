"""Algorithm `mapbridge:mapflow_results`: the result of an existing Mapflow processing as a layer."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingOutputMultipleLayers,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterString,
)

from ..api.errors import MapbridgeError
from .mapflow_common import MapflowAlgorithm, write_result_output

WRITE_LEASE = 1800


class MapflowResultsAlgorithm(MapflowAlgorithm):
    """Download and write the result of a processing by its id."""

    help_text = ("Downloads the result of an existing Mapflow processing (PROCESSING_ID, shown in the log of "
                 "'Run a Mapflow processing' and in the Mapbridge ▸ Mapflow tab) and writes it with all its "
                 "attributes to OUTPUT. The processing must have finished with status OK. Use it also when a "
                 "result download was interrupted.")
    PROCESSING_ID = "PROCESSING_ID"
    OUTPUT = "OUTPUT"
    STATUS = "STATUS"
    FEATURE_COUNT = "FEATURE_COUNT"
    LAYERS = "LAYERS"

    def name(self):
        return "mapflow_results"

    def displayName(self):  # noqa: N802 - QGIS API name
        return "Load Mapflow processing results"

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterString(self.PROCESSING_ID, "Processing id"))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, "Mapflow result"))
        self.addOutput(QgsProcessingOutputString(self.STATUS, "Status"))
        self.addOutput(QgsProcessingOutputNumber(self.FEATURE_COUNT, "Features in the result"))
        self.addOutput(QgsProcessingOutputMultipleLayers(
            self.LAYERS, "Every result layer (one per geometry type when the result mixes them)"))

    def run_job(self, parameters, context, feedback):
        from ..core.mapflow.processings import FAILED, messages_text, model_of, status_of
        from ..core.mapflow.result import ResultDownload, download_result
        from ..core.mapflow.tracked import RUNS

        client = self.clients["mapflow"]
        processing_id = (self.parameterAsString(parameters, self.PROCESSING_ID, context) or "").strip()
        if not processing_id:
            raise MapbridgeError("no processing id was given", service="mapflow",
                                 hint="Copy it from the Mapflow tab or the log of the processing")
        answer = client.processing(processing_id)
        status, percent = status_of(answer)
        feedback.pushInfo(f"Processing {processing_id} '{answer.get('name', '')}' ({model_of(answer)}): "
                          f"{status}, {percent:.0f}%.")
        if status in FAILED:
            raise MapbridgeError(f"processing {processing_id} ended with status {status}: "
                                 f"{messages_text(answer) or 'the service gave no reason'}; it has no result",
                                 service="mapflow", hint="Start a new processing")
        if status != "OK":
            raise MapbridgeError(f"processing {processing_id} is still {status} ({percent:.0f}%); its result is "
                                 "not ready", service="mapflow", hint="Try again when it has finished")
        # Claimed while it is written (the dock does not auto-load it meanwhile); a tracked processing is then
        # marked loaded by the main thread (RUNS is saved by the dock's poller and postProcessAlgorithm).
        RUNS.lease(processing_id, WRITE_LEASE)
        try:
            with ResultDownload(processing_id) as download:
                download_result(client, processing_id, download, feedback, progress_range=(0.0, 50.0))
                destination, count, layers = write_result_output(
                    self, parameters, self.OUTPUT, context, feedback, download.path, "mapflow_result",
                    progress_range=(50.0, 100.0), processing_id=processing_id)
            RUNS.note(processing_id, tracked_only=True, status=status, percent=100, loaded=True)
        finally:
            RUNS.release(processing_id)
        feedback.pushInfo(f"Wrote {count:,} features of processing {processing_id}.")
        return {self.OUTPUT: destination, self.STATUS: status, self.FEATURE_COUNT: count, self.LAYERS: layers}
