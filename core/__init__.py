"""QGIS-side work without widgets: settings, credentials, layers and the jobs."""
