"""Shared helpers of the Mapflow tests: Processing with the Mapbridge provider, a logging feedback, AOI layers."""

from __future__ import annotations

import sys

import pytest
from qgis.core import (
    QgsApplication,
    QgsFeature,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
    QgsVectorLayer,
)

QGIS_PLUGINS = "/usr/share/qgis/python/plugins"


def init_qgis_processing():
    """QGIS's `processing` package, initialised (the repository's own processing/ folder must not shadow it)."""
    loaded = sys.modules.get("processing")
    if loaded is not None and not (getattr(loaded, "__file__", "") or "").startswith(QGIS_PLUGINS):
        for name in [n for n in sys.modules if n == "processing" or n.startswith("processing.")]:
            del sys.modules[name]
    if sys.path[:1] != [QGIS_PLUGINS]:
        sys.path.insert(0, QGIS_PLUGINS)
    from processing.core.Processing import Processing

    Processing.initialize()


def mapflow_provider():
    """A `mapbridge` provider holding only the Mapflow algorithms (isolates these tests from the other jobs)."""
    from mapbridge.processing.mapflow_catalog import MapflowCatalogAlgorithm
    from mapbridge.processing.mapflow_process import MapflowProcessAlgorithm
    from mapbridge.processing.mapflow_results import MapflowResultsAlgorithm
    from mapbridge.processing.mapflow_upload import MapflowUploadAlgorithm
    from mapbridge.processing.provider import MapbridgeProvider

    class MapflowOnlyProvider(MapbridgeProvider):
        def loadAlgorithms(self):  # noqa: N802
            for cls in (MapflowProcessAlgorithm, MapflowResultsAlgorithm, MapflowCatalogAlgorithm,
                        MapflowUploadAlgorithm):
                self.addAlgorithm(cls())

    return MapflowOnlyProvider()


@pytest.fixture
def mapbridge_processing(qgis_app):
    """Processing initialised and a `mapbridge` provider with the Mapflow algorithms registered."""
    init_qgis_processing()
    registry = QgsApplication.processingRegistry()
    provider = None
    if registry.providerById("mapbridge") is None or registry.algorithmById("mapbridge:mapflow_process") is None:
        if registry.providerById("mapbridge") is not None:
            registry.removeProvider(registry.providerById("mapbridge"))
        provider = mapflow_provider()
        registry.addProvider(provider)
    yield registry
    if provider is not None and registry.providerById("mapbridge") is not None:
        registry.removeProvider("mapbridge")


class LogFeedback(QgsProcessingFeedback):
    """Keeps log lines and every progress value."""

    def __init__(self):
        super().__init__()
        self.lines, self.warnings, self.progress_values = [], [], []
        self.progressChanged.connect(self.progress_values.append)

    def pushInfo(self, info):  # noqa: N802
        self.lines.append(info)
        super().pushInfo(info)

    def pushWarning(self, warning):  # noqa: N802
        self.warnings.append(warning)
        super().pushWarning(warning)

    def reportError(self, error, fatalError=False):  # noqa: N802, N803
        self.lines.append("ERROR " + error)
        super().reportError(error, fatalError)


def run(alg_id, params, feedback=None):
    import processing

    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    feedback = feedback or LogFeedback()
    return processing.run(alg_id, params, context=context, feedback=feedback), feedback


def polygon_layer(geometries, crs="EPSG:4326", name="aoi"):
    layer = QgsVectorLayer(f"MultiPolygon?crs={crs}", name, "memory")
    features = []
    for geometry in geometries:
        feature = QgsFeature()
        feature.setGeometry(geometry)
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


