"""Mapflow processings.

Flow: aoi → account (limits, cost) → processings (start, wait) → result → style.
Beside it: catalog (imagery search), upload (Data API), tracked (the processings the dock follows).
"""
