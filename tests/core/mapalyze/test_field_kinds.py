"""Field kinds of Mapalyze values (core/mapalyze/field_kinds.py): the kind of each JSON value, the narrowest exact
join, timestamps in UTC GeoPackage form."""

from __future__ import annotations

import pytest

from mapbridge.core.mapalyze import field_kinds as mt


@pytest.mark.parametrize("value,kind", [
    (None, mt.NONE), (True, mt.BOOL), (7, mt.INT), (2 ** 40, mt.INT64), (2 ** 70, mt.STRING), (0.5, mt.DOUBLE),
    (float("nan"), mt.STRING), ("2025-03-14T09:22:11Z", mt.DATETIME), ("2025-03-14T09:22:11.123+02:00", mt.DATETIME),
    ("2025-03-14 09:22", mt.DATETIME), ("2025-03-14T09:22:11.123456Z", mt.STRING), ("2025-03-14", mt.STRING),
    ("2025-13-14T09:22:11Z", mt.STRING), ("hello", mt.STRING), (["a", "b"], mt.STRLIST), ([], mt.STRLIST),
    ([1, "a"], mt.JSON), ({"a": 1}, mt.JSON),
])
def test_kind_of_each_json_value(value, kind):
    assert mt.kind_of(value) == kind


@pytest.mark.parametrize("a,b,joined", [
    (mt.INT, mt.DOUBLE, mt.DOUBLE), (mt.INT, mt.INT64, mt.INT64), (mt.BOOL, mt.INT, mt.STRING),
    (mt.DATETIME, mt.STRING, mt.STRING), (mt.STRLIST, mt.JSON, mt.JSON), (mt.JSON, mt.STRING, mt.STRING),
    (mt.NONE, mt.BOOL, mt.BOOL), (mt.DOUBLE, mt.DATETIME, mt.STRING),
])
def test_join_is_the_narrowest_exact_kind(a, b, joined):
    assert mt.join(a, b) == joined == mt.join(b, a)


def test_timestamps_are_stored_in_utc_geopackage_form():
    assert mt.canonical_timestamp("2025-03-14T11:22:11.5+02:00") == "2025-03-14T09:22:11.500Z"
    assert mt.canonical_timestamp("2025-03-14T09:22:11Z") == "2025-03-14T09:22:11.000Z"
    assert mt.display_timestamp("2025-03-14T09:22:11.000Z") == "2025-03-14T09:22:11Z"
