"""Scan and plan (core/sync/plan.py): keys, duplicates, what changed, what left, the preview line."""

from __future__ import annotations

from qgis.core import QgsFeature, QgsGeometry, QgsPointXY

from mapbridge.core.sync.fingerprint import Fingerprinter
from mapbridge.core.sync.items import CREATE, DELETE, RELAYER, UPDATE
from mapbridge.core.sync.plan import CANCEL_EVERY, KeyReader, Preview, Scan, plan
from mapbridge.core.sync.store import Entry
from mapbridge.tests.processing.push_helpers import memory_layer


def layer_of(rows):
    return memory_layer("Point", "EPSG:4326", ["name:string", "code:string", "kind:string"],
                        [(f"POINT({x} {y})", values) for x, y, *values in rows])


def scan(layer, key_field="code", layers=False):
    fields = layer.fields()
    return Scan(KeyReader(fields, key_field), Fingerprinter({"s": 1}, [0]),
                (lambda values: values[2] or None) if layers else None)(layer.getFeatures())


def test_keys_skip_missing_and_duplicate_ones():
    items = scan(layer_of([(1, 1, "A", "k1", None), (2, 2, "B", None, None), (3, 3, "C", "k1", None),
                           (4, 4, "D", " k2 ", None)]))
    assert [i.key for i in items] == ["k1", None, None, "k2"]
    assert items[1].error == "no key (field 'code' is NULL or empty)"
    assert items[2].error == "duplicate key 'k1' (input feature 1 has it too)"


def test_feature_ids_are_keys_unless_the_feature_is_not_saved_yet():
    layer = layer_of([(1, 1, "A", "k", None)])
    unsaved = QgsFeature(layer.fields())
    unsaved.setId(-3)
    unsaved.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(0, 0)))
    unsaved.setAttributes(["B", "k2", None])
    items = Scan(KeyReader(layer.fields()), Fingerprinter({}, [0]))(list(layer.getFeatures()) + [unsaved])
    assert items[0].key == "1" and items[1].key is None and "save the layer's edits" in items[1].error


def test_plan_creates_updates_relayers_deletes_and_leaves_the_rest():
    before = scan(layer_of([(1, 1, "A", "a", "x"), (2, 2, "B", "b", "x"), (3, 3, "C", "c", "x"),
                            (4, 4, "D", "d", "x")]), layers=True)
    entries = {i.key: Entry(i.key, f"r-{i.key}", i.fp, i.layer) for i in before}
    entries["gone"] = Entry("gone", "r-gone", "f")
    entries["lost"] = Entry("lost", "r-lost", "f")
    now = scan(layer_of([(1, 1, "A", "a", "x"), (2, 2.5, "B", "b", "x"), (3, 3, "C", "c", "y"),
                         (4, 4, "D", "d", "x"), (5, 5, "E", "e", "x")]), layers=True)
    deletes = plan(now, entries, missing={"r-d", "r-lost"}, service_title="Mapiry", layers=True)
    assert [(i.key, i.action, i.status) for i in now] == [
        ("a", None, "unchanged"), ("b", UPDATE, None), ("c", RELAYER, None), ("d", CREATE, None), ("e", CREATE, None)]
    assert now[0].remote_id == "r-a" and now[1].target == "r-b"
    assert now[3].note == "it had been deleted on Mapiry; created again"
    assert sorted((d.key, d.action, d.target) for d in deletes) == [("gone", DELETE, "r-gone"),
                                                                    ("lost", DELETE, "r-lost")]
    assert next(d for d in deletes if d.key == "lost").note == "left the layer; it was already gone from Mapiry"
    text = Preview(now, deletes).text()
    assert text == "2 to update, 2 to create, 2 to delete, 1 unchanged"


def test_the_preview_line_counts_with_separators_and_names_the_main_skip_reason():
    items = scan(layer_of([(i, i, "N", f"k{i}", None) for i in range(1200)] + [(0, 0, "N", None, None)]))
    entries = {i.key: Entry(i.key, "r", i.fp) for i in items if i.key}
    assert Preview(items, plan(items, entries)).text() == "1,200 unchanged, 1 skipped: no key (field 'code' is " \
                                                          "NULL or empty)"


def test_a_scan_reads_every_block_and_stops_between_blocks_when_cancelled():
    n = 2 * CANCEL_EVERY + 7            # three blocks, the last one short
    rows = [(i, i, f"N{i}", f" k{i} " if i % 2 else f"k{i}", None) for i in range(n)]
    rows[CANCEL_EVERY] = (0, 0, "dup", "k0", None)                  # first of a block, a key of the first block
    layer = layer_of(rows)
    items = scan(layer)
    assert [i.index for i in items] == list(range(n))
    assert [i.feature.id() for i in items] == [f.id() for f in layer.getFeatures()]
    assert items[1].key == "k1" and items[-1].key == f"k{n - 1}" and items[-1].fp
    assert items[CANCEL_EVERY].error == "duplicate key 'k0' (input feature 1 has it too)"
    assert sum(1 for i in items if i.key) == n - 1
    asked = []

    def cancelled():
        asked.append(len(asked))
        return len(asked) > 2

    reader = Scan(KeyReader(layer.fields(), "code"), Fingerprinter({"s": 1}, [0]))
    assert reader(layer.getFeatures(), cancelled) is None and len(asked) == 3   # after two blocks
    assert len(reader(layer.getFeatures(), lambda: False)) == n


def test_keys_that_are_not_text_are_read_as_text():
    layer = memory_layer("Point", "EPSG:4326", ["name:string", "code:integer", "value:double"],
                         [("POINT(1 1)", ["A", 7, 1.0]), ("POINT(2 2)", ["B", None, 2.0]),
                          ("POINT(3 3)", ["C", 8, 3.0])])
    items = Scan(KeyReader(layer.fields(), "code"), Fingerprinter({}, [0]))(layer.getFeatures())
    assert [i.key for i in items] == ["7", None, "8"]
    assert items[1].error == "no key (field 'code' is NULL or empty)"
    by_value = Scan(KeyReader(layer.fields(), "value"), Fingerprinter({}, [0]))(layer.getFeatures())
    assert [i.key for i in by_value] == ["1", "2", "3"]
