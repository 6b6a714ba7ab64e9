"""Shared pieces of the push tests: layers, a feedback that records, running an algorithm, the report rows."""

from __future__ import annotations

from qgis.core import (
    QgsFeature,
    QgsGeometry,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
    QgsVectorLayer,
)

class RecordingFeedback(QgsProcessingFeedback):
    """Keeps the log lines; optionally cancels itself when a line contains `cancel_on`."""

    def __init__(self, cancel_on=None):
        super().__init__()
        self.lines = []
        self.cancel_on = cancel_on

    def pushInfo(self, info):  # noqa: N802 - QGIS API name
        self.lines.append(info)
        if self.cancel_on and self.cancel_on in info:
            self.cancel()
        super().pushInfo(info)

    def pushWarning(self, warning):  # noqa: N802 - QGIS API name
        self.lines.append("WARNING " + warning)
        super().pushWarning(warning)

    def reportError(self, error, fatalError=False):  # noqa: N802, N803 - QGIS API name
        self.lines.append("ERROR " + error)
        super().reportError(error, fatalError)

    def text(self):
        """All lines as one string."""
        return "\n".join(self.lines)


def run_alg(alg_id, params, feedback=None, invalid_geometry_check=None):
    """processing.run with a project context; returns (results, feedback)."""
    import processing

    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    if invalid_geometry_check is not None:
        context.setInvalidGeometryCheck(invalid_geometry_check)
    feedback = feedback or RecordingFeedback()
    return processing.run(alg_id, params, context=context, feedback=feedback), feedback


def memory_layer(geometry_type, crs, fields, rows, name="input"):
    """A memory layer: fields as 'name:type' specs, rows as (wkt or None, [attributes])."""
    spec = f"{geometry_type}?crs={crs}" + "".join(f"&field={f}" for f in fields)
    layer = QgsVectorLayer(spec, name, "memory")
    assert layer.isValid(), spec
    features = []
    for wkt, attributes in rows:
        feature = QgsFeature(layer.fields())
        if wkt is not None:
            feature.setGeometry(QgsGeometry.fromWkt(wkt))
        feature.setAttributes(list(attributes))
        features.append(feature)
    assert layer.dataProvider().addFeatures(features)
    return layer


def report_rows(layer):
    """The report layer's rows as dicts, in order."""
    names = layer.fields().names()
    return [dict(zip(names, f.attributes())) for f in layer.getFeatures()]


def requests_of(sandbox, service, method=None, path_contains=None):
    """The sandbox requests of a service (optionally one method / path part)."""
    return [r for r in sandbox.requests if r.service == service and (method is None or r.method == method)
            and (path_contains is None or path_contains in r.path)]
