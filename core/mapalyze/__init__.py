"""Mapalyze records as GeoPackage layers.

Flow: fetch → record_writer (field_kinds) → gpkg_layer (gpkg_ogr, gpkg_widen); load runs it.
Beside it: layer (marks and styles a loaded layer), export (a form's export file).
"""
