"""Processing provider `mapbridge`: the toolbox, model designer and qgis_process door to every job."""

from __future__ import annotations

import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon


ICON_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "icons", "mapbridge.svg")


class MapbridgeProvider(QgsProcessingProvider):
    """Provides the Mapbridge algorithms."""

    def id(self):  # noqa: A003 - QGIS API name
        return "mapbridge"

    def name(self):
        return "Mapbridge"

    def longName(self):  # noqa: N802 - QGIS API name
        return "Mapbridge (Mapalyze, Mapflow, Mapiry, Mapsemble)"

    def icon(self):
        return QIcon(ICON_PATH)

    def svgIconPath(self):  # noqa: N802 - QGIS API name
        return ICON_PATH

    def loadAlgorithms(self):  # noqa: N802 - QGIS API name
        from .check_connections import CheckConnectionsAlgorithm
        from .mapalyze_push import MapalyzePushAlgorithm
        from .mapalyze_records import MapalyzeRecordsAlgorithm
        from .mapflow_catalog import MapflowCatalogAlgorithm
        from .mapflow_process import MapflowProcessAlgorithm
        from .mapflow_results import MapflowResultsAlgorithm
        from .mapflow_upload import MapflowUploadAlgorithm
        from .mapiry_push import MapiryPushAlgorithm
        from .mapiry_sync import MapirySyncAlgorithm
        from .mapsemble_push import MapsemblePushAlgorithm
        from .mapsemble_sync import MapsembleSyncAlgorithm

        for cls in (CheckConnectionsAlgorithm, MapalyzeRecordsAlgorithm, MapflowProcessAlgorithm,
                    MapflowResultsAlgorithm, MapflowCatalogAlgorithm, MapflowUploadAlgorithm, MapiryPushAlgorithm,
                    MapsemblePushAlgorithm, MapalyzePushAlgorithm, MapsembleSyncAlgorithm, MapirySyncAlgorithm):
            self.addAlgorithm(cls())
