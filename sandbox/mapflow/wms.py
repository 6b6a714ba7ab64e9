"""A WMS GetMap of catalog image previews, as a mixin of Mapflow.

Assumption (the notes list "wms" among previewType values and say no more): such an image's previewUrl is a WMS
1.3.0 GetMap URL of its layer over its footprint, pre-signed like the picture previews (no token).
"""

from __future__ import annotations

from urllib.parse import urlencode

from ..base import ApiError, Response
from .geometry import bbox_of
from .imagery import png, presigned_url

PATH = "/wms/catalog"
MAX_SIDE = 1024


class WmsMixin:
    """GET /wms/catalog?expires=&signature=&SERVICE=WMS&REQUEST=GetMap&LAYERS=… (keys in any case)."""

    def wms_preview_url(self, req, image):
        """The previewUrl of an image with a "wms" preview: a pre-signed GetMap of its layer over its footprint."""
        west, south, east, north = bbox_of(image["footprint"]["coordinates"][:1])
        query = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": image["id"], "STYLES": "",
                 "CRS": "EPSG:4326", "BBOX": f"{south},{west},{north},{east}", "WIDTH": 256, "HEIGHT": 256,
                 "FORMAT": "image/png"}
        return f"{presigned_url(req.base_url, PATH)}&{urlencode(query)}"

    def catalog_wms(self, req):
        args = {key.upper(): values[0] for key, values in req.query.items() if values}
        if args.get("REQUEST", "").lower() != "getmap":
            raise ApiError(400, f"REQUEST={args.get('REQUEST', '')!r} is not supported", "OperationNotSupported")
        layers = [name for name in args.get("LAYERS", "").split(",") if name]
        if not layers or any(name not in self._image_index for name in layers):
            raise ApiError(400, f"unknown layer in LAYERS={args.get('LAYERS', '')!r}", "LayerNotDefined")
        try:
            width, height = int(args.get("WIDTH", "")), int(args.get("HEIGHT", ""))
        except ValueError:
            raise ApiError(400, "WIDTH and HEIGHT must be integers", "InvalidDimensionValue") from None
        if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
            raise ApiError(400, f"WIDTH and HEIGHT must be 1 to {MAX_SIDE}", "InvalidDimensionValue")
        return Response(200, raw=png(width, height, (70, 110, 170)), content_type="image/png")
