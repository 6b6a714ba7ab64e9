"""Mapflow layers in the QGIS project: tagged with their processing, so a result already loaded is found again."""

from __future__ import annotations

from qgis.core import QgsProject

PROCESSING_PROPERTY = "mapbridge/mapflow_processing_id"
KIND_PROPERTY = "mapbridge/mapflow_layer"
RESULT, TILES, PREVIEW, AOI = "result", "tiles", "preview", "aoi"


def tag(layer, processing_id, kind=RESULT):
    """Remember (in the project file too) which processing a layer shows and how."""
    layer.setCustomProperty(PROCESSING_PROPERTY, str(processing_id))
    layer.setCustomProperty(KIND_PROPERTY, kind)
    return layer


def find(processing_id, kind=RESULT, project=None):
    """The project's layers of a processing of one kind."""
    project = project or QgsProject.instance()
    return [layer for layer in project.mapLayers().values()
            if layer.customProperty(PROCESSING_PROPERTY) == str(processing_id)
            and layer.customProperty(KIND_PROPERTY) == kind]
