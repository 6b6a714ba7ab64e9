"""Pushing features to a service.

Flow: items → payloads (values, geometry) → job (failures, waiting) → batch_sender → run → report.
One job per service: mapiry, mapsemble, mapalyze; preview counts what a push would do before it runs.
"""
