"""The links of one layer, for the dock and the Layers panel: read them, forget them."""

from __future__ import annotations

from .place import place_of
from .store import LinkStore


def layer_links(layer):
    """The layer's links ([] when it has none), read without writing anything."""
    place = place_of(layer)
    store = LinkStore(place.store_path).open_readonly()
    try:
        return store.links(place.source)
    finally:
        store.close()


def forget_links(layer):
    """Remove every link of the layer (its features stay on the maps); returns the links removed."""
    links = layer_links(layer)
    if not links:
        return []
    place = place_of(layer)
    with LinkStore(place.store_path) as store:
        for link in links:
            store.remove_link(link)
    return links
