"""Mapbridge: QGIS plugin linking Mapalyze, Mapflow, Mapiry and Mapsemble."""


def classFactory(iface):  # noqa: N802 - name required by QGIS
    """Entry point QGIS calls to create the plugin."""
    from .plugin import MapbridgePlugin

    return MapbridgePlugin(iface)
