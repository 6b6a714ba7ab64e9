"""A sync's service side made from the parameters of its algorithm (the dock previews with what it will run)."""

from __future__ import annotations

from .mapiry import MapirySync
from .mapsemble import MapsembleSync


def make_applier(service, params, fields, crs, transform_context, client=None, feedback=None, generated=()):
    """MapsembleSync or MapirySync for plain parameter values (without a client: for previews, nothing is sent)."""
    if service == "mapsemble":
        return MapsembleSync(client, feedback, params.get("MAP_ID") or "", fields, crs, transform_context,
                             params.get("LABEL_FIELD"), params.get("FIELDS") or None, params.get("KEY_FIELD"),
                             generated)
    return MapirySync(client, feedback, params.get("MAP_ID") or None, fields, crs, transform_context,
                      params.get("NAME_FIELD"), params.get("DESCRIPTION_FIELD"), params.get("GEOMETRY_MODE") or 0,
                      params.get("LAYER_FIELD"), new_map_title=params.get("NEW_MAP_TITLE"))
