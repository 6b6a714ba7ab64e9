"""Mapflow emulator: service + projects/processings/catalog/data_api mixins + geometry/results/uploads helpers."""

from .service import Mapflow

__all__ = ["Mapflow"]
