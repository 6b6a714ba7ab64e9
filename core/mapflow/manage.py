"""Managing processings on the service: rename, delete several, restart, rate or review, and what duplicating needs.

Every function runs in a worker (one request per processing, bounded) and raises MapbridgeError for the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ...api.errors import CancelledError, MapbridgeError, OutcomeUnknownError, ServiceError
from .models import find_model, models_of
from .processings import status_of
from .sources import CATALOG, catalog_source, source_from_params

# A copied catalog source is labelled from at most this many images (one request each).
MAX_LABELLED_IMAGES = 10

MAPFLOW = "mapflow"
RESTARTABLE = ("FAILED", "CANCELLED")


def rename(client, processing_id, name):
    """PUT the new name; returns the processing."""
    name = (name or "").strip()
    if not name:
        raise MapbridgeError("a processing needs a name", service=MAPFLOW, hint="Type a name")
    return client.rename_processing(processing_id, name)


@dataclass
class DeleteReport:
    """What a delete of several processings did."""

    deleted: list = field(default_factory=list)
    failed: list = field(default_factory=list)   # [(id, message)]

    def summary(self):
        """One line for the user."""
        text = f"{len(self.deleted):,} processing(s) deleted on Mapflow"
        if self.failed:
            text += f"; {len(self.failed):,} not deleted: " + "; ".join(message for _, message in self.failed[:3])
        return text + "."


def delete_many(client, processing_ids, feedback):
    """DELETE each processing (the service has no bulk delete); one already gone counts as deleted."""
    report = DeleteReport()
    total = max(1, len(processing_ids))
    for number, processing_id in enumerate(processing_ids):
        if feedback.isCanceled():
            raise CancelledError(f"Stopped after deleting {len(report.deleted):,} of {len(processing_ids):,} "
                                 "processings", service=MAPFLOW)
        try:
            client.delete_processing(processing_id)
            report.deleted.append(processing_id)
        except ServiceError as exc:
            if exc.status == 404:
                report.deleted.append(processing_id)
            elif exc.status in (401, 403):
                raise
            else:
                report.failed.append((processing_id, exc.server_message or exc.message))
        feedback.setProgress(100.0 * (number + 1) / total)
    return report


def restart(client, processing_id):
    """Restart a FAILED or CANCELLED processing; on an unknown outcome the service is asked before anything else."""
    try:
        return client.restart_processing(processing_id)
    except OutcomeUnknownError:
        answer = client.processing(processing_id)
        status, _ = status_of(answer)
        if status in RESTARTABLE:
            raise MapbridgeError(f"the restart of processing {processing_id} got no answer and it is still "
                                 f"{status}", service=MAPFLOW, hint="Restart it again") from None
        return answer


def rate(client, processing_id, rating, text=""):
    """Rate a finished processing 1–5 with an optional comment."""
    if not 1 <= int(rating) <= 5:
        raise MapbridgeError("a rating is 1 to 5 stars", service=MAPFLOW, hint="Choose 1 to 5 stars")
    return client.rate_processing(processing_id, int(rating), text or "")


def review(client, processing_id, accept, comment=""):
    """Accept or reject a processing under review (accounts with the review workflow)."""
    if accept:
        return client.accept_processing(processing_id)
    if not (comment or "").strip():
        raise MapbridgeError("a rejection needs a comment saying what is wrong", service=MAPFLOW,
                             hint="Write what should be corrected")
    return client.reject_processing(processing_id, comment.strip())


def in_review(processing):
    """True when a processing waits for the user's acceptance or rejection."""
    review_status = (processing or {}).get("reviewStatus")
    if isinstance(review_status, dict):
        review_status = review_status.get("reviewStatus")
    return str(review_status or "").upper() == "IN_REVIEW"


def aoi_geometries(client, processing_id):
    """The GeoJSON geometries of a processing's AOIs (GET /processings/{id}/aois)."""
    aois = client.processing_aois(processing_id)
    geometries = []
    for aoi in aois if isinstance(aois, list) else []:
        geometry = aoi.get("geometry") if isinstance(aoi, dict) else None
        if isinstance(geometry, dict) and geometry.get("type") in ("Polygon", "MultiPolygon"):
            geometries.append(geometry)
    return geometries


def duplicate_form(client, processing_id):
    """What refills the start form from a processing: name, model, options, source and the AOI geometries."""
    answer = client.processing(processing_id)
    geometries = aoi_geometries(client, processing_id)
    if not geometries:
        raise MapbridgeError(f"processing {processing_id} has no AOI to copy", service=MAPFLOW,
                             hint="Draw the area again")
    model = (answer.get("workflowDef") or {}) if isinstance(answer.get("workflowDef"), dict) else {}
    options = [b.get("name") for b in answer.get("blocks") or [] if isinstance(b, dict) and b.get("enabled")]
    project_id = answer.get("projectId") or ""
    try:
        project = client.project(project_id) if project_id else client.default_project()
        known = find_model(models_of(project), model.get("id") or model.get("name") or "")
    except ServiceError:
        known = None
    if known is not None:
        optional = {b.name for b in known.optional_blocks}
        options = [name for name in options if name in optional]
    return {"name": f"{answer.get('name') or 'Processing'} (copy)", "model": model.get("name") or "",
            "options": options, "source": labelled_source(client, source_from_params(answer.get("params"))),
            "geometries": geometries, "projectId": project_id}


def labelled_source(client, source):
    """A copied catalog source named by its images' date and provider (GET /catalog/meta/{id}), as when it was chosen;
    unchanged when an image cannot be read (the ids still process the same)."""
    if source.kind != CATALOG or not source.image_ids or len(source.image_ids) > MAX_LABELLED_IMAGES:
        return source
    try:
        images = [client.catalog_image(image_id) for image_id in source.image_ids]
        found = catalog_source([i for i in images if isinstance(i, dict)])
    except MapbridgeError:
        return source
    if sorted(found.image_ids) != sorted(source.image_ids):
        return source
    # The processing's own provider and zoom are what was processed; only the label comes from the catalog.
    return replace(source, label=found.label)
