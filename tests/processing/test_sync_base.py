"""The shared frame of the sync algorithms (processing/sync_base.py), run as mapbridge:mapsemble_sync against the
sandbox: the job from the link's entries to the last report row keeps the process's older objects out of the
garbage collector's way, and lets go of them when it ends."""

from __future__ import annotations

import gc

import pytest

from mapbridge.tests.processing.push_helpers import RecordingFeedback, report_rows, run_alg
from mapbridge.tests.processing.sync_helpers import places, write_gpkg

pytestmark = pytest.mark.usefixtures("mapbridge_processing")


class FreezeWatch(RecordingFeedback):
    """Notes, with each line the job logs, whether the older objects were set aside (gc.freeze) at that moment."""

    def __init__(self):
        super().__init__()
        self.frozen = []

    def pushInfo(self, info):  # noqa: N802 - QGIS API name
        self.frozen.append((info, gc.get_freeze_count() > 0))
        super().pushInfo(info)


def test_the_whole_sync_job_runs_with_the_older_objects_set_aside(sandbox_env, tmp_path):
    layer = write_gpkg(tmp_path / "places.gpkg", places(30))
    assert gc.get_freeze_count() == 0
    feedback = FreezeWatch()
    results, _ = run_alg("mapbridge:mapsemble_sync", {"INPUT": layer, "MAP_ID": "ms_plain", "LABEL_FIELD": "name",
                                                       "OUTPUT": "memory:"}, feedback)
    assert results["CREATED"] == 30 and len(report_rows(results["OUTPUT"])) == 30
    kept = [frozen for info, frozen in feedback.frozen if "the link is kept" in info]
    assert kept == [True], "reading the link (before the scan) already runs with them set aside"
    assert all(frozen for info, frozen in feedback.frozen if info.startswith("Mapsemble:"))
    assert gc.get_freeze_count() == 0, "nothing stays frozen after the job"
