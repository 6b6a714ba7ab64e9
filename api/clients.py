"""Which client class serves which service."""

from __future__ import annotations

from .mapalyze import MapalyzeClient
from .mapflow import MapflowClient
from .mapiry import MapiryClient
from .mapsemble import MapsembleClient

CLIENT_CLASSES = {
    "mapalyze": MapalyzeClient,
    "mapflow": MapflowClient,
    "mapiry": MapiryClient,
    "mapsemble": MapsembleClient,
}


def make_client(config, proxy=None, **kwargs):
    """A client for the service named in the config."""
    return CLIENT_CLASSES[config.service](config, proxy, **kwargs)
