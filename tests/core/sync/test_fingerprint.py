"""Fingerprints (core/sync/fingerprint.py): the same feature gives the same print in every session, any change of
what is sent gives another."""

from __future__ import annotations

import subprocess
import sys

from qgis.core import QgsGeometry, QgsPointXY
from qgis.PyQt.QtCore import QDate, QDateTime, Qt, QTime, QVariant

from mapbridge.core.sync.fingerprint import Fingerprinter, value_text

POINT = QgsGeometry.fromPointXY(QgsPointXY(4.9, 52.3))


def test_values_and_geometry_change_the_print_and_nothing_else_does():
    fp = Fingerprinter({"service": "mapiry", "name": "name"}, [0, 2])
    base = fp(["A", "ignored", 3], POINT)
    assert fp(["A", "other", 3], QgsGeometry(POINT)) == base, "a column that is not sent does not count"
    assert fp(["B", "ignored", 3], POINT) != base
    assert fp(["A", "ignored", 3.0000001], POINT) != base
    assert fp(["A", "ignored", 3], QgsGeometry.fromPointXY(QgsPointXY(4.9, 52.3000001))) != base
    assert fp(["A", "ignored", 3], QgsGeometry()) != base
    assert Fingerprinter({"service": "mapiry", "name": "title"}, [0, 2])(["A", "x", 3], POINT) != base


def test_null_and_qt_values_print_the_same_in_every_session():
    values = [QVariant(), QDate(2024, 5, 1), QDateTime(QDate(2024, 5, 1), QTime(8, 30), Qt.TimeSpec.UTC),
              QTime(7, 5), None]
    texts = [value_text(v) for v in values]
    assert texts == ["None", "'2024-05-01'", "'2024-05-01T08:30:00Z'", "'07:05:00'", "None"]
    code = ("from qgis.core import QgsGeometry, QgsPointXY\n"
            "from mapbridge.core.sync.fingerprint import Fingerprinter\n"
            "print(Fingerprinter({'a': 1}, [0, 1])(['x', 2.5], QgsGeometry.fromPointXY(QgsPointXY(1, 2))))")
    here = Fingerprinter({"a": 1}, [0, 1])(["x", 2.5], QgsGeometry.fromPointXY(QgsPointXY(1, 2)))
    other = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, timeout=120,
                           env={**__import__("os").environ, "PYTHONPATH": ":".join(p for p in sys.path if p)})
    assert other.stdout.strip().splitlines()[-1] == here, other.stderr[-500:]


def test_prints_stay_those_links_already_hold():
    # Taken before the fingerprint's fast path: a change here makes every linked feature update on its next sync
    # (then bump VERSION on purpose).
    fp = Fingerprinter({"service": "mapsemble", "label": "name"}, [0, 1, 2])
    assert fp(["Place 1", 2.5, 7], QgsGeometry.fromPointXY(QgsPointXY(500000.0, 6800000.0))) == \
        "f6f15e564d17979a78506140"
    assert fp(["Place 1", QVariant(), QDate(2024, 5, 1)], QgsGeometry()) == "b84656ec7243937ebded3528"
    assert fp(["Plaçe", None, -1], None) == "13dd7ed5d134e96bcb162724"
    assert fp(["x", 1, 2], QgsGeometry.fromWkt("LINESTRING(0 0, 1 1)")) == "e215557a6651bc4b0001378a"
