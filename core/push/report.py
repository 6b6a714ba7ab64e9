"""The report layer of a push: every input feature once, with remote_id, push_status and push_error."""

from __future__ import annotations

import json
import os
import tempfile
import time

from qgis.core import QgsField, QgsFields, QgsProcessingUtils, QgsVectorLayer

from ...api.errors import MapbridgeError, service_title

from .choices import COUNT_KEYS, CREATED, DELETED, UPDATED
from ..qgis_compat import FIELD_LIST, FIELD_MAP, FIELD_STRING, FIELD_STRING_LIST, fast_insert_flag, make_field

# Lists and maps (e.g. a Mapalyze layer's photos) have no column type in most formats: the report keeps them as JSON.
CONTAINER_TYPES = (FIELD_LIST, FIELD_MAP, FIELD_STRING_LIST)

REPORT_FIELDS = ("remote_id", "push_status", "push_error")


def _string_field(name):
    return make_field(name, FIELD_STRING, "string", 255 if name != "push_error" else 0)


def report_fields(source_fields):
    """The input fields plus remote_id, push_status, push_error (renamed _2 … if the layer has them)."""
    copied = QgsFields()
    for field in source_fields:
        if field.type() in CONTAINER_TYPES:
            # Plain text holding JSON: a "JSON" type name makes newer QGIS writers expect a list or map value.
            field = make_field(field.name(), FIELD_STRING, "string")
        else:
            field = QgsField(field)
        if field.type() == FIELD_STRING:
            field.setLength(0)      # a value longer than the declared width must not cost the report its row
        copied.append(field)
    extra = QgsFields()
    for name in REPORT_FIELDS:
        extra.append(_string_field(name))
    return QgsProcessingUtils.combineFields(copied, extra)


class ReportWriter:
    """Writes report rows in input order as soon as their outcome is known (overlapping the last requests).

    One addFeature per row, not addFeatures per block: a file writer's addFeatures stops at the first
    refused row without saying which, and every input feature must appear exactly once.
    """

    def __init__(self, sink, fields, feedback=None, source_fields=None):
        self.sink = sink
        self.json_columns = [i for i, f in enumerate(source_fields or []) if f.type() in CONTAINER_TYPES]
        self.feedback = feedback
        self.width = fields.count()
        self.first_extra = self.width - len(REPORT_FIELDS)
        self.cursor = 0
        self.flags = fast_insert_flag()
        self.incomplete_rows = 0     # rows the output refused with the input attributes, written without them
        self.lost_rows = 0           # rows the output refused altogether (a full disk, a broken file)
        self.last_refusal = ""

    def write_ready(self, items):
        """Write the rows from the cursor on whose outcome is known."""
        cursor, end = self.cursor, len(items)
        while cursor < end and items[cursor].status is not None:
            self._write(items[cursor])
            cursor += 1
        self.cursor = cursor

    def write_rest(self, items):
        """Write every remaining row (all outcomes are known by now) and flush."""
        for item in items[self.cursor:]:
            self._write(item)
        self.cursor = len(items)
        _flush(self.sink)
        self.sink = None        # an error's traceback may keep this writer alive; the sink must still close

    def _write(self, item):
        # The input feature itself becomes the row: widening it is much cheaper than building a new feature.
        row, item.feature = item.feature, None       # written once; the feature is not needed any more
        row.resizeAttributes(self.width)       # the new columns start as NULL
        for column in self.json_columns:
            value = row.attribute(column)
            if value is not None and not isinstance(value, str) and value == value:
                row.setAttribute(column, json.dumps(value, ensure_ascii=False, default=str))
        first = self.first_extra
        if item.remote_id is not None:
            row.setAttribute(first, item.remote_id)
        row.setAttribute(first + 1, item.status)
        if item.error is not None:
            row.setAttribute(first + 2, item.error)
        if self.sink.addFeature(row, self.flags):
            return
        # Still one row per feature: without the input attributes (then without the geometry) the output refused.
        message = self.sink.lastError() if hasattr(self.sink, "lastError") else ""
        self.incomplete_rows += 1
        self.last_refusal = message or self.last_refusal
        note = f"{item.error or ''} (input attributes not copied: {message or 'refused by the output'})".strip()
        row.setAttributes([None] * first + [item.remote_id, item.status, note])
        if self.sink.addFeature(row, self.flags):
            return
        row.clearGeometry()
        row.setAttribute(first + 2, note.replace("input attributes not copied", "input attributes and geometry "
                                                                                 "not copied"))
        if not self.sink.addFeature(row, self.flags):
            self.lost_rows += 1
            if self.lost_rows == 1 and self.feedback is not None:
                self.feedback.reportError(f"Could not write the report row of feature {item.index + 1}: {message}")


def _flush(sink):
    if hasattr(sink, "flushBuffer"):
        sink.flushBuffer()


ARRIVED = (CREATED, UPDATED, DELETED)


def report_problem(writer, dest_id, context, expected):
    """Why the written report cannot be trusted (rows lost, a file that does not open or lacks rows), or None."""
    if writer.lost_rows:
        return f"{writer.lost_rows:,} rows could not be written ({writer.last_refusal or 'refused by the output'})"
    layer = QgsProcessingUtils.mapLayerFromString(dest_id, context)
    if layer is None and isinstance(dest_id, str) and os.path.exists(dest_id.split("|")[0]):
        layer = QgsVectorLayer(dest_id, "report", "ogr")
    if layer is None or not layer.isValid():
        return "the report file cannot be opened"
    count = layer.featureCount()
    if count != expected:
        return f"the report holds {max(count, 0):,} of its {expected:,} rows"
    return None


def save_remote_ids(items, service, dest_id, feedback):
    """Keep what arrived (row, status, remote id) in a JSON file somewhere writable; its path, or None.

    Tried beside the report, then in the QGIS and system temporary folders. When no file can be written the
    Processing log gets every line: the remote ids are never lost with the report.
    """
    arrived = [{"feature": item.index + 1, "status": item.status, "remote_id": item.remote_id,
                "error": item.error} for item in items if item.remote_id is not None or item.status in ARRIVED]
    name = f"mapbridge-{service}-push-{time.strftime('%Y%m%d-%H%M%S')}.remote-ids.json"
    folders = []
    if isinstance(dest_id, str) and os.path.isabs(dest_id.split("|")[0]):
        folders.append(os.path.dirname(dest_id.split("|")[0]))
    folders += [QgsProcessingUtils.tempFolder(), tempfile.gettempdir()]
    text = json.dumps({"service": service, "report": dest_id, "arrived": arrived}, ensure_ascii=False, indent=1)
    for folder in folders:
        path = os.path.join(folder, name)
        try:
            with open(path, "w", encoding="utf-8") as out:
                out.write(text)
            return path
        except OSError:
            try:
                os.remove(path)
            except OSError:
                pass
    for entry in arrived:
        feedback.pushInfo(f"{service_title(service)} arrived: feature {entry['feature']} {entry['status']} "
                          f"remote_id={entry['remote_id']}")
    return None


def report_failure(items, tally, service, dest_id, problem, saved):
    """The error a push ends with when its report could not be written: what arrived, and where its ids are."""
    done = ", ".join(f"{key.lower()} {tally.get(key, 0):,}" for key in ("CREATED", "UPDATED", "DELETED", "FAILED"))
    where = f"the remote ids are saved in {saved}" if saved else "the remote ids are listed in the Processing log"
    return MapbridgeError(
        f"the push reached {service_title(service)} ({done}) but its report could not be written to {dest_id}: "
        f"{problem}; {where}", service=service,
        hint="Free some disk space or choose another output before pushing again; the saved ids tell what arrived")



def report_counts(layer):
    """{"CREATED": n, …} read back from a report layer (for a run whose results were lost to a cancel)."""
    tally = dict.fromkeys(COUNT_KEYS.values(), 0)
    index = layer.fields().lookupField("push_status")
    if index < 0:
        return tally
    for feature in layer.getFeatures():
        key = COUNT_KEYS.get(feature.attributes()[index])
        if key:
            tally[key] += 1
    return tally
