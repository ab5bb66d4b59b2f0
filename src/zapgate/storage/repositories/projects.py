"""Projects of a workspace."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from zapgate.domain.projects import Project
from zapgate.storage import tables as t
from zapgate.storage.database import Database

_p = t.projects.c


def _project(row: Any) -> Project:
    return Project(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        slug=row.slug,
        description=row.description,
        created_at=row.created_at,
    )


class ProjectRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def list(self, workspace_id: str) -> tuple[Project, ...]:
        """Oldest first."""
        async with self._db.read() as conn:
            rows = await conn.execute(
                sa.select(t.projects).where(_p.workspace_id == workspace_id).order_by(_p.created_at, _p.id)
            )
            return tuple(_project(r) for r in rows)

    async def insert(self, project: Project, slug_for: Any) -> Project:
        """Store ``project`` with the slug ``slug_for(taken slugs)`` picks, in one transaction
        that holds the workspace's row (two creations at once cannot take the same slug)."""
        async with self._db.write() as conn:
            await conn.execute(
                sa.select(t.workspaces.c.id)
                .where(t.workspaces.c.id == project.workspace_id)
                .with_for_update()
            )
            taken = set(
                (
                    await conn.execute(sa.select(_p.slug).where(_p.workspace_id == project.workspace_id))
                ).scalars()
            )
            stored = Project(
                id=project.id,
                workspace_id=project.workspace_id,
                name=project.name,
                slug=slug_for(taken),
                description=project.description,
                created_at=project.created_at,
            )
            await conn.execute(
                sa.insert(t.projects).values(
                    id=stored.id,
                    workspace_id=stored.workspace_id,
                    name=stored.name,
                    slug=stored.slug,
                    description=stored.description,
                    created_at=stored.created_at,
                )
            )
            return stored
