"""What a project layer remembers about its links (a layer property saved with the project): which maps, when last
synced, whether to sync when its edits are saved. A few words per link, never the link itself."""

from __future__ import annotations

PROPERTY = "mapbridge/sync"


def marks_of(layer):
    """The layer's link marks: [{"service", "map_id", "last_sync", "key_field", "on_save"}, …]."""
    import json         # here, not at the top: this module is imported at QGIS start, json is not needed then

    try:
        marks = json.loads(layer.customProperty(PROPERTY, "") or "[]")
    except (TypeError, ValueError):
        return []
    return [m for m in marks if isinstance(m, dict) and m.get("service") and m.get("map_id")] \
        if isinstance(marks, list) else []


def _write(layer, marks):
    import json

    if marks:
        layer.setCustomProperty(PROPERTY, json.dumps(marks, sort_keys=True))
    else:
        layer.removeCustomProperty(PROPERTY)


def mark_synced(layer, summary):
    """Note (or refresh) a link after a sync; its on_save choice is kept."""
    marks = marks_of(layer)
    for mark in marks:
        if (mark["service"], mark["map_id"]) == (summary["service"], summary["map_id"]):
            mark.update(summary)
            break
    else:
        marks.append(dict(summary, on_save=bool(summary.get("on_save", False))))
    _write(layer, marks)


def set_on_save(layer, service, map_id, on):
    """Sync (or not) when the layer's edits are saved."""
    marks = marks_of(layer)
    for mark in marks:
        if (mark["service"], mark["map_id"]) == (service, map_id):
            mark["on_save"] = bool(on)
    _write(layer, marks)


def unmark(layer, service, map_id):
    """Forget one link's mark."""
    _write(layer, [m for m in marks_of(layer) if (m["service"], m["map_id"]) != (service, map_id)])
