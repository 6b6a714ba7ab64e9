"""Where a layer's link lives (core/sync/place.py): inside its GeoPackage, else the data folder, never a password."""

from __future__ import annotations

import os

from qgis.core import QgsVectorLayer

from mapbridge.core.sync.place import data_folder, place_of, source_key
from mapbridge.tests.processing.sync_helpers import places, write_gpkg


def test_a_geopackage_layer_keeps_its_link_inside_the_file(tmp_path):
    layer = write_gpkg(tmp_path / "places.gpkg", places(1), table="shops")
    place = place_of(layer)
    assert place.inside_layer and place.store_path == os.path.realpath(tmp_path / "places.gpkg")
    assert place.source == "shops"
    single = QgsVectorLayer(str(tmp_path / "places.gpkg"), "no layer name", "ogr")
    assert place_of(single).source == "shops", "one table of its own: no doubt which one"


def test_a_read_only_geopackage_or_another_format_uses_the_data_folder(tmp_path):
    memory = QgsVectorLayer("Point?crs=EPSG:4326", "scratch", "memory")
    place = place_of(memory)
    assert place.source == f"memory:{memory.id()}" and place.store_path.startswith(data_folder())
    layer = write_gpkg(tmp_path / "places.gpkg", places(1))
    os.chmod(tmp_path / "places.gpkg", 0o444)
    try:
        place = place_of(layer)
        if not os.access(tmp_path / "places.gpkg", os.W_OK):     # (root may write it anyway)
            assert not place.inside_layer and place.store_path.startswith(data_folder())
            assert place.source == f"ogr:{os.path.realpath(tmp_path / 'places.gpkg')}|places"
    finally:
        os.chmod(tmp_path / "places.gpkg", 0o644)


def test_no_credential_reaches_the_store():
    key = source_key("postgres", "dbname='gis' host=db user='ann' password='s3cret' table=\"public\".\"roads\"", "x")
    assert key.startswith("postgres:sha256:") and "s3cret" not in key and "ann" not in key
    same = source_key("postgres", "dbname='gis' host=db user='bob' password='other' table=\"public\".\"roads\"", "y")
    assert same == key, "the same table whoever logs in"
