"""ISO 8601 date-times (core/timestamps.py): strict parsing, epochs, and Qt dates sent as UTC instants."""

from __future__ import annotations

from qgis.PyQt.QtCore import QDate, QDateTime, Qt, QTime

from mapbridge.core.timestamps import date_to_iso_utc, epoch_seconds, iso_utc, parse_iso


def test_dates_become_utc_instants():
    assert date_to_iso_utc(QDate(2021, 3, 4)) == "2021-03-04T00:00:00Z"
    assert date_to_iso_utc(QDate(2021, 3, 4), end_of_day=True) == "2021-03-04T23:59:59Z"
    assert date_to_iso_utc(QDateTime(QDate(2021, 3, 4), QTime(10, 20, 30), Qt.TimeSpec.UTC)) == "2021-03-04T10:20:30Z"
    two_hours_east = QDateTime(QDate(2021, 3, 4), QTime(10, 20, 30), Qt.TimeSpec.OffsetFromUTC, 7200)
    assert date_to_iso_utc(two_hours_east) == "2021-03-04T08:20:30Z", "the same instant, not the same wall clock"
    assert date_to_iso_utc("2021-01-01") == "2021-01-01T00:00:00Z"
    assert date_to_iso_utc("2021-02-01", True) == "2021-02-01T23:59:59Z"
    assert date_to_iso_utc(QDate()) is None and date_to_iso_utc("") is None


def test_parsing_is_strict_and_keeps_the_zone():
    value, sub_ms = parse_iso("2025-03-14T11:22:11.5+02:00")
    assert value.utcoffset().total_seconds() == 7200 and not sub_ms
    assert parse_iso("2025-13-14T09:22:11Z") is None and parse_iso("yesterday") is None
    assert epoch_seconds("1970-01-01T00:01:00Z") == 60.0
    assert epoch_seconds("1970-01-01T00:01:00") == 60.0, "a time without zone is taken as UTC"
    assert epoch_seconds("1970-01-01T01:01:00+01:00") == 60.0
    assert epoch_seconds("not a time") is None and epoch_seconds(None) is None
    assert iso_utc(60) == "1970-01-01T00:01:00Z"
