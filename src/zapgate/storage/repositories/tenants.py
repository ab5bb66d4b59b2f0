"""Workspaces (tenants): a new one with its owner, and its plan."""

from __future__ import annotations

import sqlalchemy as sa

from zapgate.domain.tenants import Workspace
from zapgate.domain.users import NewUser
from zapgate.storage import tables as t
from zapgate.storage.database import Connection, Database

_u, _w = t.users.c, t.workspaces.c


class TenantRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, conn: Connection, workspace: Workspace, owner: NewUser) -> bool:
        """In the caller's transaction (which goes on to issue the tenant key): the workspace and
        its owner; False when the owner's (normalized) email is taken (nothing written)."""
        if (await conn.execute(sa.select(_u.id).where(_u.email == owner.email))).first() is not None:
            return False
        await conn.execute(
            sa.insert(t.workspaces).values(
                id=workspace.id,
                name=workspace.name,
                plan=workspace.plan,
                monthly_message_limit=workspace.monthly_message_limit,
                max_numbers=workspace.max_numbers,
                created_at=workspace.created_at,
            )
        )
        await conn.execute(
            sa.insert(t.users).values(
                id=owner.id,
                workspace_id=owner.workspace_id,
                email=owner.email,
                password_hash=owner.password_hash,
                role=owner.role,
                created_at=owner.created_at,
            )
        )
        return True

    async def set_plan(
        self, *, workspace_id: str, plan: str, monthly_limit: int | None, max_numbers: int | None
    ) -> bool:
        """False when there is no such workspace."""
        async with self._db.write() as conn:
            result = await conn.execute(
                sa.update(t.workspaces)
                .where(_w.id == workspace_id)
                .values(plan=plan, monthly_message_limit=monthly_limit, max_numbers=max_numbers)
            )
        return bool(result.rowcount)
