"""Mapflow projects endpoints (with the per-project processings page), as a mixin of Mapflow."""

from __future__ import annotations

import time

from .. import seed as seeding
from ..base import ApiError, iso


class ProjectsMixin:
    """Projects: default, list, create, get, update, delete, processings page."""

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
