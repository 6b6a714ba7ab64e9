"""The start sequence's plan as the user reads it (core/mapflow/start.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mapbridge.core.mapflow.account import Account
from mapbridge.core.mapflow.start import Choice, Plan


@pytest.mark.parametrize("billing, cost, expected", [
    ("CREDITS", 14.0, "Cost: 14 credits"),
    ("AREA", 14.0, "Cost: 2.500 km² of processing area"),
    ("NONE", None, "Cost: nothing (no billing on this account)"),
    ("CREDITS", None, "Cost: not known in advance. The service did not return a cost."),
])
def test_the_cost_is_said_in_the_accounts_own_terms(billing, cost, expected):
    aoi = SimpleNamespace(area_km2=2.5, part_count=1, notes=[])
    planned = Plan(Choice(name="Roofs"), aoi, {}, Account(billing_type=billing, remaining_credits=100.0,
                                                          remaining_area_m2=9e6), cost,
                   "" if cost is not None else "The service did not return a cost.")
    lines = planned.summary_lines()
    assert expected in lines
    assert sum(line.startswith("Cost:") for line in lines) == 1
    assert "Start this Mapflow processing?" in planned.confirmation_text()
