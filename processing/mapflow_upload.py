"""Algorithm `mapbridge:mapflow_upload`: upload a GeoTIFF to a Mapflow mosaic (Data API)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingOutputString,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ..api.errors import MapbridgeError
from .mapflow_common import MapflowAlgorithm


def parse_tags(text):
    """Tags from a comma-separated text (empty items dropped, order kept, duplicates removed)."""
    tags = []
    for tag in (text or "").split(","):
        tag = tag.strip()
        if tag and tag not in tags:
            tags.append(tag)
    return tags


class MapflowUploadAlgorithm(MapflowAlgorithm):
    """Upload a GeoTIFF raster to an existing or a new Mapflow mosaic."""

    help_text = ("Uploads the GeoTIFF file of INPUT to a Mapflow mosaic through the Data API, with upload progress. "
                 "Give MOSAIC_ID to add the image to an existing mosaic, or MOSAIC_NAME to create a new one "
                 "(TAGS: comma-separated, for a new mosaic). The storage left (/rasters/memory) is checked first and "
                 "a file that does not fit is refused before anything is sent. Images of one mosaic must share "
                 "their coordinate reference system, band count and resolution.")
    INPUT = "INPUT"
    MOSAIC_ID = "MOSAIC_ID"
    MOSAIC_NAME = "MOSAIC_NAME"
    TAGS = "TAGS"
    IMAGE_ID = "IMAGE_ID"

    def name(self):
        return "mapflow_upload"

    def displayName(self):  # noqa: N802 - QGIS API name
        return "Upload a GeoTIFF to Mapflow"

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, "GeoTIFF raster"))
        self.addParameter(QgsProcessingParameterString(self.MOSAIC_ID, "Existing mosaic id", optional=True))
        self.addParameter(QgsProcessingParameterString(self.MOSAIC_NAME, "Name of a new mosaic", optional=True))
        self.addParameter(QgsProcessingParameterString(self.TAGS, "Tags of a new mosaic (comma-separated)",
                                                       optional=True))
        self.addOutput(QgsProcessingOutputString(self.MOSAIC_ID, "Mosaic id"))
        self.addOutput(QgsProcessingOutputString(self.IMAGE_ID, "Image id"))

    def prepareAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API name
        """Read the raster layer's file path on the main thread (layers live in the project)."""
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        self.source = layer.source() if layer is not None else ""
        return super().prepareAlgorithm(parameters, context, feedback)

    def run_job(self, parameters, context, feedback):
        from ..core.mapflow.upload import geotiff_path, upload_geotiff

        if not self.source:
            raise MapbridgeError("the input raster layer could not be read", service="mapflow",
                                 hint="Choose a GeoTIFF raster layer or file")
        path = geotiff_path(self.source)
        mosaic_id = (self.parameterAsString(parameters, self.MOSAIC_ID, context) or "").strip()
        mosaic_name = (self.parameterAsString(parameters, self.MOSAIC_NAME, context) or "").strip()
        tags = parse_tags(self.parameterAsString(parameters, self.TAGS, context))
        if mosaic_id and mosaic_name:
            feedback.pushWarning("Both MOSAIC_ID and MOSAIC_NAME were given; the image goes to the existing mosaic "
                                 f"{mosaic_id} and no new mosaic is created.")
        result = upload_geotiff(self.clients["mapflow"], path, feedback, mosaic_id=mosaic_id,
                                mosaic_name="" if mosaic_id else mosaic_name, tags=tags)
        return {self.MOSAIC_ID: result.mosaic_id, self.IMAGE_ID: result.image_id}
