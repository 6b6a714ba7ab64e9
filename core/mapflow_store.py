"""The processings the Mapflow tab tracks, kept in QgsSettings so they survive a restart (ids only, no secrets)."""

from __future__ import annotations

import json
import threading
import time

from qgis.core import QgsSettings

from . import settings_keys

# Only these keys are stored per processing.
STORED_KEYS = ("id", "name", "projectId", "model", "status", "percent", "created", "output", "loaded", "busyUntil")
MAX_TRACKED = 500
# Algorithms (worker threads) and the dock's poller (main thread) both update the list: one writer at a time.
_LOCK = threading.RLock()


def _read(key):
    raw = QgsSettings().value(key, "", type=str) or ""
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _write(key, value):
    # ASCII only: QSettings INI files do not round-trip characters outside the BMP (the model names carry emoji).
    QgsSettings().setValue(key, json.dumps(value, ensure_ascii=True))


class TrackedProcessings:
    """Tracked processings (list of small dicts) and the ids the user removed from the list."""

    def all(self):
        """Every tracked processing, newest first as stored."""
        return [p for p in _read(settings_keys.MAPFLOW_TRACKED_PROCESSINGS) if isinstance(p, dict) and p.get("id")]

    def get(self, processing_id):
        """One tracked processing or None."""
        return next((p for p in self.all() if p["id"] == processing_id), None)

    def ids(self):
        """The tracked ids."""
        return [p["id"] for p in self.all()]

    def upsert(self, processing_id, **values):
        """Add or update a processing (unknown keys are dropped)."""
        with _LOCK:
            items = self.all()
            item = next((p for p in items if p["id"] == processing_id), None)
            if item is None:
                item = {"id": processing_id}
                items.insert(0, item)
            item.update({k: v for k, v in values.items() if k in STORED_KEYS and k != "id"})
            _write(settings_keys.MAPFLOW_TRACKED_PROCESSINGS, items[:MAX_TRACKED])
            hidden = self.hidden()
            if processing_id in hidden:
                hidden.discard(processing_id)
                _write(settings_keys.MAPFLOW_HIDDEN_PROCESSINGS, sorted(hidden))
            return item

    def remove(self, processing_id):
        """Stop tracking a processing and hide it from the list (it stays on the service)."""
        with _LOCK:
            _write(settings_keys.MAPFLOW_TRACKED_PROCESSINGS, [p for p in self.all() if p["id"] != processing_id])
            hidden = self.hidden()
            hidden.add(processing_id)
            _write(settings_keys.MAPFLOW_HIDDEN_PROCESSINGS, sorted(hidden)[-MAX_TRACKED:])

    def claimed(self, processing_id, now=None):
        """True while a running algorithm has said it will write this processing's result itself."""
        item = self.get(processing_id) or {}
        try:
            return float(item.get("busyUntil") or 0) > (time.time() if now is None else now)
        except (TypeError, ValueError):
            return False

    def hidden(self):
        """Ids the user removed from the list."""
        return {str(i) for i in _read(settings_keys.MAPFLOW_HIDDEN_PROCESSINGS)}


def auto_load_results():
    """Whether finished results are loaded automatically (default on)."""
    return QgsSettings().value(settings_keys.MAPFLOW_AUTO_LOAD_RESULTS, True, type=bool)


def set_auto_load_results(enabled):
    """Save the auto-load toggle."""
    QgsSettings().setValue(settings_keys.MAPFLOW_AUTO_LOAD_RESULTS, bool(enabled))


def current_project_id():
    """The Mapflow project picked in the tab ('' for the default project)."""
    return QgsSettings().value(settings_keys.MAPFLOW_PROJECT_ID, "", type=str) or ""


def set_current_project_id(project_id):
    """Save the picked project."""
    QgsSettings().setValue(settings_keys.MAPFLOW_PROJECT_ID, project_id or "")
