"""Mapflow projects endpoints (with the per-project processings page), as a mixin of Mapflow."""

from __future__ import annotations

import time

from .. import seed as seeding
from ..base import ApiError, iso


def _provider_of(proc):
    source = (proc.get("params") or {}).get("sourceParams") or {}
    kind, value = next(iter(source.items()), ("", {}))
    return str((value or {}).get("providerName") or (value or {}).get("dataProvider") or kind)


# sortBy keys of the processings page (EMAIL and PROJECT are the same for every row of one project).
SORT_KEYS = {
    "SCENARIO": lambda p: p["workflowDef"]["name"], "NAME": lambda p: p["name"].lower(),
    "PROJECT": lambda p: p["projectId"], "EMAIL": lambda p: "", "CREATED": lambda p: p["created"],
    "STATUS": lambda p: p["status"], "PROGRESS": lambda p: p["percentCompleted"],
    "COMPLETED": lambda p: p["updated"] if p["status"] in ("OK", "FAILED", "CANCELLED", "REFUNDED") else "",
    "COST": lambda p: p["cost"], "AREA": lambda p: p["aoiArea"], "PROVIDER": _provider_of,
}


class ProjectsMixin:
    """Projects: default, list, create, get, update, delete, processings page."""

    def _workflow_out(self, wd):
        return {k: v for k, v in wd.items() if not k.startswith("_")}

    def _project_out(self, project):
        out = dict(project)
        # The owner's limits (m²): on a shared project they take precedence over /user/status.
        out["user"] = {"email": "sandbox@mapbridge.test", "role": "OWNER", "areaLimit": self.remaining_area,
                       "aoiAreaLimit": self.aoi_area_limit}
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
        """POST /projects/{id}/processings/v2/page {limit, offset, terms?, sortBy?, sortOrder?} →
        {results, total, count} (default: newest first)."""
        self._project(project_id)
        body = req.json if isinstance(req.json, dict) else {}
        limit = body.get("limit", 20)
        offset = body.get("offset", 0)
        if not isinstance(limit, int) or not isinstance(offset, int) or limit < 1 or offset < 0:
            raise ApiError(400, "limit must be a positive integer and offset a non-negative integer",
                           "VALIDATION_ERROR")
        sort_by = body.get("sortBy") or "CREATED"
        order = body.get("sortOrder") or "DESC"
        if sort_by not in SORT_KEYS or order not in ("ASC", "DESC"):
            raise ApiError(400, f"sortBy must be one of {', '.join(SORT_KEYS)} and sortOrder ASC or DESC",
                           "VALIDATION_ERROR")
        procs = [p for p in self.processings.values() if p["projectId"] == project_id]
        for proc in procs:
            self._advance(proc)
        terms = str(body.get("terms") or "").strip().lower()
        if terms:
            procs = [p for p in procs if any(terms in str(v).lower() for v in (
                p["name"], p["workflowDef"]["name"], p["status"], p["id"], p.get("description")))]
        procs.sort(key=lambda p: p["created"], reverse=True)  # ties keep newest first
        procs.sort(key=SORT_KEYS[sort_by], reverse=order == "DESC")
        results = [self._processing_out(p, req) for p in procs[offset:offset + limit]]
        return {"results": results, "total": len(procs), "count": len(results)}
