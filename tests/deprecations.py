"""Spotting deprecated-API warnings of Mapbridge in the output of a QGIS process (qgis_process, the desktop)."""

from __future__ import annotations


def our_deprecations(output):
    """Lines of a QGIS process's output where Python warned about a deprecated call made by Mapbridge."""
    return [line for line in output.splitlines()
            if ("DeprecationWarning" in line or "FutureWarning" in line) and "/mapbridge/" in line]
