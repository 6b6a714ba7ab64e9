"""The link store (core/sync/store.py): tables in a real GeoPackage, entries written all or nothing, links forgotten."""

from __future__ import annotations

import pytest
from osgeo import ogr

from mapbridge.core.sync.store import Entry, Link, LinkStore, StoreError


def test_links_and_entries_round_trip_through_a_geopackage(tmp_path):
    path = str(tmp_path / "links.gpkg")
    with LinkStore(path) as store:
        link = Link(source="places", service="mapsemble", map_id="ms_1", key_field="code",
                    parameters={"LABEL_FIELD": "name"}, remote_total=12)
        store.write(link, [Entry("a", "r1", "fp1"), Entry("b'; DROP TABLE x; --", "r2", "fp2", layer="Cafés"),
                           Entry("c", None, "fp3", pending='{"name": "C"}')])
    with LinkStore(path) as store:
        found = store.find("places", "mapsemble", "ms_1")
        assert found.link_id == link.link_id and found.key_field == "code" and found.remote_total == 12
        assert found.parameters == {"LABEL_FIELD": "name"}
        entries = store.entries(found)
        assert set(entries) == {"a", "b'; DROP TABLE x; --", "c"}
        assert entries["b'; DROP TABLE x; --"].layer == "Cafés"
        assert entries["c"].remote_id is None and entries["c"].pending == '{"name": "C"}'
        entries["a"].fp = "fp1b"
        store.write(found, [entries["a"]], [entries["c"]])
        assert {k: (e.remote_id, e.fp) for k, e in store.entries(found).items()} == {
            "a": ("r1", "fp1b"), "b'; DROP TABLE x; --": ("r2", "fp2")}
        assert store.find("places", "mapsemble", "other") is None and store.links("elsewhere") == []
        store.remove_link(found)
        assert store.links() == [] and store.entries(found) == {}
    ds = ogr.Open(path)
    table = ds.GetLayerByName("mapbridge_sync_links")
    assert table is not None and table.GetGeomType() == ogr.wkbNone, "a registered attribute table"


def test_writing_the_same_key_again_replaces_it_and_a_failed_write_leaves_nothing(tmp_path):
    with LinkStore(str(tmp_path / "links.gpkg")) as store:
        link = Link(source="s", service="mapiry", map_id="m")
        store.write(link, [Entry("a", "r1", "f")])
        store.write(link, [Entry("a", "r1", "g")])
        assert [(e.key, e.fp) for e in store.entries(link).values()] == [("a", "g")]
        many = [Entry(f"k{i}", "r", "f") for i in range(600)] + [Entry("bad\x00key", "r", "f")]
        with pytest.raises(StoreError, match="NUL character"):
            store.write(link, many)
        assert set(store.entries(link)) == {"a"}, "all or nothing, though 600 rows were written before"


def test_a_store_that_cannot_be_written_says_where_and_what_to_do(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "links.gpkg").write_text("not a GeoPackage")
    with pytest.raises(StoreError, match="links.gpkg could not be opened for writing.*writable"):
        LinkStore(str(folder / "links.gpkg")).open()


def test_a_links_table_from_before_the_checked_column_is_read_and_gains_it(tmp_path):
    from mapbridge.core.sync.store import LINK_COLUMNS, LINKS

    path = str(tmp_path / "old.gpkg")
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    table = ds.CreateLayer(LINKS, None, ogr.wkbNone)
    for column in LINK_COLUMNS:
        table.CreateField(ogr.FieldDefn(column, ogr.OFTString))
    table.CreateField(ogr.FieldDefn("remote_total", ogr.OFTInteger64))
    row = ogr.Feature(table.GetLayerDefn())
    for column, value in zip(LINK_COLUMNS, ("l1", "places", "mapsemble", "ms_1", "", "{}", "2026-01-01", "{}")):
        row.SetField(column, value)
    table.CreateFeature(row)
    ds.CreateLayer("mapbridge_sync_features", None, ogr.wkbNone).CreateField(ogr.FieldDefn("key", ogr.OFTString))
    ds = table = row = None
    store = LinkStore(path).open_readonly()
    try:
        [old] = store.links()
    finally:
        store.close()
    assert (old.link_id, old.map_id, old.checked) == ("l1", "ms_1", "")
    with LinkStore(path) as store:
        [old] = store.links()
        old.checked = "2026-02-01T00:00:00Z"
        store.save_link(old)
    with LinkStore(path) as store:
        assert store.links()[0].checked == "2026-02-01T00:00:00Z"
