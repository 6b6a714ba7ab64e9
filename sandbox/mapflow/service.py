"""The Mapflow service: state and seeding, auth, error shapes, user status and the route table."""

# Choices where the docs are silent (see also the per-handler docstrings and the mixin modules):
# - Processing API errors {"code", "message", "params"}; Data API (/rasters/*, /catalog/*) errors
#   {"detail": {"code", "message", "parameters"}}. Codes: TOO_LARGE_PROCESSING, ProviderMinAreaError (both from the
#   notes), INVALID_GEOMETRY, WORKFLOW_NOT_FOUND, NOT_ENOUGH_CREDITS, TOO_MANY_AOIS, PROJECT_NOT_FOUND,
#   PROCESSING_NOT_FOUND, PROCESSING_NOT_COMPLETED (409), PROCESSING_CANNOT_BE_RESTARTED, VALIDATION_ERROR,
#   NOT_FOUND; Data API uploads: FileValidationFailed, FileTooBig, MemoryLimitExceeded, ImageExtentTooBig (notes).
# - Creates answer 200 (POST /projects, /processings/v2, /rasters/mosaic) with the object; deletes answer 200
#   {"id", "deleted": true}.

from __future__ import annotations

from .. import seed as seeding
from ..base import ApiError, Service
from .catalog import CatalogMixin
from .data_api import DEFAULT_MEMORY_LIMIT, DataApiMixin
from .imagery import TilesMixin, check_presigned
from .processings import DATA_PROVIDERS, SEARCH_PROVIDERS, WORKFLOWS, ProcessingsMixin
from .projects import ProjectsMixin
from .wms import WmsMixin


class Mapflow(Service, ProjectsMixin, ProcessingsMixin, CatalogMixin, DataApiMixin, TilesMixin, WmsMixin):
    """State and routes of the Mapflow Processing and Data APIs (base .../mapflow/rest)."""

    name = "mapflow"
    uppercase_codes = True
    ROUTES = (
        ("GET", r"/user/status", "user_status"),
        ("GET", r"/projects/default", "default_project"),
        ("GET", r"/projects", "list_projects"),
        ("POST", r"/projects", "create_project"),
        ("GET", r"/projects/([^/]+)", "get_project"),
        ("PUT", r"/projects/([^/]+)", "update_project"),
        ("DELETE", r"/projects/([^/]+)", "delete_project"),
        ("POST", r"/projects/([^/]+)/processings/v2/page", "page_processings"),
        ("POST", r"/processings/v2", "create_processing"),
        ("GET", r"/processings/([^/]+)/v2", "get_processing"),
        ("PUT", r"/processings/([^/]+)/v2", "rename_processing"),
        ("POST", r"/processings/([^/]+)/restart/v2", "restart_processing"),
        ("PUT", r"/processings/([^/]+)/rate", "rate_processing"),
        ("PUT", r"/processings/([^/]+)/acceptation", "accept_processing"),
        ("PUT", r"/processings/([^/]+)/rejection", "reject_processing"),
        ("GET", r"/processings/([^/]+)/result", "get_result", False),
        ("GET", r"/processings/([^/]+)/aois", "get_aois"),
        ("DELETE", r"/processings/([^/]+)", "delete_processing"),
        ("POST", r"/processing/cost/v2", "processing_cost"),
        ("POST", r"/catalog/meta", "catalog_search"),
        ("GET", r"/catalog/meta/([^/]+)", "catalog_image"),
        ("GET", r"/rasters/memory", "memory"),
        ("GET", r"/rasters/mosaic", "list_mosaics"),
        ("POST", r"/rasters/mosaic", "create_mosaic"),
        ("POST", r"/rasters/mosaic/mosaic", "create_mosaic_with_image"),
        ("GET", r"/rasters/mosaic/([^/]+)", "get_mosaic"),
        ("PUT", r"/rasters/mosaic/([^/]+)", "update_mosaic"),
        ("DELETE", r"/rasters/mosaic/([^/]+)", "delete_mosaic"),
        ("GET", r"/rasters/mosaic/([^/]+)/image", "list_images"),
        ("POST", r"/rasters/mosaic/([^/]+)/image", "upload_image"),
        ("POST", r"/rasters/mosaic/([^/]+)/link-image", "link_image"),
        ("GET", r"/rasters/image/([^/]+)", "get_image"),
        ("PUT", r"/rasters/image/([^/]+)", "rename_image"),
        ("DELETE", r"/rasters/image/([^/]+)", "delete_image"),
        ("GET", r"/rasters/image/([^/]+)/download", "download_image"),
        ("GET", r"/rasters/(?:image/)?([^/]+)/preview/(s|l)", "image_preview", False),
        ("GET", r"/presigned/(image|preview|catalog)/([^/]+)", "presigned", False),
        ("GET", r"/tiles/(raster|vector)/([^/]+)/tile\.json", "tile_json"),
        ("GET", r"/tiles/(raster|vector)/([^/]+)/(\d+)/(\d+)/(\d+)\.(?:png|pbf)", "tile", False),
        ("GET", r"/wms/catalog", "catalog_wms", False),
    )

    def __init__(self, token, *, seed=1, processing_seconds=2.0, result_features=None, tmpdir=None):
        super().__init__(token)
        self.seed = seed
        self.processing_seconds = processing_seconds
        self.result_features = result_features
        self.tmpdir = tmpdir
        self.memory_limit = DEFAULT_MEMORY_LIMIT
        self.remaining_credits = 5000
        self.billing_type = "CREDITS"
        self.remaining_area = 100_000_000
        self.aoi_area_limit = 25_000_000
        self.max_aois = 10
        self.search_area_limit = 25_000_000
        self.review_enabled = False
        self.max_upload_file_size = 1024 ** 3
        self.max_pixel_count = 30_000
        self._rng = seeding.rng_for(seed, "mapflow-ids")
        self._result_locks = {}
        self.workflows = []
        for name, kind, price, description, blocks in WORKFLOWS:
            self.workflows.append({"id": seeding.uuid4(self._rng), "name": name, "description": description,
                                   "pricePerSqKm": price, "_kind": kind,
                                   "blocks": [{"name": b, "displayName": d, "optional": o, "price": p}
                                              for b, d, o, p in blocks]})
        created = "2025-01-01T00:00:00.000Z"
        self.projects = {}
        self.default_project_id = seeding.uuid4(self._rng)
        self.projects[self.default_project_id] = {
            "id": self.default_project_id, "name": "Default", "description": "Default project",
            "isDefault": True, "created": created, "updated": created}
        self.processings = {}
        self.images = self._catalog_images(seed)
        self._image_index = {img["id"]: img for img in self.images}
        self.mosaics = {}
        self.raster_images = {}
        seeded = self._new_processing(
            {"name": "Seed: Moscow buildings", "wdName": "🏠 Buildings",
             "geometry": {"type": "Polygon", "coordinates": [[[37.6156, 55.7558], [37.6256, 55.7558],
                                                               [37.6256, 55.7608], [37.6156, 55.7608],
                                                               [37.6156, 55.7558]]]},
             "params": {"sourceParams": {"dataProvider": {"providerName": "Mapbox", "zoom": 18}}}},
            charge=False)
        seeded["_start"] -= 10 ** 6

    # -- shape -------------------------------------------------------------------------------
    @staticmethod
    def _is_data_api(req):
        return req.path.startswith(("/rasters", "/catalog"))

    def authenticate(self, req):
        """Bearer or Basic with the same token, anywhere but on public tiles and pre-signed URLs."""
        if req.path.startswith("/presigned/") or req.path == "/wms/catalog":
            check_presigned(req)
            return
        if req.path.startswith("/tiles/") and not req.path.endswith("/tile.json"):
            return
        if not req.auth_present:
            raise ApiError(401, "Authorization header is missing", "UNAUTHORIZED")
        if req.auth_scheme not in ("bearer", "basic") or req.auth_token != self.token:
            raise ApiError(401, "Invalid API token", "UNAUTHORIZED")

    def error_body(self, req, status, code, message, details):
        """Processing API {"code","message","params"}; Data API {"detail": {"code","message"}}."""
        if self._is_data_api(req):
            detail = {"code": code, "message": message}
            if details is not None:
                detail["params"] = details
                detail["parameters"] = details
            return {"detail": detail}
        return {"code": code, "message": message, "params": details if details is not None else {}}

    # -- account ---------------------------------------------------------------------------------
    def user_status(self, req):
        """GET /user/status."""
        return {"email": "sandbox@mapbridge.test", "login": "sandbox", "role": "USER", "billingType": self.billing_type,
                "remainingCredits": self.remaining_credits, "remainingArea": self.remaining_area,
                "aoiAreaLimit": self.aoi_area_limit, "maxAoisPerProcessing": self.max_aois,
                "templateAreaLimit": self.aoi_area_limit, "searchAreaLimit": self.search_area_limit,
                "reviewWorkflowEnabled": self.review_enabled, "memoryLimit": self.memory_limit,
                "dataProviders": [dict(p, previewUrl=f"{req.base_url}/tiles/raster/{p['id']}/{{z}}/{{x}}/{{y}}.png")
                                  for p in DATA_PROVIDERS],
                "searchDataProviders": SEARCH_PROVIDERS}
