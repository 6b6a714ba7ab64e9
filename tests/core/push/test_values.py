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
    assert json_value(QDateTime(QDate(2024, 2, 29), QTime(7, 5, 3, 250))) == "2024-02-29T07:05:03.250"
    assert json_value(["a", NULL, 2]) == ["a", None, 2]
    assert json_value({"k": QDate(2020, 1, 1)}) == {"k": "2020-01-01"}
    with pytest.raises(BinaryValue):
        json_value(QByteArray(b"x"))
    assert is_binary_field(make_field("b", FIELD_BINARY)) and not is_binary_field(make_field("s", FIELD_STRING))
