"""Mapflow Processing and Data APIs: one method per endpoint."""

from __future__ import annotations

import os
import uuid

import requests

from . import cancel
from . import probe as probing
from .config import DEFAULT_URLS
from .encoding import segment
from .errors import CancelledError, ServiceError
from .http import ServiceClient, WireCount
from .json_values import json_number

# The Data API pages authenticate with "Basic <token>", the Processing page with "Bearer <token>".
DATA_API_PREFIXES = ("/rasters", "/catalog")
DOWNLOAD_CHUNK = 1024 * 1024
UPLOAD_CHUNK = 256 * 1024
# An upload's answer may come only after the service has checked the file: a long wait for the first byte.
TRANSFER_TIMEOUT = (10.0, 600.0)
# A download goes on as long as data flows; no byte for this long means the connection stalled.
DOWNLOAD_TIMEOUT = (10.0, 60.0)
# Keys of GET /user/status (mapflow-notes.md): an answer with none of them is not Mapflow's.
STATUS_KEYS = ("billingType", "remainingCredits", "remainingArea", "aoiAreaLimit", "maxAoisPerProcessing",
               "dataProviders")
# Previews and other pictures are read into memory: refuse anything larger.
MAX_PICTURE_BYTES = 32 * 1024 * 1024
# The service shows 30 processings a page.
PAGE_SIZE = 30
# `headers={"Authorization": None}` makes requests drop the header: pre-signed URLs refuse a second credential.
NO_AUTH = {"Authorization": None}


class MultipartFile:
    """A multipart/form-data body with one file part, read from disk in chunks (never whole in memory).

    requests sees `__len__` (so it sends Content-Length) and `read()` (so http.client streams it);
    `tell()`/`seek()` let urllib3 rewind it when a refused request (429/503) is sent again.
    """

    def __init__(self, path, field="file", content_type="application/octet-stream", progress=None,
                 cancelled=None):
        self.path = path
        self.boundary = uuid.uuid4().hex
        filename = os.path.basename(path).replace('"', "_")
        self.head = (f"--{self.boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
                     f"filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n").encode("utf-8")
        self.tail = f"\r\n--{self.boundary}--\r\n".encode("ascii")
        self.file_size = os.path.getsize(path)
        self.size = len(self.head) + self.file_size + len(self.tail)
        self.progress = progress or (lambda sent, total: None)
        self.cancelled = cancelled or (lambda: False)
        self.position = 0
        self._file = None

    @property
    def content_type(self):
        """The Content-Type header naming the boundary."""
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self):
        return self.size

    def __iter__(self):
        while True:
            chunk = self.read(UPLOAD_CHUNK)
            if not chunk:
                return
            yield chunk

    def tell(self):
        """Bytes of the body read so far."""
        return self.position

    def seek(self, offset, whence=0):
        """Rewind (urllib3 does this before sending again)."""
        target = offset if whence == 0 else (self.position + offset if whence == 1 else self.size + offset)
        self.position = max(0, min(self.size, target))
        return self.position

    def read(self, size=-1):
        """The next bytes of the body: head, file content, tail."""
        if self.cancelled():
            self.close()
            raise CancelledError("Upload cancelled by the user")
        if size is None or size < 0:
            size = self.size
        out = bytearray()
        while len(out) < size and self.position < self.size:
            want = size - len(out)
            pos = self.position
            head_end = len(self.head)
            file_end = head_end + self.file_size
            if pos < head_end:
                piece = self.head[pos:pos + want]
            elif pos < file_end:
                if self._file is None:
                    self._file = open(self.path, "rb")  # noqa: SIM115 - closed in close()
                self._file.seek(pos - head_end)
                piece = self._file.read(min(want, file_end - pos, UPLOAD_CHUNK))
                if not piece:
                    raise OSError(f"{self.path} became shorter while it was being uploaded")
            else:
                piece = self.tail[pos - file_end:pos - file_end + want]
            out += piece
            self.position += len(piece)
        if out:
            self.progress(min(self.position, self.size), self.size)
        if self.position >= self.size:
            self.close()
        return bytes(out)

    def close(self):
        """Close the file on disk."""
        if self._file is not None:
            self._file.close()
            self._file = None


def number_of(value):
    """A number from a JSON value that may be a number, a numeric string or {"cost": n}; else None."""
    if isinstance(value, dict):
        for key in ("cost", "price", "credits", "value", "total"):
            if key in value:
                return number_of(value[key])
        return None
    return json_number(value)


class MapflowClient(ServiceClient):
    """Client of the Mapflow API (account, projects, processings, catalog, rasters)."""

    service = "mapflow"

    def auth_header(self, path):
        scheme = "Basic" if path.lstrip("/").startswith(tuple(p.lstrip("/") for p in DATA_API_PREFIXES)) else "Bearer"
        return f"{scheme} {self.config.token}"

    # -- account -----------------------------------------------------------------------------
    def user_status(self):
        """GET /user/status: billing, balance, AOI limit and data providers."""
        return self.get_json("/user/status")

    def probe(self):
        """Prove the URL is the Mapflow API and the token is accepted (ProbeResult), else MapbridgeError.

        GET /user/status answers the account (billingType, remainingCredits, aoiAreaLimit…, see the notes)."""
        default = DEFAULT_URLS["mapflow"]
        answer = probing.ask(self, "GET", "/user/status")
        body = answer.body
        if answer.status == 200 and isinstance(body, dict) and any(key in body for key in STATUS_KEYS):
            probing.require_token_check(self, "/user/status", default)
            credits = body.get("remainingCredits")
            account = f"{credits:,} credits left" if isinstance(credits, (int, float)) else ""
            return probing.ProbeResult("mapflow", account=account)
        if answer.status in (401, 403) and answer.is_json:
            raise probing.token_refused(self, answer)
        raise probing.not_the_api(self, "/user/status", answer, default)

    def ping(self):
        """Cheapest authenticated call (the account status); probe() is the proof a connection works."""
        status = self.user_status()
        credits = status.get("remainingCredits") if isinstance(status, dict) else None
        return f"{credits} credits left" if credits is not None else "connected"

    # -- projects ----------------------------------------------------------------------------
    def default_project(self):
        """GET /projects/default: the user's default project with its workflowDefs."""
        return self.get_json("/projects/default")

    def projects(self):
        """GET /projects: the account's projects, or None when the service does not list them."""
        try:
            body = self.get_json("/projects")
        except ServiceError as exc:
            # Assumption: listing is not in the notes; a 404/405 means "not available", not an error.
            if exc.status in (404, 405):
                return None
            raise
        if isinstance(body, dict):
            for key in ("results", "projects", "items", "data"):
                if isinstance(body.get(key), list):
                    return body[key]
            return None
        return body if isinstance(body, list) else None

    def create_project(self, name, description=""):
        """POST /projects {name, description} → the project."""
        return self.send_json("POST", "/projects", {"name": name, "description": description})

    def project(self, project_id):
        """GET /projects/{id}."""
        return self.get_json(f"/projects/{segment(project_id)}")

    def processings_page(self, project_id, limit=PAGE_SIZE, offset=0, *, terms=None, sort_by=None, sort_order=None):
        """POST /projects/{id}/processings/v2/page {limit, offset, terms?, sortBy?, sortOrder?} → {results, total}."""
        request = {"limit": int(limit), "offset": int(offset)}
        if terms:
            request["terms"] = str(terms)
        if sort_by:
            request["sortBy"] = sort_by
            request["sortOrder"] = sort_order or "DESC"
        # A read (POST only because it takes a body): may be retried like a GET.
        body = self.send_json("POST", f"/projects/{segment(project_id)}/processings/v2/page", request,
                              idempotent=True)
        if isinstance(body, list):
            return {"results": body, "total": len(body)}
        return body if isinstance(body, dict) else {"results": [], "total": 0}

    # -- processings -------------------------------------------------------------------------
    def create_processing(self, body):
        """POST /processings/v2 → the processing ({id, status, ...})."""
        return self.send_json("POST", "/processings/v2", body)

    def processing(self, processing_id):
        """GET /processings/{id}/v2: status, percentCompleted, messages."""
        return self.get_json(f"/processings/{segment(processing_id)}/v2")

    def processing_aois(self, processing_id):
        """GET /processings/{id}/aois: a list of AOIs (some deployments wrap it as {aois: [...]})."""
        body = self.get_json(f"/processings/{segment(processing_id)}/aois")
        if isinstance(body, dict) and isinstance(body.get("aois"), list):
            return body["aois"]
        return body

    def rename_processing(self, processing_id, name, description=None):
        """PUT /processings/{id}/v2 {name, description?} → the processing."""
        body = {"name": name}
        if description is not None:
            body["description"] = description
        return self.send_json("PUT", f"/processings/{segment(processing_id)}/v2", body)

    def delete_processing(self, processing_id):
        """DELETE /processings/{id} (one id a request; there is no bulk delete)."""
        return self.json_of(self.request("DELETE", f"/processings/{segment(processing_id)}"), "processing")

    def restart_processing(self, processing_id):
        """POST /processings/{id}/restart/v2 (FAILED or CANCELLED only), no body."""
        return self.json_of(self.request("POST", f"/processings/{segment(processing_id)}/restart/v2"), "restart")

    def rate_processing(self, processing_id, rating, feedback=""):
        """PUT /processings/{id}/rate {rating: 1..5, feedback} (status OK only)."""
        return self.send_json("PUT", f"/processings/{segment(processing_id)}/rate",
                              {"rating": int(rating), "feedback": feedback or ""})

    def accept_processing(self, processing_id):
        """PUT /processings/{id}/acceptation, no body (a processing under review)."""
        return self.json_of(self.request("PUT", f"/processings/{segment(processing_id)}/acceptation"), "accept")

    def reject_processing(self, processing_id, comment, features=None):
        """PUT /processings/{id}/rejection {comment, features: FeatureCollection}."""
        collection = features or {"type": "FeatureCollection", "features": []}
        return self.send_json("PUT", f"/processings/{segment(processing_id)}/rejection",
                              {"comment": comment or "", "features": collection})

    def processing_cost(self, body):
        """POST /processing/cost/v2 with a create body → the cost in credits (a bare number as text), or None."""
        response = self.request("POST", "/processing/cost/v2", json_body=body, idempotent=True)
        text = (response.text or "").strip()
        try:
            return number_of(response.json())
        except ValueError:
            return number_of(text.split()[0]) if text else None

    def tile_json(self, url):
        """GET a TileJSON (its URL from a processing or mosaic, fetched with the token) → {bounds, ...}."""
        return self.get_json(url)

    # -- pictures and pre-signed files --------------------------------------------------------
    def picture(self, url):
        """GET an image the service hands out (a preview URL, fetched with the token on its own host) → bytes."""
        return self._bytes(self.request("GET", url, stream=True, headers={"Accept": "image/*"}), url)

    def presigned_picture(self, url):
        """GET a pre-signed picture URL without any credentials → bytes."""
        return self._bytes(self.request("GET", url, stream=True, headers=dict(NO_AUTH, Accept="image/*")), url)

    def download_presigned(self, url, path, *, progress=None, cancelled=None):
        """GET a pre-signed file URL without any credentials, streamed to path; returns the bytes written.

        Cancel and stalls as in download_result."""
        with cancel.watching(cancelled), self.watch():
            response = self.request("GET", url, stream=True, timeout=DOWNLOAD_TIMEOUT, headers=NO_AUTH)
            return self._save_stream(response, path, progress, cancelled, None)

    def _bytes(self, response, url):
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(DOWNLOAD_CHUNK):
                size += len(chunk)
                if size > MAX_PICTURE_BYTES:
                    raise ServiceError(f"the picture at {url.split('?')[0]} is larger than "
                                       f"{MAX_PICTURE_BYTES // 1024 ** 2} MB", service=self.service)
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            raise ServiceError(f"the picture could not be read ({type(exc).__name__})", service=self.service,
                               hint="Try again", details=self._scrub(str(exc))) from None
        finally:
            response.close()
        return b"".join(chunks)

    def download_result(self, processing_id, path, *, progress=None, cancelled=None):
        """GET /processings/{id}/result streamed to a file (decoded when sent compressed); returns bytes written.

        Cancel (cancelled() or the client's cancel_check) aborts it within a fraction of a second, even while the
        server stalls; a connection that sends nothing for DOWNLOAD_TIMEOUT's read time is reported as stalled.
        """
        with cancel.watching(cancelled), self.watch():
            response = self.request("GET", f"/processings/{segment(processing_id)}/result",
                                    stream=True, timeout=DOWNLOAD_TIMEOUT,
                                    headers={"Accept": "application/geo+json, application/json"})
            return self._save_stream(response, path, progress, cancelled, processing_id)

    def _save_stream(self, response, path, progress, cancelled, processing_id):
        wire = WireCount(response)
        total = wire.total
        written = 0
        again = (f"Load it again with 'Load results' in the Mapflow tab or the mapflow_results algorithm and the "
                 f"processing id {processing_id}") if processing_id else "Download it again"

        def stopped():
            return (cancelled is not None and cancelled()) or self.cancelled() or cancel.cancelled_now()

        try:
            with open(path, "wb") as out:
                for chunk in response.iter_content(DOWNLOAD_CHUNK):
                    if stopped():
                        raise CancelledError("Download cancelled by the user")
                    out.write(chunk)
                    written += len(chunk)
                    wire.add(len(chunk))
                    if progress is not None:
                        progress(min(wire.received(), total) if total else written, total)
        except requests.exceptions.RequestException as exc:
            # Before OSError: requests' ConnectionError/ChunkedEncodingError are OSError subclasses too.
            if stopped():
                raise CancelledError("Download cancelled by the user", service=self.service) from None
            stalled = "timed out" in repr(exc).lower()
            what = (f"stalled (no data for {DOWNLOAD_TIMEOUT[1]:.0f} s)" if stalled else "was interrupted")
            raise ServiceError(f"the download of the result {what} after {written} bytes "
                               f"({type(exc).__name__})", service=self.service, hint=again,
                               details=self._scrub(str(exc))) from None
        except OSError as exc:
            raise ServiceError(f"the download could not be saved to {path}: {exc.strerror or exc}",
                               service=self.service, hint="Check the free disk space and the temporary folder") \
                from None
        finally:
            received = wire.received()
            response.close()
        if wire.cut_short(received):
            raise ServiceError(f"the download of the result was interrupted after {received:,} of {total:,} bytes",
                               service=self.service, hint=again)
        return written

    # -- catalog (Data API) ------------------------------------------------------------------
    def catalog_search(self, body):
        """POST /catalog/meta {aoi, filters, limit, offset} → {images, total}."""
        result = self.send_json("POST", "/catalog/meta", body, idempotent=True)
        if isinstance(result, list):
            return {"images": result, "total": len(result)}
        if isinstance(result, dict) and result.get("type") == "FeatureCollection":
            # Lenient: a GeoJSON answer ("returns a list of the images in GeoJSON") becomes the images list.
            images = [dict(f.get("properties") or {}, footprint=f.get("geometry"), id=f.get("id") or
                           (f.get("properties") or {}).get("id")) for f in result.get("features") or []]
            return {"images": images, "total": len(images)}
        return result if isinstance(result, dict) else {"images": [], "total": 0}

    def catalog_image(self, image_id):
        """GET /catalog/meta/{image_id}."""
        return self.get_json(f"/catalog/meta/{segment(image_id)}")

    # -- rasters (Data API) ------------------------------------------------------------------
    def memory(self):
        """GET /rasters/memory: {memoryLimit, memoryUsed, memoryFree, maxUploadFileSize, maxPixelCount}."""
        return self.get_json("/rasters/memory")

    def mosaics(self):
        """GET /rasters/mosaic → the user's mosaics."""
        body = self.get_json("/rasters/mosaic")
        return _listed(body, "mosaics")

    def create_mosaic(self, name, tags=()):
        """POST /rasters/mosaic {name, tags} → the mosaic."""
        return self.send_json("POST", "/rasters/mosaic", {"name": name, "tags": list(tags)})

    def mosaic(self, mosaic_id):
        """GET /rasters/mosaic/{id}."""
        return self.get_json(f"/rasters/mosaic/{segment(mosaic_id)}")

    def update_mosaic(self, mosaic_id, name=None, tags=None):
        """PUT /rasters/mosaic/{id} {name?, tags?}."""
        body = {}
        if name is not None:
            body["name"] = name
        if tags is not None:
            body["tags"] = list(tags)
        return self.send_json("PUT", f"/rasters/mosaic/{segment(mosaic_id)}", body)

    def delete_mosaic(self, mosaic_id):
        """DELETE /rasters/mosaic/{id} (its images go too)."""
        return self.json_of(self.request("DELETE", f"/rasters/mosaic/{segment(mosaic_id)}"), "mosaic")

    def upload_image(self, mosaic_id, path, *, progress=None, cancelled=None):
        """POST /rasters/mosaic/{id}/image: multipart `file`, streamed from disk with progress."""
        return self._upload(f"/rasters/mosaic/{segment(mosaic_id)}/image", path, None, progress,
                            cancelled)

    def create_mosaic_with_image(self, name, path, tags=(), *, progress=None, cancelled=None):
        """POST /rasters/mosaic/mosaic?name=&tags=: a new mosaic holding the uploaded file."""
        return self._upload("/rasters/mosaic/mosaic", path, {"name": name, "tags": list(tags)}, progress, cancelled)

    def _upload(self, path, file_path, params, progress, cancelled):
        body = MultipartFile(file_path, content_type="image/tiff", progress=progress, cancelled=cancelled)
        try:
            response = self.request("POST", path, params=params, data=body, timeout=TRANSFER_TIMEOUT,
                                    headers={"Content-Type": body.content_type})
        finally:
            body.close()
        return self.json_of(response, path)

    def mosaic_images(self, mosaic_id):
        """GET /rasters/mosaic/{id}/image → the mosaic's images."""
        return _listed(self.get_json(f"/rasters/mosaic/{segment(mosaic_id)}/image"), "images")

    def image(self, image_id):
        """GET /rasters/image/{id}: an uploaded image's metadata."""
        return self.get_json(f"/rasters/image/{segment(image_id)}")

    def rename_image(self, image_id, name):
        """PUT /rasters/image/{id}?name=NEW → the image."""
        return self.json_of(self.request("PUT", f"/rasters/image/{segment(image_id)}", params={"name": name}),
                            "image")

    def image_download_link(self, image_id):
        """GET /rasters/image/{id}/download → {download_url (pre-signed), filename, expires_in}."""
        return self.get_json(f"/rasters/image/{segment(image_id)}/download")

    def delete_image(self, image_id):
        """DELETE /rasters/image/{id}."""
        return self.json_of(self.request("DELETE", f"/rasters/image/{segment(image_id)}"), "image")


def _listed(body, key):
    """A JSON array answer, or the array under `key`/"results"/"items" of an object (parsed leniently)."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for name in (key, "results", "items", "data"):
            if isinstance(body.get(name), list):
                return body[name]
    return []
