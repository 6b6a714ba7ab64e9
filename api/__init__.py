"""HTTP access to Mapalyze, Mapflow, Mapiry and Mapsemble; no QGIS widgets here."""
