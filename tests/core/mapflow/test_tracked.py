"""Tracked Mapflow processings (core/mapflow/tracked.py): the store in QgsSettings, run notes from worker threads."""

from __future__ import annotations

from mapbridge.core.mapflow.tracked import TrackedProcessings


def test_tracked_store_survives_new_instances_and_keeps_emoji():
    store = TrackedProcessings()
    store.upsert("a", name="first", model="🏠 Buildings", status="IN_PROGRESS", loaded=False, secret="dropped")
    store.upsert("b", name="second")
    store.upsert("a", status="OK")
    again = TrackedProcessings()
    assert again.get("a") == {"id": "a", "name": "first", "model": "🏠 Buildings", "status": "OK", "loaded": False}
    assert again.ids() == ["b", "a"]
    again.remove("a")
    assert TrackedProcessings().get("a") is None and "a" in TrackedProcessings().hidden()


def test_runs_from_a_worker_thread_reach_settings_only_through_the_main_thread():
    import threading

    from qgis.PyQt.QtCore import QCoreApplication

    from mapbridge.core.mapflow.tracked import RUNS, persist_runs

    RUNS.attach()
    store = TrackedProcessings()
    errors = []

    def worker():
        RUNS.lease("w1", 60)
        RUNS.note("w1", name="from a worker", status="IN_PROGRESS", percent=10, loaded=False)
        RUNS.note("untracked", tracked_only=True, loaded=True)
        try:
            store.upsert("w1", name="direct")
        except RuntimeError as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert errors and "main thread" in errors[0]  # QgsSettings is never written from the worker
    assert store.get("w1") is None  # not yet: the save is queued to the main thread
    assert RUNS.claimed("w1")
    QCoreApplication.processEvents()
    assert store.get("w1")["name"] == "from a worker" and store.get("w1")["status"] == "IN_PROGRESS"
    assert store.get("untracked") is None  # tracked_only notes never add a processing

    # Releasing with the written state is one step: the main thread sees either the claim or loaded=True.
    thread = threading.Thread(target=lambda: RUNS.release("w1", status="OK", percent=100, loaded=True))
    thread.start()
    thread.join()
    claimed = persist_runs(store)
    assert "w1" not in claimed and store.get("w1")["loaded"] is True and not RUNS.claimed("w1")
