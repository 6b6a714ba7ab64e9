"""Algorithm `mapbridge:mapflow_catalog`: imagery footprints over an AOI from the Mapflow catalog."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ..api.errors import CancelledError, MapbridgeError
from ..core.qgis_compat import datetime_type, fast_insert_flag, number_type, source_type
from .mapflow_common import MapflowAlgorithm, optional_value, read_aoi
from .outputs import when_loaded


class MapflowCatalogAlgorithm(MapflowAlgorithm):
    """Search the imagery catalog over an AOI and write the image footprints with their metadata."""

    help_text = ("Searches the Mapflow imagery catalog (Data API, POST /catalog/meta) over the polygons of AOI and "
                 "writes one footprint per image with its metadata (id, acquisition date, cloud cover as the "
                 "service gives it (0–1), resolution, off-nadir angle, sensor, product type) to OUTPUT.\n\n"
                 "Filters: DATE_FROM/DATE_TO (acquisition dates, UTC, inclusive), MAX_CLOUD in percent (0–100, sent "
                 "as the fraction the API expects), MIN_RESOLUTION/MAX_RESOLUTION in m/px, PRODUCT_TYPES (IMAGE, "
                 "MOSAIC, comma-separated) and PROVIDERS (catalog provider names, comma-separated). "
                 "An image id can be given to 'Run a Mapflow processing' (IMAGE_ID) where the account allows it.")
    AOI = "AOI"
    DATE_FROM = "DATE_FROM"
    DATE_TO = "DATE_TO"
    MAX_CLOUD = "MAX_CLOUD"
    MIN_RESOLUTION = "MIN_RESOLUTION"
    MAX_RESOLUTION = "MAX_RESOLUTION"
    PRODUCT_TYPES = "PRODUCT_TYPES"
    PROVIDERS = "PROVIDERS"
    OUTPUT = "OUTPUT"
    IMAGE_COUNT = "IMAGE_COUNT"

    def name(self):
        return "mapflow_catalog"

    def displayName(self):  # noqa: N802 - QGIS API name
        return "Search the Mapflow imagery catalog"

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        double = number_type("Double")
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.AOI, "Area of interest (polygons)", [source_type("VectorPolygon")]))
        self.addParameter(QgsProcessingParameterDateTime(self.DATE_FROM, "Acquired from (date)", datetime_type("Date"),
                                                         optional=True))
        self.addParameter(QgsProcessingParameterDateTime(self.DATE_TO, "Acquired until (date)", datetime_type("Date"),
                                                         optional=True))
        self.addParameter(QgsProcessingParameterNumber(self.MAX_CLOUD, "Maximum cloud cover (%)", double, None,
                                                       True, 0.0, 100.0))
        self.addParameter(QgsProcessingParameterNumber(self.MIN_RESOLUTION, "Minimum resolution (m/px)", double,
                                                       None, True, 0.0))
        self.addParameter(QgsProcessingParameterNumber(self.MAX_RESOLUTION, "Maximum resolution (m/px)", double,
                                                       None, True, 0.0))
        self.addParameter(QgsProcessingParameterString(self.PRODUCT_TYPES, "Product types (IMAGE, MOSAIC)",
                                                       optional=True))
        self.addParameter(QgsProcessingParameterString(self.PROVIDERS, "Providers (comma-separated names)",
                                                       optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, "Image footprints"))
        self.addOutput(QgsProcessingOutputNumber(self.IMAGE_COUNT, "Images found"))

    def _number(self, parameters, name, context):
        if optional_value(parameters, name) is None:
            return None
        return self.parameterAsDouble(parameters, name, context)

    def _names(self, parameters, name, context):
        if optional_value(parameters, name) is None:
            return None
        names = [n.strip() for n in self.parameterAsString(parameters, name, context).split(",") if n.strip()]
        return names or None

    def _date(self, parameters, name, context, end_of_day):
        from ..core.timestamps import date_to_iso_utc

        value = optional_value(parameters, name)
        if value is None:
            return None
        if isinstance(value, str):
            return date_to_iso_utc(value, end_of_day)
        return date_to_iso_utc(self.parameterAsDateTime(parameters, name, context), end_of_day)

    def run_job(self, parameters, context, feedback):
        from ..core.mapflow.aoi import wgs84
        from ..core.mapflow.catalog import (
            FOOTPRINT_WKB,
            check_dates,
            footprint_features,
            footprint_fields,
            search_catalog,
        )
        from ..core.mapflow.start import read_account_leniently
        from ..core.mapflow.style import apply_footprint_style

        client = self.clients["mapflow"]
        filters = {
            "date_from": self._date(parameters, self.DATE_FROM, context, False),
            "date_to": self._date(parameters, self.DATE_TO, context, True),
            "max_cloud_percent": self._number(parameters, self.MAX_CLOUD, context),
            "min_resolution": self._number(parameters, self.MIN_RESOLUTION, context),
            "max_resolution": self._number(parameters, self.MAX_RESOLUTION, context),
            "product_types": self._names(parameters, self.PRODUCT_TYPES, context),
            "providers": self._names(parameters, self.PROVIDERS, context),
        }
        check_dates(filters["date_from"], filters["date_to"])       # contradictory dates: refused before anything
        aoi = read_aoi(self, parameters, self.AOI, context, feedback)
        shown = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in filters.items()
                          if v)
        feedback.pushInfo(f"AOI {aoi.area_km2:.3f} km²; filters: {shown or 'none'}.")
        notes = []
        account = read_account_leniently(client, notes)
        for note in notes:
            feedback.pushWarning(note)
        limit = account.search_area_limit_m2 or account.aoi_area_limit_m2
        if limit and any(area > limit for area in self._part_areas(aoi, context)):
            raise MapbridgeError(f"the AOI is larger than your account's search area limit of {limit / 1e6:g} km²; "
                                 "nothing was searched", service="mapflow", hint="Search a smaller area")
        images = search_catalog(client, aoi, feedback, **filters)
        fields = footprint_fields(images)
        sink, destination = self.parameterAsSink(parameters, self.OUTPUT, context, fields, FOOTPRINT_WKB, wgs84())
        if sink is None:
            raise MapbridgeError("the output layer could not be created", hint="Choose another output")
        fast = fast_insert_flag()
        for feature in footprint_features(images, fields):
            if feedback.isCanceled():
                raise CancelledError()
            sink.addFeature(feature, fast)
        feedback.pushInfo(f"Found {len(images):,} images.")
        when_loaded(context, destination, apply_footprint_style)
        return {self.OUTPUT: destination, self.IMAGE_COUNT: len(images)}

    @staticmethod
    def _part_areas(aoi, context):
        from ..core.mapflow.aoi import ellipsoidal_area_m2, polygon_parts

        return [ellipsoidal_area_m2(part, context.transformContext()) for part in polygon_parts(aoi.geometry)]
