"""`mapbridge:check_connections`: OK only when the answer proves it comes from that service."""

from __future__ import annotations

import pytest


def run_check(registry):
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    return processing.run("mapbridge:check_connections", {}, context=QgsProcessingContext(),
                          feedback=QgsProcessingFeedback())


def test_every_service_of_the_sandbox_is_ok(mapbridge_processing, sandbox_env):
    result = run_check(mapbridge_processing)
    assert result["CONNECTED"] == 4, result["REPORT"]


@pytest.mark.parametrize("status", [200, 404])
def test_a_200_or_404_that_is_not_the_service_is_not_ok(mapbridge_processing, sandbox_env, status):
    """A server answering every request with the same JSON (a wrong base URL, a captive portal, another API)."""
    for service in ("mapalyze", "mapflow", "mapiry", "mapsemble"):
        sandbox_env.add_fault(service, "echo", status=status, count=None)
    result = run_check(mapbridge_processing)
    assert result["CONNECTED"] == 0, result["REPORT"]
    lines = result["REPORT"].splitlines()
    assert len(lines) == 4 and all("FAILED" in line for line in lines), lines
    assert all("base URL" in line for line in lines), lines
