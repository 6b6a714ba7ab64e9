"""Shared helpers of the Mapalyze tests: running the records algorithm, comparing a layer to the sandbox."""

from __future__ import annotations

import json
import math

from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QEventLoop, QTimer, QVariant

ALG = "mapbridge:mapalyze_records"


class LogFeedback(QgsProcessingFeedback):
    """Keeps the log lines; optionally cancels once progress passes a threshold."""

    def __init__(self, cancel_at=None):
        super().__init__()
        self.lines = []
        self.cancel_at = cancel_at
        self.progressChanged.connect(self._progress)

    def _progress(self, value):
        if self.cancel_at is not None and value >= self.cancel_at:
            self.cancel()

    def pushInfo(self, info):  # noqa: N802
        self.lines.append(info)
        super().pushInfo(info)


def run_records(params, feedback=None, context=None):
    """processing.run the records algorithm; returns its results."""
    import processing

    return processing.run(ALG, params, context=context or QgsProcessingContext(), feedback=feedback or LogFeedback())


def is_null(value):
    """True for a NULL attribute value (None or a null QVariant)."""
    return value is None or (isinstance(value, QVariant) and value.isNull())


def gpkg_layer(path):
    """The single layer of a GeoPackage."""
    layer = QgsVectorLayer(path, "records", "ogr")
    assert layer.isValid(), path
    return layer


def features_by_id(layer):
    """{record_id: QgsFeature}."""
    out = {}
    for feature in layer.getFeatures():
        assert feature["record_id"] not in out, f"duplicate {feature['record_id']}"
        out[feature["record_id"]] = feature
    return out


def iso_of(qdatetime):
    """A QDateTime read back from the layer as 'YYYY-MM-DDTHH:MM:SS' (UTC wall clock)."""
    return qdatetime.toString("yyyy-MM-ddTHH:mm:ss")


def assert_value(kind, expected, actual, where):
    """A layer value equals the sandbox value for a field of `kind` (exactly)."""
    if expected is None:
        assert is_null(actual), f"{where}: {actual!r}"
        return
    if kind == "datetime":
        assert iso_of(actual) + "Z" == expected.replace(".000Z", "Z"), f"{where}: {actual!r} vs {expected}"
    elif kind == "strlist":
        assert list(actual) == expected, where
    elif kind == "json":
        assert json.loads(actual) == expected, where
    elif kind == "double":
        assert isinstance(actual, float) and actual == expected, f"{where}: {actual!r} vs {expected!r}"
    else:
        assert actual == expected and type(actual) is type(expected), f"{where}: {actual!r} vs {expected!r}"


def assert_matches_sandbox(layer, records, kinds):
    """Every sandbox record is in the layer once, with every property and the geometry exactly."""
    by_id = features_by_id(layer)
    assert len(by_id) == len(records)
    for record in records:
        feature = by_id[record["id"]]
        for key, value in record["properties"].items():
            assert_value(kinds[key], value, feature[key], f"{record['id']}.{key}")
        point = feature.geometry().constGet()
        coords = record["geometry"]["coordinates"]
        assert (point.x(), point.y()) == (coords[0], coords[1])
        if len(coords) > 2:
            assert point.z() == coords[2]
        elif layer.wkbType() != 1:
            assert math.isnan(point.z())


def assert_spatial_index(layer, rect=(13.0, 52.0, 14.0, 53.0)):
    """The layer has a spatial index and a rectangle query through it finds exactly the points inside."""
    from qgis.core import QgsFeatureRequest, QgsFeatureSource, QgsRectangle

    assert layer.hasSpatialIndex() == QgsFeatureSource.SpatialIndexPresence.SpatialIndexPresent
    box = QgsRectangle(*rect)
    found = {f["record_id"] for f in layer.getFeatures(QgsFeatureRequest().setFilterRect(box))}
    inside = {f["record_id"] for f in layer.getFeatures()
              if not f.geometry().isNull() and box.contains(f.geometry().asPoint())}
    assert found == inside


def wait_for(predicate, timeout=60.0):
    """Run the Qt event loop until predicate() is true (or fail after timeout seconds)."""
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: loop.quit() if predicate() else None)
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    timer.start()
    deadline.start(int(timeout * 1000))
    if not predicate():
        loop.exec()
    timer.stop()
    assert predicate(), "timed out"


def settle(seconds):
    """Run the Qt event loop for a while: requests a cancelled job left in the sandbox's injected latency land
    now, not in the next test's request log."""
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def mapalyze_layers():
    """The Mapalyze layers of the current project."""
    from mapbridge.core.mapalyze.layer import is_mapalyze_layer

    return [layer for layer in QgsProject.instance().mapLayers().values() if is_mapalyze_layer(layer)]


def assert_valid_gpkg(path):
    """GDAL's GeoPackage validator finds nothing wrong with the file (skipped where it is not installed)."""
    import pytest

    validate_gpkg = pytest.importorskip("osgeo_utils.samples.validate_gpkg")
    assert validate_gpkg.check(path, abort_at_first_error=False, warning_msg=False) == []
