"""The Push tab's exact count, in the background: the main thread only copies a feature source, never counts."""

from __future__ import annotations

from qgis.core import QgsVectorLayerFeatureSource
from qgis.PyQt.QtCore import QObject, pyqtSignal

from ...core.push.preview import count_features
from ..background import BackgroundRunner


class PreviewCounter(QObject):
    """Counts what a push would send for a set of inputs (a key); the newest count wins, older ones are cancelled."""

    counted = pyqtSignal(object, object)     # (key, Outcome: results is a Preview)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.runner = BackgroundRunner(self)
        self.run = None
        self.key = None
        self.result = None          # the Preview of self.key, once counted

    def result_for(self, key):
        """The Preview counted for these inputs, or None."""
        return self.result if key == self.key else None

    def counting(self, key):
        """True while these inputs are being counted."""
        return key == self.key and self.run is not None

    def count(self, key, layer, selected_only, payload_factory):
        """Count in the background (the feature source and the selection are copied now, on the main thread)."""
        if key == self.key and (self.run is not None or self.result is not None):
            return
        if self.run is not None:
            self.run.cancel()       # its outcome no longer matches the inputs and is dropped
        source = QgsVectorLayerFeatureSource(layer)
        fids = layer.selectedFeatureIds() if selected_only else None
        total = max(0, layer.featureCount())
        self.key, self.result = key, None

        def job(feedback):
            return count_features(source, payload_factory(), fids, feedback, total)

        self.run = self.runner.job(f"Mapbridge: count the features of {layer.name()} to push", job,
                                   lambda outcome: self._done(key, outcome), hidden=True)

    def forget(self):
        """Drop the count (the layer's features changed)."""
        if self.run is not None:
            self.run.cancel()
        self.key, self.result, self.run = None, None, None

    def _done(self, key, outcome):
        if key != self.key:
            return
        self.run = None
        if outcome.ok:
            self.result = outcome.results
        self.counted.emit(key, outcome)

    def shutdown(self):
        """Stop counting (the tab is closing)."""
        self.runner.shutdown()
        self.run = None
