"""Mapflow emulator: account, projects, processings with timed progress and results, catalog, Data API."""

# Choices where the docs are silent (see also the per-handler docstrings):
# - Processing API errors {"code", "message", "params"}; Data API (/rasters/*, /catalog/*) errors
#   {"detail": {"code", "message"}}. Codes: AOI_TOO_LARGE, INVALID_GEOMETRY, WORKFLOW_NOT_FOUND,
#   NOT_ENOUGH_CREDITS, TOO_MANY_AOIS, PROJECT_NOT_FOUND, PROCESSING_NOT_FOUND, PROCESSING_NOT_COMPLETED (409),
#   VALIDATION_ERROR, NOT_FOUND, INVALID_FILE, STORAGE_LIMIT_EXCEEDED (413).
# - Creates answer 200 (POST /projects, /processings/v2, /rasters/mosaic) with the object; deletes answer 200
#   {"id", "deleted": true}.
# - Data API objects use snake_case: mosaic {id, name, tags, created_at, updated_at, footprint, image_count};
#   image {id, mosaic_id, filename, size, checksum, image_url, uploaded_at, footprint, meta_data}.
# - GET /rasters/memory → {"limit": bytes, "used": bytes, "free": bytes}; default limit 5 GiB.
# - Result files are GeoJSON FeatureCollections of polygons, generated once per (processing, count) to a
#   temp file and streamed with Content-Length.

from __future__ import annotations

import hashlib
import math
import os
import random
import struct
import threading
import time
from urllib.parse import unquote

from . import seed as seeding
from .base import ApiError, Response, Service, is_number, iso, parse_time

EARTH_RADIUS = 6378137.0
FINAL = ("OK", "FAILED", "CANCELLED", "REFUNDED")
DEFAULT_MEMORY_LIMIT = 5 * 1024 ** 3
DEFAULT_RESULT_FEATURES = 50
DATA_PROVIDERS = [
    {"name": "Mapbox", "displayName": "Mapbox Satellite", "price": [{"zoom": 18, "priceSqKm": 1.0}],
     "minAreaSqKm": 0.0},
    {"name": "Maxar SecureWatch", "displayName": "Maxar SecureWatch",
     "price": [{"zoom": 17, "priceSqKm": 4.0}, {"zoom": 18, "priceSqKm": 6.0}], "minAreaSqKm": 0.0},
    {"name": "Esri World Imagery", "displayName": "Esri World Imagery", "price": [{"zoom": 18, "priceSqKm": 1.0}],
     "minAreaSqKm": 0.0},
    {"name": "Sentinel-2", "displayName": "Sentinel-2 (10 m)", "price": [{"zoom": 14, "priceSqKm": 0.1}],
     "minAreaSqKm": 1.0},
]
WORKFLOWS = [
    ("🏠 Buildings", "buildings", 5.0, "Building footprints with heights and classes",
     [("Buildings", "Building detection", False, 5.0), ("Classification", "Building classification", True, 1.0),
      ("Heights", "Building heights", True, 2.0)]),
    ("🌲 Forest", "forest", 3.0, "Forest and tree-cover areas with height classes",
     [("Forest", "Forest segmentation", False, 3.0), ("Heights", "Forest height classes", True, 1.0)]),
    ("🚗 Roads", "roads", 4.0, "Road surface polygons",
     [("Roads", "Road segmentation", False, 4.0)]),
]


# -- geometry -----------------------------------------------------------------------------------

def ring_area(ring):
    """Approximate area in m² of a lon/lat ring on the sphere (geojson-area method)."""
    n = len(ring)
    if n < 3:
        return 0.0
    total = 0.0
    for i in range(n):
        lo, mid, hi = ring[i], ring[(i + 1) % n], ring[(i + 2) % n]
        total += (math.radians(hi[0]) - math.radians(lo[0])) * math.sin(math.radians(mid[1]))
    return abs(total * EARTH_RADIUS * EARTH_RADIUS / 2.0)


def polygons_of(geom):
    """List of polygons (lists of rings) of a Polygon/MultiPolygon."""
    return [geom["coordinates"]] if geom["type"] == "Polygon" else list(geom["coordinates"])


def geometry_area(geom):
    """Area in m² of a Polygon/MultiPolygon (outer minus holes)."""
    return sum(max(0.0, ring_area(p[0]) - sum(ring_area(h) for h in p[1:])) for p in polygons_of(geom))


def bbox_of(rings):
    """(minx, miny, maxx, maxy) of rings."""
    xs = [p[0] for r in rings for p in r]
    ys = [p[1] for r in rings for p in r]
    return min(xs), min(ys), max(xs), max(ys)


def point_in_ring(x, y, ring):
    """Even-odd point-in-polygon test."""
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i][0], ring[i][1]
        xj, yj = ring[j][0], ring[j][1]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def polygon_error(geom, what="geometry"):
    """Why geom is not a lon/lat Polygon/MultiPolygon, or None."""
    if not isinstance(geom, dict) or geom.get("type") not in ("Polygon", "MultiPolygon"):
        return f"{what} must be a GeoJSON Polygon or MultiPolygon"
    coords = geom.get("coordinates")
    polys = [coords] if geom["type"] == "Polygon" else coords
    if not isinstance(polys, list) or not polys:
        return f"{what} has no coordinates"
    for poly in polys:
        if not isinstance(poly, list) or not poly:
            return f"{what}: a polygon needs at least one ring"
        for ring in poly:
            if not isinstance(ring, list) or len(ring) < 4:
                return f"{what}: a ring needs at least 4 positions"
            for pos in ring:
                if not isinstance(pos, list) or len(pos) < 2 or not all(is_number(c) for c in pos[:3]):
                    return f"{what}: positions must be [lon, lat] numbers"
                if not -180 <= pos[0] <= 180 or not -90 <= pos[1] <= 90:
                    return f"{what}: coordinates must be WGS84 lon/lat (got {pos[:2]})"
            if ring[0][:2] != ring[-1][:2]:
                return f"{what}: rings must be closed"
    return None


class _Part:
    """One AOI polygon prepared for sampling."""

    def __init__(self, poly):
        self.rings = poly
        self.bbox = bbox_of(poly[:1])
        outer = poly[0]
        xs = {p[0] for p in outer}
        ys = {p[1] for p in outer}
        self.is_box = len(poly) == 1 and len(outer) == 5 and len(xs) == 2 and len(ys) == 2

    def contains(self, x, y):
        minx, miny, maxx, maxy = self.bbox
        if not (minx <= x <= maxx and miny <= y <= maxy):
            return False
        if self.is_box:
            return True
        return point_in_ring(x, y, self.rings[0]) and not any(point_in_ring(x, y, h) for h in self.rings[1:])


def write_result(path, geometry, count, kind, seed):
    """Write `count` polygon features of a model kind inside geometry to path; returns the byte size."""
    rng = random.Random(f"result:{seed}")
    parts = [_Part(p) for p in polygons_of(geometry)]
    weights = [max(ring_area(p.rings[0]), 1e-9) for p in parts]
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"type":"FeatureCollection","features":[')
        written = 0
        attempts = 0
        while written < count and attempts < count * 50 + 100:
            attempts += 1
            part = parts[0] if len(parts) == 1 else rng.choices(parts, weights)[0]
            minx, miny, maxx, maxy = part.bbox
            cx = rng.uniform(minx, maxx)
            cy = rng.uniform(miny, maxy)
            if not part.contains(cx, cy):
                continue
            m_per_deg_y = 111320.0
            m_per_deg_x = max(111320.0 * math.cos(math.radians(cy)), 1.0)
            if kind == "roads":
                half_w, half_h = rng.uniform(20, 90), rng.uniform(2, 6)
            elif kind == "forest":
                half_w = half_h = rng.uniform(10, 40)
            else:
                half_w, half_h = rng.uniform(4, 14), rng.uniform(4, 11)
            cap = min((maxx - minx) * m_per_deg_x, (maxy - miny) * m_per_deg_y) / 8.0
            scale = min(1.0, cap / max(half_w, half_h))
            half_w, half_h = half_w * scale, half_h * scale
            angle = rng.uniform(0, math.pi)
            ca, sa = math.cos(angle), math.sin(angle)
            if kind == "forest":
                corners = [(math.cos(a) * half_w * rng.uniform(0.7, 1.0), math.sin(a) * half_h * rng.uniform(0.7, 1.0))
                           for a in (k * math.pi / 3 for k in range(6))]
            else:
                corners = [(-half_w, -half_h), (half_w, -half_h), (half_w, half_h), (-half_w, half_h)]
            ring = [(cx + (x * ca - y * sa) / m_per_deg_x, cy + (x * sa + y * ca) / m_per_deg_y)
                    for x, y in corners]
            if not all(part.contains(x, y) for x, y in ring):
                continue
            ring.append(ring[0])
            area = max(ring_area(ring), 0.1)
            coords = ",".join(f"[{x:.7f},{y:.7f}]" for x, y in ring)
            if kind == "roads":
                props = '{"class_id":2,"class_name":"road","width_m":%.1f,"area":%.1f}' % (half_h * 2, area)
            elif kind == "forest":
                props = '{"class_id":3,"class_name":"forest","height_class":"%s","area":%.1f}' % (
                    rng.choice(("0-4", "4-10", "10-20", "20+")), area)
            else:
                height = "null" if rng.random() < 0.1 else "%.1f" % rng.uniform(3, 45)
                props = '{"class_id":%d,"building_height":%s,"area":%.1f}' % (
                    rng.choice((101, 101, 101, 102, 103)), height, area)
            if written:
                out.write(",")
            out.write('{"type":"Feature","id":%d,"geometry":{"type":"Polygon","coordinates":[[%s]]},'
                      '"properties":%s}' % (written + 1, coords, props))
            written += 1
        out.write("]}")
    return os.path.getsize(path)


# -- multipart & TIFF -------------------------------------------------------------------------

def parse_multipart(body, content_type):
    """[(name, filename, data)] of a multipart/form-data body; None if not multipart."""
    ctype, _, params = content_type.partition(";")
    if ctype.strip().lower() != "multipart/form-data":
        return None
    boundary = None
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip().strip('"')
    if not boundary:
        return None
    parts = []
    for chunk in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, _, data = chunk.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        name = filename = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                for item in value.split(";")[1:]:
                    k, _, v = item.strip().partition("=")
                    v = v.strip().strip('"')
                    if k.lower() == "name":
                        name = v
                    elif k.lower() == "filename":
                        filename = v
        parts.append((name, filename, data))
    return parts


def tiff_info(data):
    """{width, height, count, bits} of a classic TIFF ({} for BigTIFF); None if not a TIFF."""
    magic = data[:4]
    if magic in (b"II+\x00", b"MM\x00+"):
        return {}
    if magic == b"II*\x00":
        end = "<"
    elif magic == b"MM\x00*":
        end = ">"
    else:
        return None
    info = {}
    try:
        ifd = struct.unpack(end + "I", data[4:8])[0]
        (entries,) = struct.unpack(end + "H", data[ifd:ifd + 2])
        for i in range(entries):
            entry = data[ifd + 2 + 12 * i:ifd + 14 + 12 * i]
            tag, typ, count = struct.unpack(end + "HHI", entry[:8])
            value = struct.unpack(end + "H", entry[8:10])[0] if typ == 3 else struct.unpack(end + "I", entry[8:12])[0]
            if tag == 256:
                info["width"] = value
            elif tag == 257:
                info["height"] = value
            elif tag == 277:
                info["count"] = value
            elif tag == 258 and count == 1:
                info["bits"] = value
    except (struct.error, IndexError):
        pass
    return info


# -- the service -----------------------------------------------------------------------------

class Mapflow(Service):
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
        ("DELETE", r"/rasters/image/([^/]+)", "delete_image"),
    )

    def __init__(self, token, *, seed=1, processing_seconds=2.0, result_features=None, tmpdir=None):
        super().__init__(token)
        self.seed = seed
        self.processing_seconds = processing_seconds
        self.result_features = result_features
        self.tmpdir = tmpdir
        self.memory_limit = DEFAULT_MEMORY_LIMIT
        self.remaining_credits = 5000
        self.remaining_area = 100_000_000
        self.aoi_area_limit = 25_000_000
        self.max_aois = 10
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
        self.images = seeding.catalog_images(seed)
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
        """Bearer or Basic with the same token, anywhere."""
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
            return {"detail": detail}
        return {"code": code, "message": message, "params": details if details is not None else {}}

    # -- account & projects ---------------------------------------------------------------------
    def user_status(self, req):
        """GET /user/status."""
        return {"email": "sandbox@mapbridge.test", "login": "sandbox", "role": "USER", "billingType": "CREDITS",
                "remainingCredits": self.remaining_credits, "remainingArea": self.remaining_area,
                "aoiAreaLimit": self.aoi_area_limit, "maxAoisPerProcessing": self.max_aois,
                "memoryLimit": self.memory_limit, "dataProviders": DATA_PROVIDERS}

    def _workflow_out(self, wd):
        return {k: v for k, v in wd.items() if not k.startswith("_")}

    def _project_out(self, project):
        out = dict(project)
        out["workflowDefs"] = [self._workflow_out(wd) for wd in self.workflows]
        out["processingCount"] = sum(1 for p in self.processings.values() if p["projectId"] == project["id"])
        return out

    def _project(self, project_id):
        project = self.projects.get(project_id)
        if project is None:
            raise ApiError(404, f"Project '{project_id}' not found", "PROJECT_NOT_FOUND")
        return project

    def default_project(self, req):
        """GET /projects/default (with workflowDefs)."""
        return self._project_out(self.projects[self.default_project_id])

    def list_projects(self, req):
        """GET /projects (not in the notes; the live API has it)."""
        return [self._project_out(p) for p in self.projects.values()]

    def create_project(self, req):
        """POST /projects {name, description}."""
        body = req.json_body()
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "Project name is required", "VALIDATION_ERROR")
        now = iso(time.time(), ms=True)
        project = {"id": seeding.uuid4(self._rng), "name": name.strip(),
                   "description": body.get("description") or "", "isDefault": False, "created": now, "updated": now}
        self.projects[project["id"]] = project
        return self._project_out(project)

    def get_project(self, req, project_id):
        """GET /projects/{id}."""
        return self._project_out(self._project(project_id))

    def update_project(self, req, project_id):
        """PUT /projects/{id} {name?, description?}."""
        project = self._project(project_id)
        body = req.json_body()
        if "name" in body:
            if not isinstance(body["name"], str) or not body["name"].strip():
                raise ApiError(400, "Project name must be a non-empty string", "VALIDATION_ERROR")
            project["name"] = body["name"].strip()
        if "description" in body:
            project["description"] = body["description"] or ""
        project["updated"] = iso(time.time(), ms=True)
        return self._project_out(project)

    def delete_project(self, req, project_id):
        """DELETE /projects/{id} (not the default one); its processings go too."""
        project = self._project(project_id)
        if project["isDefault"]:
            raise ApiError(400, "The default project cannot be deleted", "CANNOT_DELETE_DEFAULT_PROJECT")
        del self.projects[project_id]
        for pid in [pid for pid, p in self.processings.items() if p["projectId"] == project_id]:
            del self.processings[pid]
        return {"id": project_id, "deleted": True}

    def page_processings(self, req, project_id):
        """POST /projects/{id}/processings/v2/page {limit, offset} → {results, total} (newest first)."""
        self._project(project_id)
        body = req.json if isinstance(req.json, dict) else {}
        limit = body.get("limit", 20)
        offset = body.get("offset", 0)
        if not isinstance(limit, int) or not isinstance(offset, int) or limit < 1 or offset < 0:
            raise ApiError(400, "limit must be a positive integer and offset a non-negative integer",
                           "VALIDATION_ERROR")
        procs = [p for p in self.processings.values() if p["projectId"] == project_id]
        procs.sort(key=lambda p: p["created"], reverse=True)
        return {"results": [self._processing_out(p) for p in procs[offset:offset + limit]], "total": len(procs)}

    # -- processings ---------------------------------------------------------------------------
    def _workflow(self, body):
        wd_id, wd_name = body.get("wdId"), body.get("wdName")
        for wd in self.workflows:
            if (wd_id and wd["id"] == wd_id) or (wd_name and wd["name"] == wd_name):
                return wd
        if not wd_id and not wd_name:
            raise ApiError(400, "wdName or wdId is required", "VALIDATION_ERROR")
        names = ", ".join(wd["name"] for wd in self.workflows)
        raise ApiError(400, f"Unknown model {wd_name or wd_id!r}; available: {names}", "WORKFLOW_NOT_FOUND",
                       details={"wdName": wd_name, "wdId": wd_id})

    def _provider(self, body):
        params = body.get("params") if isinstance(body.get("params"), dict) else {}
        source = params.get("sourceParams") if isinstance(params.get("sourceParams"), dict) else {}
        provider = source.get("dataProvider") if isinstance(source.get("dataProvider"), dict) else None
        if provider is None:
            return None, None
        name = provider.get("providerName")
        for known in DATA_PROVIDERS:
            if known["name"] == name:
                return known, provider.get("zoom")
        raise ApiError(400, f"Unknown data provider {name!r}", "DATA_PROVIDER_NOT_FOUND",
                       details={"providerName": name})

    def _quote(self, body):
        """Validate a create/cost body; returns (workflow, area m², cost credits)."""
        geom = body.get("geometry")
        err = polygon_error(geom)
        if err:
            raise ApiError(400, err, "INVALID_GEOMETRY")
        n_aois = len(polygons_of(geom))
        if n_aois > self.max_aois:
            raise ApiError(400, f"At most {self.max_aois} AOIs per processing, got {n_aois}", "TOO_MANY_AOIS",
                           details={"maxAoisPerProcessing": self.max_aois, "aoiCount": n_aois})
        wd = self._workflow(body)
        provider, zoom = self._provider(body)
        area = geometry_area(geom)
        if area > self.aoi_area_limit:
            limit_km2 = self.aoi_area_limit / 1e6
            raise ApiError(400, f"AOI area {area / 1e6:.2f} km² exceeds your limit of {limit_km2:g} km²",
                           "AOI_TOO_LARGE", details={"aoiArea": round(area), "aoiAreaLimit": self.aoi_area_limit})
        price = wd["pricePerSqKm"]
        if provider:
            prices = provider["price"]
            price += next((p["priceSqKm"] for p in prices if p["zoom"] == zoom), prices[-1]["priceSqKm"])
        cost = max(1, math.ceil(area / 1e6 * price))
        return wd, area, cost

    def _new_processing(self, body, charge=True):
        wd, area, cost = self._quote(body)
        project_id = body.get("projectId") or self.default_project_id
        self._project(project_id)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "Processing name is required", "VALIDATION_ERROR")
        if charge and cost > self.remaining_credits:
            raise ApiError(400, f"Not enough credits: this processing costs {cost}, you have {self.remaining_credits}",
                           "NOT_ENOUGH_CREDITS", details={"cost": cost, "remainingCredits": self.remaining_credits})
        if charge:
            self.remaining_credits -= cost
        now = iso(time.time(), ms=True)
        proc = {"id": seeding.uuid4(self._rng), "name": name.strip(), "description": body.get("description") or "",
                "projectId": project_id, "status": "IN_PROGRESS", "percentCompleted": 0, "aoiArea": round(area),
                "aoiCount": len(polygons_of(body["geometry"])), "cost": cost, "created": now, "updated": now,
                "workflowDef": {"id": wd["id"], "name": wd["name"], "description": wd["description"]},
                "params": body.get("params") or {}, "meta": body.get("meta") or {}, "messages": [],
                "_geometry": body["geometry"], "_kind": wd["_kind"], "_start": time.monotonic(),
                "_seconds": float(self.processing_seconds), "_fail": "fail" in name.lower(), "_result": None}
        self.processings[proc["id"]] = proc
        return proc

    def _advance(self, proc):
        if proc["status"] in FINAL:
            return
        elapsed = time.monotonic() - proc["_start"]
        if proc["_seconds"] > 0 and elapsed < proc["_seconds"]:
            proc["percentCompleted"] = min(99, int(100 * elapsed / proc["_seconds"]))
            return
        proc["percentCompleted"] = 100
        proc["updated"] = iso(time.time(), ms=True)
        if proc["_fail"]:
            provider = ((proc["params"].get("sourceParams") or {}).get("dataProvider") or {}).get("providerName")
            proc["status"] = "FAILED"
            proc["messages"] = [{"code": "source.not_available",
                                 "parameters": {"source_type": provider or "Mapbox",
                                                "message": "The imagery source is not available for this area"}}]
        else:
            proc["status"] = "OK"

    def finish(self, processing_id, status=None):
        """Force a processing to its final state now (tests); status "OK"/"FAILED" overrides the name rule."""
        with self.lock:
            proc = self._processing(processing_id)
            proc["_start"] -= proc["_seconds"] + 1
            if status is not None:
                proc["_fail"] = status == "FAILED"
            self._advance(proc)
            return self._processing_out(proc)

    def _processing(self, processing_id):
        proc = self.processings.get(processing_id)
        if proc is None:
            raise ApiError(404, f"Processing '{processing_id}' not found", "PROCESSING_NOT_FOUND")
        return proc

    def _processing_out(self, proc):
        self._advance(proc)
        return {k: v for k, v in proc.items() if not k.startswith("_")}

    def create_processing(self, req):
        """POST /processings/v2 → the processing as created (always IN_PROGRESS, 0 %)."""
        proc = self._new_processing(req.json_body())
        return {k: v for k, v in proc.items() if not k.startswith("_")}

    def get_processing(self, req, processing_id):
        """GET /processings/{id}/v2."""
        return self._processing_out(self._processing(processing_id))

    def get_aois(self, req, processing_id):
        """GET /processings/{id}/aois → [{id, status, percentCompleted, area, geometry, messages}]."""
        proc = self._processing(processing_id)
        self._advance(proc)
        rng = random.Random(f"aoi:{processing_id}")
        return [{"id": seeding.uuid4(rng), "status": proc["status"], "percentCompleted": proc["percentCompleted"],
                 "area": round(ring_area(poly[0])), "geometry": {"type": "Polygon", "coordinates": poly},
                 "messages": proc["messages"]} for poly in polygons_of(proc["_geometry"])]

    def delete_processing(self, req, processing_id):
        """DELETE /processings/{id}."""
        proc = self._processing(processing_id)
        del self.processings[processing_id]
        if proc["_result"]:
            try:
                os.remove(proc["_result"][1])
            except OSError:
                pass
        return {"id": processing_id, "deleted": True}

    def processing_cost(self, req):
        """POST /processing/cost/v2 → a number."""
        _, _, cost = self._quote(req.json_body())
        return cost

    def get_result(self, req, processing_id):
        """GET /processings/{id}/result: GeoJSON streamed from a temp file (409 unless OK)."""
        with self.lock:
            proc = self._processing(processing_id)
            self._advance(proc)
            if proc["status"] != "OK":
                raise ApiError(409, f"Processing is {proc['status']}; results are available only when it is OK",
                               "PROCESSING_NOT_COMPLETED", details={"status": proc["status"]})
            count = self.result_features if self.result_features is not None else DEFAULT_RESULT_FEATURES
            lock = self._result_locks.setdefault(processing_id, threading.Lock())
        with lock:
            cached = proc["_result"]
            if cached is None or cached[0] != count or not os.path.exists(cached[1]):
                path = os.path.join(self.tmpdir, f"result-{processing_id}-{count}.geojson")
                write_result(path, proc["_geometry"], int(count), proc["_kind"], f"{self.seed}:{processing_id}")
                if cached and cached[1] != path:
                    try:
                        os.remove(cached[1])
                    except OSError:
                        pass
                proc["_result"] = (count, path)
            path = proc["_result"][1]
        return Response(200, file=path, content_type="application/geo+json")

    # -- catalog --------------------------------------------------------------------------------
    def catalog_search(self, req):
        """POST /catalog/meta {aoi, filters, limit, offset} → {images, total}."""
        body = req.json_body()
        aoi = body.get("aoi")
        if not isinstance(aoi, dict) or aoi.get("type") != "Polygon":
            raise ApiError(400, "aoi is required and must be a GeoJSON Polygon", "VALIDATION_ERROR")
        err = polygon_error(aoi, "aoi")
        if err:
            raise ApiError(400, err, "VALIDATION_ERROR")
        if geometry_area(aoi) > self.aoi_area_limit:
            raise ApiError(400, f"aoi area exceeds the AOI limit of {self.aoi_area_limit / 1e6:g} km²",
                           "AOI_TOO_LARGE")

        def number(key, lo=None, hi=None):
            value = body.get(key)
            if value is None:
                return None
            if not is_number(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
                bounds = f" between {lo} and {hi}" if lo is not None and hi is not None else ""
                raise ApiError(400, f"{key} must be a number{bounds}, got {value!r}", "VALIDATION_ERROR")
            return value

        max_cloud = number("maxCloudCover", 0, 1)
        min_res, max_res = number("minResolution", 0), number("maxResolution", 0)
        min_nadir, max_nadir = number("minOffNadirAngle", 0, 90), number("maxOffNadirAngle", 0, 90)
        min_inter = number("minAoiIntersectionPercent", 0, 100)
        dates = []
        for key in ("acquisitionDateFrom", "acquisitionDateTo"):
            value = body.get(key)
            parsed = parse_time(value) if value is not None else None
            if value is not None and parsed is None:
                raise ApiError(400, f"{key} must be an ISO 8601 date-time, got {value!r}", "VALIDATION_ERROR")
            dates.append(parsed.timestamp() if parsed else None)
        limit, offset = body.get("limit", 100), body.get("offset", 0)
        if not isinstance(limit, int) or not isinstance(offset, int) or limit < 1 or offset < 0:
            raise ApiError(400, "limit must be >= 1 and offset >= 0 (integers)", "VALIDATION_ERROR")
        ax0, ay0, ax1, ay1 = bbox_of(aoi["coordinates"][:1])
        aoi_box = max((ax1 - ax0) * (ay1 - ay0), 1e-18)
        found = []
        for img in self.images:
            ix0, iy0, ix1, iy1 = bbox_of(img["footprint"]["coordinates"][:1])
            inter_w, inter_h = min(ax1, ix1) - max(ax0, ix0), min(ay1, iy1) - max(ay0, iy0)
            if inter_w < 0 or inter_h < 0:
                continue
            # Assumption: intersection percent is measured on bounding boxes.
            if min_inter is not None and 100.0 * inter_w * inter_h / aoi_box < min_inter:
                continue
            when = parse_time(img["acquisitionDate"]).timestamp()
            if (dates[0] is not None and when < dates[0]) or (dates[1] is not None and when > dates[1]):
                continue
            if max_cloud is not None and img["cloudCover"] > max_cloud:
                continue
            if (min_res is not None and img["pixelResolution"] < min_res) or \
                    (max_res is not None and img["pixelResolution"] > max_res):
                continue
            if (min_nadir is not None and img["offNadirAngle"] < min_nadir) or \
                    (max_nadir is not None and img["offNadirAngle"] > max_nadir):
                continue
            found.append(img)
        found.sort(key=lambda i: i["acquisitionDate"], reverse=True)
        return {"images": found[offset:offset + limit], "total": len(found)}

    def catalog_image(self, req, image_id):
        """GET /catalog/meta/{image_id}."""
        img = self._image_index.get(image_id)
        if img is None:
            raise ApiError(404, f"Image '{image_id}' not found", "NOT_FOUND")
        return img

    # -- Data API: mosaics & images -------------------------------------------------------------
    def _mosaic(self, mosaic_id):
        mosaic = self.mosaics.get(mosaic_id)
        if mosaic is None:
            raise ApiError(404, f"Mosaic '{mosaic_id}' not found", "NOT_FOUND")
        return mosaic

    def _mosaic_out(self, mosaic):
        out = dict(mosaic)
        out["image_count"] = sum(1 for i in self.raster_images.values() if i["mosaic_id"] == mosaic["id"])
        return out

    @staticmethod
    def _tags(value):
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise ApiError(400, "tags must be a list of strings", "VALIDATION_ERROR")
        return value

    def _make_mosaic(self, name, tags):
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "name is required", "VALIDATION_ERROR")
        now = iso(time.time(), ms=True)
        mosaic = {"id": seeding.uuid4(self._rng), "name": name.strip(), "tags": self._tags(tags),
                  "created_at": now, "updated_at": now, "footprint": None}
        self.mosaics[mosaic["id"]] = mosaic
        return mosaic

    def memory(self, req):
        """GET /rasters/memory → {"limit", "used", "free"} in bytes."""
        used = sum(i["size"] for i in self.raster_images.values())
        return {"limit": self.memory_limit, "used": used, "free": max(0, self.memory_limit - used)}

    def list_mosaics(self, req):
        """GET /rasters/mosaic (list; not on the page, present in the live API)."""
        return [self._mosaic_out(m) for m in self.mosaics.values()]

    def create_mosaic(self, req):
        """POST /rasters/mosaic {name, tags}."""
        body = req.json_body()
        return self._mosaic_out(self._make_mosaic(body.get("name"), body.get("tags")))

    def create_mosaic_with_image(self, req):
        """POST /rasters/mosaic/mosaic?name=&tags=&tags= multipart → mosaic with "images": [image]."""
        data, filename = self._upload_part(req)
        mosaic = self._make_mosaic(req.arg("name"), req.query.get("tags", []))
        image = self._store_image(mosaic, data, filename)
        return dict(self._mosaic_out(mosaic), images=[image])

    def get_mosaic(self, req, mosaic_id):
        """GET /rasters/mosaic/{id}."""
        return self._mosaic_out(self._mosaic(mosaic_id))

    def update_mosaic(self, req, mosaic_id):
        """PUT /rasters/mosaic/{id} {name?, tags?}."""
        mosaic = self._mosaic(mosaic_id)
        body = req.json_body()
        if "name" in body:
            if not isinstance(body["name"], str) or not body["name"].strip():
                raise ApiError(400, "name must be a non-empty string", "VALIDATION_ERROR")
            mosaic["name"] = body["name"].strip()
        if "tags" in body:
            mosaic["tags"] = self._tags(body["tags"])
        mosaic["updated_at"] = iso(time.time(), ms=True)
        return self._mosaic_out(mosaic)

    def delete_mosaic(self, req, mosaic_id):
        """DELETE /rasters/mosaic/{id} (and its images)."""
        self._mosaic(mosaic_id)
        del self.mosaics[mosaic_id]
        for image_id in [i for i, img in self.raster_images.items() if img["mosaic_id"] == mosaic_id]:
            del self.raster_images[image_id]
        return {"id": mosaic_id, "deleted": True}

    def _upload_part(self, req):
        parts = parse_multipart(req.body, req.headers.get("content-type", ""))
        if parts is None:
            raise ApiError(400, "Expected a multipart/form-data body with a 'file' part", "VALIDATION_ERROR")
        for name, filename, data in parts:
            if name == "file":
                return data, filename or "upload.tif"
        raise ApiError(400, "The multipart body has no 'file' part", "VALIDATION_ERROR")

    def _store_image(self, mosaic, data, filename):
        info = tiff_info(data)
        if info is None:
            raise ApiError(400, f"'{filename}' is not a GeoTIFF (bad TIFF signature)", "INVALID_FILE")
        used = sum(i["size"] for i in self.raster_images.values())
        if used + len(data) > self.memory_limit:
            raise ApiError(413, f"Storage limit exceeded: {used + len(data)} bytes needed, limit {self.memory_limit}",
                           "STORAGE_LIMIT_EXCEEDED", details={"limit": self.memory_limit, "used": used})
        image_id = seeding.uuid4(self._rng)
        image = {"id": image_id, "mosaic_id": mosaic["id"], "filename": filename, "size": len(data),
                 "checksum": hashlib.md5(data).hexdigest(),
                 "image_url": f"s3://sandbox-data/{mosaic['id']}/{image_id}/{filename}",
                 "uploaded_at": iso(time.time(), ms=True), "footprint": None,
                 "meta_data": {"width": info.get("width"), "height": info.get("height"),
                               "count": info.get("count", 1), "bits": info.get("bits"), "crs": None}}
        self.raster_images[image_id] = image
        mosaic["updated_at"] = image["uploaded_at"]
        return image

    def upload_image(self, req, mosaic_id):
        """POST /rasters/mosaic/{id}/image multipart `file` (TIFF magic checked) → image metadata."""
        mosaic = self._mosaic(mosaic_id)
        data, filename = self._upload_part(req)
        return self._store_image(mosaic, data, filename)

    def link_image(self, req, mosaic_id):
        """POST /rasters/mosaic/{id}/link-image {"url"} → the documented message."""
        mosaic = self._mosaic(mosaic_id)
        url = req.json_body().get("url")
        if not isinstance(url, str) or not url:
            raise ApiError(400, "url is required", "VALIDATION_ERROR")
        image_id = seeding.uuid4(self._rng)
        self.raster_images[image_id] = {
            "id": image_id, "mosaic_id": mosaic_id, "filename": unquote(url.rsplit("/", 1)[-1]), "size": 0,
            "checksum": None, "image_url": url, "uploaded_at": iso(time.time(), ms=True), "footprint": None,
            "meta_data": {}}
        mosaic["updated_at"] = iso(time.time(), ms=True)
        return {"message": "File successfully linked to a mosaic", "mosaic_id": mosaic_id}

    def list_images(self, req, mosaic_id):
        """GET /rasters/mosaic/{id}/image → [image]."""
        self._mosaic(mosaic_id)
        return [i for i in self.raster_images.values() if i["mosaic_id"] == mosaic_id]

    def _image(self, image_id):
        image = self.raster_images.get(image_id)
        if image is None:
            raise ApiError(404, f"Image '{image_id}' not found", "NOT_FOUND")
        return image

    def get_image(self, req, image_id):
        """GET /rasters/image/{id}."""
        return self._image(image_id)

    def delete_image(self, req, image_id):
        """DELETE /rasters/image/{id}."""
        self._image(image_id)
        del self.raster_images[image_id]
        return {"id": image_id, "deleted": True}
