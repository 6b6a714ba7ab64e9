"""A public WMS 1.3.0 of catalog image previews (GetCapabilities, GetMap), as a mixin of Mapflow.

Assumption (the notes list "wms" among previewType values and say no more): such an image's previewUrl is a WMS
GetMap URL naming the image's layer, usable without the token like the other preview URLs.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from ..base import ApiError, Response
from .geometry import bbox_of
from .imagery import png

MAX_SIDE = 1024


def _box(west, south, east, north):
    return (f"<EX_GeographicBoundingBox><westBoundLongitude>{west}</westBoundLongitude>"
            f"<eastBoundLongitude>{east}</eastBoundLongitude><southBoundLatitude>{south}</southBoundLatitude>"
            f"<northBoundLatitude>{north}</northBoundLatitude></EX_GeographicBoundingBox>"
            # WMS 1.3.0 EPSG:4326: latitude first
            f'<BoundingBox CRS="EPSG:4326" minx="{south}" miny="{west}" maxx="{north}" maxy="{east}"/>')


class WmsMixin:
    """GET /wms/catalog?SERVICE=WMS&REQUEST=GetCapabilities|GetMap (keys in any case)."""

    def wms_preview_url(self, req, image):
        """The previewUrl of an image with a "wms" preview: a GetMap of its layer over its footprint."""
        west, south, east, north = bbox_of(image["footprint"]["coordinates"][:1])
        return (f"{req.base_url}/wms/catalog?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS={image['id']}"
                f"&STYLES=&CRS=EPSG:4326&BBOX={south},{west},{north},{east}&WIDTH=256&HEIGHT=256&FORMAT=image/png")

    def catalog_wms(self, req):
        args = {key.upper(): values[0] for key, values in req.query.items() if values}
        request = args.get("REQUEST", "").lower()
        if request == "getcapabilities":
            return Response(200, raw=self._wms_capabilities(req), content_type="text/xml")
        if request == "getmap":
            layers = [name for name in args.get("LAYERS", "").split(",") if name]
            if not layers or any(name not in self._image_index for name in layers):
                raise ApiError(400, f"unknown layer in LAYERS={args.get('LAYERS', '')!r}", "LayerNotDefined")
            try:
                width, height = int(args.get("WIDTH", "256")), int(args.get("HEIGHT", "256"))
            except ValueError:
                raise ApiError(400, "WIDTH and HEIGHT must be integers", "InvalidDimensionValue") from None
            if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
                raise ApiError(400, f"WIDTH and HEIGHT must be 1 to {MAX_SIDE}", "InvalidDimensionValue")
            return Response(200, raw=png(width, height, (70, 110, 170)), content_type="image/png")
        raise ApiError(400, f"REQUEST={args.get('REQUEST', '')!r} is not supported", "OperationNotSupported")

    def _wms_capabilities(self, req):
        endpoint = quoteattr(f"{req.base_url}/wms/catalog?")
        layers = []
        for image in self.images:
            west, south, east, north = bbox_of(image["footprint"]["coordinates"][:1])
            name = escape(image["id"])
            layers.append(f'<Layer queryable="0"><Name>{name}</Name><Title>{name}</Title>'
                          f"{_box(west, south, east, north)}</Layer>")
        get = f"<DCPType><HTTP><Get><OnlineResource xlink:href={endpoint}/></Get></HTTP></DCPType>"
        return ('<?xml version="1.0" encoding="UTF-8"?>'
                '<WMS_Capabilities version="1.3.0" xmlns="http://www.opengis.net/wms" '
                'xmlns:xlink="http://www.w3.org/1999/xlink">'
                f"<Service><Name>WMS</Name><Title>Mapflow catalog previews</Title>"
                f"<OnlineResource xlink:href={endpoint}/></Service>"
                "<Capability><Request>"
                f"<GetCapabilities><Format>text/xml</Format>{get}</GetCapabilities>"
                f"<GetMap><Format>image/png</Format>{get}</GetMap>"
                "</Request><Exception><Format>XML</Format></Exception>"
                "<Layer><Title>Catalog</Title><CRS>EPSG:4326</CRS><CRS>EPSG:3857</CRS>"
                f"{_box(-180, -90, 180, 90)}{''.join(layers)}</Layer>"
                "</Capability></WMS_Capabilities>")
