"""The defaults a Mapflow processing starts from: plain constants, light enough for the Processing parameters
QGIS builds at start."""

from __future__ import annotations

# Fallbacks when the account cannot be read: the names the Mapflow docs and notes use.
DEFAULT_MODEL = "🏠 Buildings"
FALLBACK_MODELS = ("🏠 Buildings", "🌲 Forest", "🚗 Roads")
DEFAULT_PROVIDER = "Mapbox"
FALLBACK_PROVIDERS = ("Mapbox",)
DEFAULT_ZOOM = 18
