"""The list of algorithms the provider loads; one line per algorithm."""

from __future__ import annotations


def algorithm_classes():
    """Every Mapbridge algorithm class, imported on demand."""
    from .check_connections import CheckConnectionsAlgorithm
    from .mapalyze_records import MapalyzeRecordsAlgorithm
    from .mapflow_catalog import MapflowCatalogAlgorithm
    from .mapflow_process import MapflowProcessAlgorithm
    from .mapflow_results import MapflowResultsAlgorithm
    from .mapflow_upload import MapflowUploadAlgorithm
    from .mapalyze_push import MapalyzePushAlgorithm
    from .mapiry_push import MapiryPushAlgorithm
    from .mapsemble_push import MapsemblePushAlgorithm

    return [
        CheckConnectionsAlgorithm,
        MapalyzeRecordsAlgorithm,
        MapflowProcessAlgorithm,
        MapflowResultsAlgorithm,
        MapflowCatalogAlgorithm,
        MapflowUploadAlgorithm,
        MapiryPushAlgorithm,
        MapsemblePushAlgorithm,
        MapalyzePushAlgorithm,
    ]
