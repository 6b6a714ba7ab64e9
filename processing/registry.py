"""The list of algorithms the provider loads; one line per algorithm."""

from __future__ import annotations


def algorithm_classes():
    """Every Mapbridge algorithm class, imported on demand."""
    from .check_connections import CheckConnectionsAlgorithm

    return [
        CheckConnectionsAlgorithm,
    ]
