"""The processings the Mapflow tab tracks, kept in QgsSettings so they survive a restart (ids only, no secrets).

QgsSettings is written on the main thread only. Algorithms running in a worker thread report what they did to
`RUNS` (in memory, guarded by a lock); the main thread moves it into QgsSettings with `persist_runs()`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

from qgis.core import QgsProject, QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QObject, QThread, Qt, pyqtSignal

from .. import settings_keys

# Only these keys are stored per processing (qgisProject: the QGIS project it was started from, see project_key).
STORED_KEYS = ("id", "name", "projectId", "model", "status", "percent", "created", "output", "loaded",
               "qgisProject")
# An unsaved QGIS project has no file name: it is told apart by this session and how often the project was cleared.
_SESSION = uuid.uuid4().hex[:12]
_PROJECT = {"generation": 0, "watched": False}


def _project_cleared():
    _PROJECT["generation"] += 1


def watch_project():
    """Count project changes (New, Open), so an unsaved project is not mistaken for the next one (main thread;
    the Mapflow tab watches while it exists)."""
    if not _PROJECT["watched"]:
        QgsProject.instance().cleared.connect(_project_cleared)
        _PROJECT["watched"] = True


def unwatch_project():
    """Stop counting (the tab is going away: nothing stays connected to QgsProject after unload)."""
    if _PROJECT["watched"]:
        try:
            QgsProject.instance().cleared.disconnect(_project_cleared)
        except (TypeError, RuntimeError):
            pass
        _PROJECT["watched"] = False


def project_key(project=None):
    """What identifies a QGIS project: its file, or this session's unsaved project (main thread)."""
    project = project or QgsProject.instance()
    return project.fileName() or f"unsaved:{_SESSION}:{_PROJECT['generation']}"


def is_current_project(key):
    """True when a stored key is the open project (also when that unsaved project was saved since)."""
    if not key:
        return True   # tracked before projects were recorded: as before, the open one
    project = QgsProject.instance()
    return key == project_key(project) or key == f"unsaved:{_SESSION}:{_PROJECT['generation']}"
MAX_TRACKED = 500


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

    def waiting(self):
        """True while a tracked processing still runs, or finished with a result not loaded yet."""
        from .listing import DONE

        return any(item.get("status") not in DONE or (item.get("status") == "OK" and not item.get("loaded"))
                   for item in self.all())

    def upsert(self, processing_id, **values):
        """Add or update a processing (unknown keys are dropped); main thread only."""
        _require_main_thread()
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
        """Stop tracking a processing and hide it from the list (it stays on the service); main thread only."""
        _require_main_thread()
        _write(settings_keys.MAPFLOW_TRACKED_PROCESSINGS, [p for p in self.all() if p["id"] != processing_id])
        hidden = self.hidden()
        hidden.add(processing_id)
        _write(settings_keys.MAPFLOW_HIDDEN_PROCESSINGS, sorted(hidden)[-MAX_TRACKED:])

    def hidden(self):
        """Ids the user removed from the list."""
        return {str(i) for i in _read(settings_keys.MAPFLOW_HIDDEN_PROCESSINGS)}


def _on_main_thread():
    """True on the Qt main thread (or without a Qt application)."""
    app = QCoreApplication.instance()
    return app is None or QThread.currentThread() is app.thread()


def _require_main_thread():
    """QSettings is not shared safely between threads: writes from a worker are a bug."""
    if not _on_main_thread():
        raise RuntimeError("Mapflow: tracked processings are written on the main thread only (use RUNS)")


class _MainThreadSaver(QObject):
    """Runs persist_runs() on the main thread when a worker asks (a queued signal)."""

    requested = pyqtSignal()

    def __init__(self):
        super().__init__()
        app = QCoreApplication.instance()
        if app is not None and self.thread() is not app.thread():
            self.moveToThread(app.thread())
        self.requested.connect(self._save, Qt.ConnectionType.QueuedConnection)

    def _save(self):
        persist_runs()


class RunRegistry:
    """What running algorithms did to processings (thread-safe, in memory) and which results they will write.

    A worker thread calls note() and lease(); the main thread calls snapshot() to persist the notes and to learn
    which processings a run still claims (so the dock does not load a result a second time).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._notes = {}  # id -> {values, "tracked_only": bool}
        self._leases = {}  # id -> monotonic deadline
        self._saver = None

    def _save_soon(self):
        """Persist the notes now on the main thread, or soon through the main thread's event loop."""
        if QCoreApplication.instance() is None:
            return  # no Qt application: the notes wait for persist_runs()
        if _on_main_thread():
            persist_runs()
            return
        with self._lock:
            saver = self._saver
        if saver is not None:
            saver.requested.emit()

    def attach(self):
        """Create the main-thread saver (call on the main thread, e.g. when the provider loads)."""
        if self._saver is None and QCoreApplication.instance() is not None and _on_main_thread():
            self._saver = _MainThreadSaver()

    def _merge(self, processing_id, values, tracked_only):
        """Add values to a processing's pending note (call with the lock held)."""
        entry = self._notes.setdefault(processing_id, {"values": {}, "tracked_only": tracked_only})
        entry["values"].update({k: v for k, v in values.items() if k in STORED_KEYS and k != "id"})
        entry["tracked_only"] = entry["tracked_only"] and tracked_only

    def note(self, processing_id, tracked_only=False, **values):
        """Record values for the tracked list (tracked_only: apply only if the id is already tracked)."""
        with self._lock:
            self._merge(processing_id, values, tracked_only)
        self._save_soon()

    def lease(self, processing_id, seconds):
        """Claim a processing's result for `seconds` (renewed by calling again)."""
        with self._lock:
            self._leases[processing_id] = time.monotonic() + seconds

    def release(self, processing_id, **values):
        """End the claim; values are noted in the same step (a result written and noted is never unclaimed)."""
        with self._lock:
            if values:
                self._merge(processing_id, values, False)
            self._leases.pop(processing_id, None)
        if values:
            self._save_soon()

    def claimed(self, processing_id):
        """True while a running algorithm holds the processing's lease."""
        with self._lock:
            return self._leases.get(processing_id, 0) > time.monotonic()

    def clear(self):
        """Forget every note and lease (a new session)."""
        with self._lock:
            self._notes, self._leases = {}, {}

    def snapshot(self):
        """Take the pending notes and the claimed ids in one step: ({id: entry}, {ids})."""
        with self._lock:
            notes, self._notes = self._notes, {}
            now = time.monotonic()
            self._leases = {k: v for k, v in self._leases.items() if v > now}
            return notes, set(self._leases)


RUNS = RunRegistry()
RUNS.attach()  # modules are imported on the main thread (plugin load, qgis_process)


def persist_runs(store=None):
    """Move the runs' notes into QgsSettings (main thread); returns the ids still claimed by a run."""
    store = store or TrackedProcessings()
    notes, claimed = RUNS.snapshot()
    if notes:
        tracked = set(store.ids())
        for processing_id, entry in notes.items():
            if entry["tracked_only"] and processing_id not in tracked:
                continue
            store.upsert(processing_id, **entry["values"])
    return claimed


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
