"""Projects (``GET`` / ``POST /v1/projects``): named groupings of a workspace."""

from __future__ import annotations

from zapgate.container import Container
from zapgate.domain import ids
from zapgate.domain.projects import NewProject, Project, free_slug, slug_of


async def list_projects(container: Container, *, workspace_id: str) -> tuple[Project, ...]:
    return await container.repos.projects.list(workspace_id)


async def create_project(container: Container, *, workspace_id: str, new: NewProject) -> Project:
    """The slug comes from the name, made unique in the workspace."""
    wanted = slug_of(new.name)
    draft = Project(
        id=ids.new_id("prj"),
        workspace_id=workspace_id,
        name=new.name,
        slug=wanted,
        description=new.description,
        created_at=container.clock.now_ms(),
    )
    return await container.repos.projects.insert(draft, lambda taken: free_slug(wanted, taken))
