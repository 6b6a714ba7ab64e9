"""The base algorithm: every failure reaches the user as a message naming the service, never a traceback."""

from __future__ import annotations

import pytest
from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback

from mapbridge.api.errors import ServiceError
from mapbridge.processing.base import MapbridgeAlgorithm


class _Broken(MapbridgeAlgorithm):
    services = ("mapiry",)
    failure = None

    def name(self):
        return "broken"

    def displayName(self):  # noqa: N802
        return "Broken job"

    def initAlgorithm(self, config=None):  # noqa: N802
        pass

    def run_job(self, parameters, context, feedback):
        raise self.failure


def _run(alg):
    context, feedback = QgsProcessingContext(), QgsProcessingFeedback()
    assert alg.prepareAlgorithm({}, context, feedback)
    return alg.processAlgorithm({}, context, feedback)


def test_bug_becomes_message_with_service_and_log_pointer(sandbox_env):
    alg = _Broken()
    alg.failure = KeyError("name")
    with pytest.raises(QgsProcessingException) as info:
        _run(alg)
    text = str(info.value)
    assert text.startswith("Mapiry: unexpected error in Broken job")
    assert "Mapbridge log" in text and "Traceback" not in text


def test_service_error_keeps_the_servers_words(sandbox_env):
    alg = _Broken()
    alg.failure = ServiceError("POST /maps failed with HTTP 403", service="mapiry", hint="Check the plan")
    with pytest.raises(QgsProcessingException) as info:
        _run(alg)
    assert str(info.value) == "Mapiry: POST /maps failed with HTTP 403. Check the plan."


def test_missing_token_stops_before_running():
    with pytest.raises(QgsProcessingException) as info:
        _Broken().prepareAlgorithm({}, QgsProcessingContext(), QgsProcessingFeedback())
    assert "Mapiry" in str(info.value) and "MAPBRIDGE_MAPIRY_TOKEN" in str(info.value)


def test_defining_run_instead_of_run_job_is_refused():
    with pytest.raises(TypeError, match="run_job"):
        type("Wrong", (MapbridgeAlgorithm,), {"run": lambda self, *a: None})
