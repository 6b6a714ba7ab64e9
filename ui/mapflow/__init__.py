"""The Mapflow tab: tab holds aoi_panel (aoi_tool), project_panel, list_panel and catalog_panel.

list_panel shows processings_model and is kept current by poller; layout has the panels' sizing helpers.
"""
