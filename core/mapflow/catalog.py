"""Mapflow imagery catalog: the search body, paged search over the AOI, and footprint features."""

from __future__ import annotations

import json

from osgeo import ogr
from qgis.core import QgsFeature, QgsFields, QgsGeometry

from ...api.errors import CancelledError, MapbridgeError
from ...api.http import PageRepeats
from ..gdal_calls import attempt
from ..qgis_compat import FIELD_DOUBLE, FIELD_STRING, geometry_type, make_field, wkb_type

MAPFLOW = "mapflow"
PAGE_SIZE = 100
MAX_IMAGES = 2000
# Known image keys first (Data API page), in this order, with their field types.
KNOWN_FIELDS = [
    ("id", FIELD_STRING), ("acquisitionDate", FIELD_STRING), ("cloudCover", FIELD_DOUBLE),
    ("pixelResolution", FIELD_DOUBLE), ("offNadirAngle", FIELD_DOUBLE),
    ("sensor", FIELD_STRING), ("productType", FIELD_STRING),
    ("colorBandOrder", FIELD_STRING), ("providerName", FIELD_STRING), ("zoom", FIELD_DOUBLE),
    ("previewType", FIELD_STRING), ("previewUrl", FIELD_STRING),
]


def check_dates(date_from, date_to):
    """Refuse a date range whose start is after its end (ISO 8601 texts, either may be None)."""
    from ..timestamps import epoch_seconds

    start, end = epoch_seconds(date_from), epoch_seconds(date_to)
    if date_from and start is None or date_to and end is None:
        raise MapbridgeError(f"the acquisition dates {date_from or ''} … {date_to or ''} are not ISO 8601 dates",
                             service=MAPFLOW, hint="Give the dates like 2021-01-01")
    if start is not None and end is not None and start > end:
        raise MapbridgeError(f"the acquisition date range starts ({date_from}) after it ends ({date_to}); nothing "
                             "was searched", service=MAPFLOW, hint="Swap DATE_FROM and DATE_TO")


def cloud_percent(value):
    """Cloud cover in percent from the service's value: a fraction 0–1 (the Data API page), or a percentage as
    the official client sends it (values above 1)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value * 100.0 if value <= 1.0 else value


def search_body(aoi_polygon, *, date_from=None, date_to=None, max_cloud_percent=None, min_resolution=None,
                max_resolution=None, product_types=None, providers=None, limit=PAGE_SIZE, offset=0):
    """The POST /catalog/meta body; cloud cover goes as a fraction 0–1 as the Data API asks; product types and
    providers are left out rather than sent empty."""
    check_dates(date_from, date_to)
    body = {"aoi": aoi_polygon, "limit": int(limit), "offset": int(offset)}
    if product_types:
        body["productTypes"] = [str(t).upper() for t in product_types]
    if providers:
        body["dataProviders"] = list(providers)
    if date_from:
        body["acquisitionDateFrom"] = date_from
    if date_to:
        body["acquisitionDateTo"] = date_to
    if max_cloud_percent is not None:
        if not 0 <= max_cloud_percent <= 100:
            raise MapbridgeError(f"the maximum cloud cover must be 0–100 %, got {max_cloud_percent:g}",
                                 service=MAPFLOW, hint="Give a percentage")
        body["maxCloudCover"] = round(max_cloud_percent / 100.0, 6)
    if min_resolution is not None:
        body["minResolution"] = float(min_resolution)
    if max_resolution is not None:
        body["maxResolution"] = float(max_resolution)
    if min_resolution is not None and max_resolution is not None and min_resolution > max_resolution:
        raise MapbridgeError("the minimum resolution is larger than the maximum resolution", service=MAPFLOW,
                             hint="Swap the two values")
    return body


def search_catalog(client, aoi, feedback, **filters):
    """Search the catalog over every polygon of the AOI (the API takes one Polygon), paged; unique images."""
    images, seen = [], set()
    parts = aoi.part_geojsons()
    if len(parts) > 1:
        feedback.pushInfo(f"The AOI has {len(parts):,} polygons; the catalog takes one Polygon per search, "
                          "so each is searched and the images are merged.")
    for number, polygon in enumerate(parts, 1):
        offset, repeats = 0, PageRepeats("mapflow", "catalog images")
        while True:
            if feedback.isCanceled():
                raise CancelledError()
            answer = client.catalog_search(search_body(polygon, offset=offset, **filters))
            page = [i for i in (answer.get("images") or []) if isinstance(i, dict)]
            first = _image_key(page[0]) if page else None
            repeats.repeated(first, full=True)      # the offset moves by what came: any repeat means it was ignored
            for image in page:
                key = _image_key(image)
                if key not in seen:
                    seen.add(key)
                    images.append(image)
            offset += len(page)
            total = answer.get("total")
            feedback.setProgress(100.0 * (number - 1 + (offset / total if total else 1)) / len(parts))
            if not page or not isinstance(total, int) or offset >= total or len(images) >= MAX_IMAGES:
                break
        if len(images) >= MAX_IMAGES:
            feedback.pushWarning(f"Stopped at {MAX_IMAGES} images; narrow the filters to see the rest.")
            break
    return images


def _image_key(image):
    """An image's id, or its footprint when it has none (to merge the searches of several polygons)."""
    return image.get("id") or json.dumps(image.get("footprint"), sort_keys=True)


def footprint_fields(images):
    """Fields for the images: the known keys, then any other scalar key the service sent."""
    fields = QgsFields()
    names = set()
    for name, kind in KNOWN_FIELDS:
        fields.append(make_field(name, kind))
        names.add(name)
    for image in images:
        for key, value in image.items():
            if key in names or key == "footprint" or isinstance(value, (dict, list)):
                continue
            kind = FIELD_DOUBLE if isinstance(value, (int, float)) and not isinstance(value, bool) else FIELD_STRING
            fields.append(make_field(key, kind))
            names.add(key)
    return fields


def geometry_of(geojson):
    """A QgsGeometry from a GeoJSON geometry dict (via OGR), or an empty geometry."""
    if not isinstance(geojson, dict):
        return QgsGeometry()
    ogr_geometry, _error = attempt(ogr.CreateGeometryFromJson, json.dumps(geojson))
    if ogr_geometry is None:
        return QgsGeometry()
    geometry = QgsGeometry()
    geometry.fromWkb(bytes(ogr_geometry.ExportToIsoWkb()))
    if geometry.type() == geometry_type("Polygon") and not geometry.isMultipart():
        geometry.convertToMultiType()
    return geometry


def footprint_features(images, fields):
    """One QgsFeature per image: its footprint and metadata."""
    features = []
    for image in images:
        feature = QgsFeature(fields)
        feature.setGeometry(geometry_of(image.get("footprint") or image.get("geometry")))
        for index, field in enumerate(fields):
            value = image.get(field.name())
            if value is None or isinstance(value, (dict, list)):
                continue
            if field.isNumeric():
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    continue
            else:
                value = str(value)
            feature.setAttribute(index, value)
        features.append(feature)
    return features


FOOTPRINT_WKB = wkb_type("MultiPolygon")
