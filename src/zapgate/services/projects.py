"""Projects (``GET`` / ``POST /v1/projects``): named groupings of a workspace."""

from __future__ import annotations

from typing import Any

from zapgate import errors
from zapgate.container import Container
from zapgate.domain import ids
from zapgate.domain.projects import DESCRIPTION_MAX, NAME_MAX, Project, free_slug, slug_of


async def list_projects(container: Container, *, workspace_id: str) -> tuple[Project, ...]:
    return await container.repos.projects.list(workspace_id)


async def create_project(container: Container, *, workspace_id: str, body: Any) -> Project:
    """``{name, description?}``; the slug comes from the name, made unique in the workspace."""
    if not isinstance(body, dict):
        raise errors.ValidationFailed("Request body must be a JSON object")
    name = body.get("name")
    description = body.get("description", "")
    problems = []
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > NAME_MAX:
        problems.append({"field": "name", "message": f"required, 1-{NAME_MAX} characters"})
    if description is None:
        description = ""
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX:
        problems.append(
            {"field": "description", "message": f"a string of at most {DESCRIPTION_MAX} characters"}
        )
    if problems:
        raise errors.ValidationFailed("Invalid project", details=problems)
    assert isinstance(name, str) and isinstance(description, str)
    wanted = slug_of(name.strip())
    draft = Project(
        id=ids.new_id("prj"),
        workspace_id=workspace_id,
        name=name.strip(),
        slug=wanted,
        description=description.strip(),
        created_at=container.clock.now_ms(),
    )
    return await container.repos.projects.insert(draft, lambda taken: free_slug(wanted, taken))
