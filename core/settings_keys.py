"""Every QgsSettings key Mapbridge uses, in one place. Nothing secret is stored here."""

PREFIX = "mapbridge"


def service_url(service):
    """Key of a service's base URL."""
    return f"{PREFIX}/{service}/url"


def service_authcfg(service):
    """Key of the id of the auth-database entry that holds a service's token."""
    return f"{PREFIX}/{service}/authcfg"


MAPALYZE_OUTPUT_FOLDER = f"{PREFIX}/mapalyze/output_folder"
MAPALYZE_AUTO_REFRESH_MINUTES = f"{PREFIX}/mapalyze/auto_refresh_minutes"
MAPALYZE_EXPORT_FOLDER = f"{PREFIX}/mapalyze/export_folder"
PUSH_REPORT_FOLDER = f"{PREFIX}/push/report_folder"
DOCK_OPEN = f"{PREFIX}/dock_open"
MAPFLOW_AUTO_LOAD_RESULTS = f"{PREFIX}/mapflow/auto_load_results"
MAPFLOW_TRACKED_PROCESSINGS = f"{PREFIX}/mapflow/tracked_processings"
MAPFLOW_PROJECT_ID = f"{PREFIX}/mapflow/project_id"
MAPFLOW_HIDDEN_PROCESSINGS = f"{PREFIX}/mapflow/hidden_processings"
MAPFLOW_OUTPUT_FOLDER = f"{PREFIX}/mapflow/output_folder"
PUSH_SERVICE = f"{PREFIX}/push/service"
PUSH_MAPIRY_MAP_ID = f"{PREFIX}/push/mapiry_map_id"
PUSH_MAPSEMBLE_MAP_ID = f"{PREFIX}/push/mapsemble_map_id"
PUSH_MAPALYZE_FORM_ID = f"{PREFIX}/push/mapalyze_form_id"
