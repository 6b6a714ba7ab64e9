"""GeoJSON bodies for the Mapsemble emulator's feature endpoints (its tests and the fault tests that use them)."""

from __future__ import annotations


def feature_collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def point_feature(lon, lat, **props):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}
