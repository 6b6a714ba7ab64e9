"""Shared helpers of the Mapflow algorithm tests: a logging feedback, running an algorithm, AOI layers, the seeded
processing (the `fresh_runs` fixture is in tests/conftest.py)."""

from __future__ import annotations

from qgis.core import (
    QgsFeature,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
    QgsVectorLayer,
)


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


def seed_processing_id(sandbox):
    """The id of the processing the sandbox is seeded with (finished, with a result)."""
    return next(pid for pid, p in sandbox.state.mapflow.processings.items() if p["name"].startswith("Seed"))
