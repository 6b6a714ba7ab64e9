"""The report layer of a push: every input feature once, with remote_id, push_status and push_error."""

from __future__ import annotations

from qgis.core import QgsFeatureSink, QgsField, QgsFields, QgsProcessingUtils
from qgis.PyQt.QtCore import QMetaType, QVariant

REPORT_FIELDS = ("remote_id", "push_status", "push_error")


STRING_TYPE = getattr(QVariant, "String", None) or QMetaType.Type.QString   # QVariant.String is gone in Qt6


def _string_field(name):
    return QgsField(name, STRING_TYPE, "string", 255 if name != "push_error" else 0)


def report_fields(source_fields):
    """The input fields plus remote_id, push_status, push_error (renamed _2 … if the layer has them)."""
    copied = QgsFields()
    for field in source_fields:
        field = QgsField(field)
        if field.type() == STRING_TYPE:
            field.setLength(0)      # a value longer than the declared width must not cost the report its row
        copied.append(field)
    extra = QgsFields()
    for name in REPORT_FIELDS:
        extra.append(_string_field(name))
    return QgsProcessingUtils.combineFields(copied, extra)


class ReportWriter:
    """Writes report rows in input order as soon as their outcome is known (overlapping the last requests)."""

    def __init__(self, sink, fields, feedback=None):
        self.sink = sink
        self.feedback = feedback
        self.width = fields.count()
        self.first_extra = self.width - len(REPORT_FIELDS)
        self.cursor = 0

    def write_ready(self, items):
        """Write the rows from the cursor on whose outcome is known."""
        while self.cursor < len(items) and items[self.cursor].status is not None:
            self._write(items[self.cursor])
            self.cursor += 1

    def write_rest(self, items):
        """Write every remaining row (all outcomes are known by now) and flush."""
        while self.cursor < len(items):
            self._write(items[self.cursor])
            self.cursor += 1
        _flush(self.sink)
        self.sink = None        # an error's traceback may keep this writer alive; the sink must still close

    def _write(self, item):
        flags = QgsFeatureSink.Flag.FastInsert
        # The input feature itself becomes the row: widening it is much cheaper than building a new feature.
        row = item.feature
        row.resizeAttributes(self.width)
        for offset, value in enumerate((item.remote_id, item.status, item.error)):
            row.setAttribute(self.first_extra + offset, value)
        if self.sink.addFeature(row, flags):
            return
        # Still one row per feature: without the input attributes the output refused.
        message = self.sink.lastError() if hasattr(self.sink, "lastError") else ""
        note = f"{item.error or ''} (input attributes not copied: {message or 'refused by the output'})".strip()
        row.setAttributes([None] * self.first_extra + [item.remote_id, item.status, note])
        if not self.sink.addFeature(row, flags) and self.feedback is not None:
            self.feedback.reportError(f"Could not write the report row of feature {item.index + 1}: {message}")


def write_report(sink, items, fields, feedback=None):
    """Write one feature per item (input attributes and geometry + the outcome) in input order."""
    ReportWriter(sink, fields, feedback).write_rest(items)


def _flush(sink):
    if hasattr(sink, "flushBuffer"):
        sink.flushBuffer()


def report_counts(layer):
    """{"CREATED": n, …} read back from a report layer (for a run whose results were lost to a cancel)."""
    from .push_items import COUNT_KEYS

    tally = dict.fromkeys(COUNT_KEYS.values(), 0)
    index = layer.fields().lookupField("push_status")
    if index < 0:
        return tally
    for feature in layer.getFeatures():
        key = COUNT_KEYS.get(feature.attributes()[index])
        if key:
            tally[key] += 1
    return tally
