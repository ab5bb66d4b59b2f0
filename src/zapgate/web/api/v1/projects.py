from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from zapgate.services import projects
from zapgate.web import openapi
from zapgate.web.deps import ContainerDep, JsonBody, PrincipalDep, TenantDep
from zapgate.web.errors import error_responses
from zapgate.web.schemas import projects as schemas
from zapgate.web.views import projects as views

router = APIRouter(prefix="/v1/projects", tags=["projects"])


@router.get("", responses=error_responses((401, "UNAUTHORIZED")))
async def list_projects(container: ContainerDep, principal: PrincipalDep) -> Any:
    """The workspace's projects, oldest first (any key of the workspace)."""
    return [
        views.project(p) for p in await projects.list_projects(container, workspace_id=principal.workspace_id)
    ]


@router.post(
    "",
    status_code=201,
    openapi_extra=openapi.request_body(schemas.ProjectCreate),
    responses=error_responses(
        (400, "VALIDATION_ERROR"), (401, "UNAUTHORIZED"), (403, "NUMBER_SCOPE_NOT_ALLOWED")
    ),
)
async def create_project(container: ContainerDep, principal: TenantDep, body: JsonBody) -> Any:
    """A new project (the workspace key): its slug comes from the name, unique in the workspace."""
    new = views.new_project(body)
    created = await projects.create_project(container, workspace_id=principal.workspace_id, new=new)
    return views.project(created)
