"""Keeping a layer and its web map in step: only what changed since the last sync is sent.

Flow: place (where the link lives) → store (the link: remote id and fingerprint per feature) → scan (keys,
fingerprints) → plan (create, update, delete, unchanged) → remote (is the map still as we left it?) → one applier
per service (mapsemble, mapiry; they send through core/push's jobs and payloads) → run (link kept up to date as
answers come, report). Sync builds on push: it reuses push's payloads, jobs, waiting and unknown-outcome checks.
"""
