"""Where Mapbridge writes files nobody chose a place for: one rule for loads, results and reports."""

from __future__ import annotations

import os

from qgis.core import QgsApplication, QgsProject


def default_output_folder(kind, project=None):
    """Beside the saved project (so it finds its layers again), else the profile's mapbridge/<kind> folder."""
    project = project or QgsProject.instance()
    if project.fileName():
        home = project.homePath()
        if home and os.path.isdir(home):
            return home
    return os.path.join(QgsApplication.qgisSettingsDirPath(), "mapbridge", kind)
