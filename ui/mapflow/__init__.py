"""The Mapflow tab: tab holds project_panel on top and three sub-pages, new_page (aoi_panel with aoi_tool, model_panel,
source_panel), processings_page (processings_model, kept current by poller; processing_actions, dialogs) and
imagery_page (catalog_panel, my_imagery_panel); results loads results and tiles; asker asks; layout sizes."""
