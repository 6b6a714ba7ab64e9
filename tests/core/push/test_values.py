"""Attribute values as JSON (core/push/values.py): NULL, dates and times, lists, maps; binary refused."""

from __future__ import annotations

import pytest
from qgis.core import NULL
from qgis.PyQt.QtCore import QByteArray, QDate, QDateTime, Qt, QTime

from mapbridge.core.push.values import BinaryValue, is_binary_field, json_value
from mapbridge.core.qgis_compat import FIELD_BINARY, FIELD_STRING, make_field


def test_json_values():
    assert json_value(NULL) is None and json_value(None) is None
    assert json_value(3) == 3 and json_value(2.5) == 2.5 and json_value(True) is True
    assert json_value(float("nan")) is None
    assert json_value(QDate(2024, 2, 29)) == "2024-02-29"
    assert json_value(QTime(7, 5, 3)) == "07:05:03"
    assert json_value(QDateTime(QDate(2024, 2, 29), QTime(7, 5, 3), Qt.TimeSpec.UTC)) == "2024-02-29T07:05:03Z"
    local = QDateTime(QDate(2024, 2, 29), QTime(7, 5, 3, 250))      # local time: sent as the same instant in UTC
    assert json_value(local) == local.toUTC().toString("yyyy-MM-ddTHH:mm:ss.zzz") + "Z"
    assert json_value(["a", NULL, 2]) == ["a", None, 2]
    assert json_value({"k": QDate(2020, 1, 1)}) == {"k": "2020-01-01"}
    with pytest.raises(BinaryValue):
        json_value(QByteArray(b"x"))
    assert is_binary_field(make_field("b", FIELD_BINARY)) and not is_binary_field(make_field("s", FIELD_STRING))


@pytest.fixture
def new_york(monkeypatch):
    """The machine's local time is New York's (UTC-5 in winter): local date-times are hours from UTC."""
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_date_times_keep_their_instant_and_never_go_without_a_zone(new_york):
    import datetime

    day, noon = QDate(2025, 1, 14), QTime(9, 22, 11)
    assert json_value(QDateTime(day, noon, Qt.TimeSpec.UTC)) == "2025-01-14T09:22:11Z"
    assert json_value(QDateTime(day, noon)) == "2025-01-14T14:22:11Z", "local time converted to UTC"
    assert json_value(QDateTime(day, noon), local_is_utc=True) == "2025-01-14T09:22:11Z"
    assert json_value(QDateTime(day, noon, Qt.TimeSpec.OffsetFromUTC, 7200)) == "2025-01-14T09:22:11+02:00"
    assert json_value(QDateTime(day, noon, Qt.TimeSpec.OffsetFromUTC, -16200)) == "2025-01-14T09:22:11-04:30"
    aware = datetime.datetime(2025, 1, 14, 9, 22, 11, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    assert json_value(aware) == "2025-01-14T09:22:11+02:00"
    assert json_value(datetime.datetime(2025, 1, 14, 9, 22, 11)) == "2025-01-14T14:22:11Z"
    assert json_value(datetime.datetime(2025, 1, 14, 9, 22, 11, tzinfo=datetime.timezone.utc)) == \
        "2025-01-14T09:22:11Z"
