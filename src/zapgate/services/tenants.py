"""Workspaces (tenants), their plan and their owner user."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher

from zapgate import errors
from zapgate.container import Container
from zapgate.domain import ids
from zapgate.services import keys
from zapgate.storage import tables as t

FREE_MONTHLY_LIMIT = 200
PLANS = ("FREE", "PAID")


@dataclass(frozen=True)
class CreatedTenant:
    tenant_id: str
    tenant_key: str
    owner_email: str
    owner_password: str


def hash_password(password: str) -> str:
    return PasswordHasher().hash(password)


async def create_tenant(
    container: Container,
    *,
    name: str,
    plan: str = "FREE",
    owner_email: str | None = None,
    owner_password: str | None = None,
) -> CreatedTenant:
    if plan not in PLANS:
        raise errors.ValidationFailed(f"plan must be one of {', '.join(PLANS)}")
    now = container.clock.now_ms()
    workspace_id = ids.new_id("tenant")
    email = owner_email or f"owner+{workspace_id[-8:]}@zapgate.local"
    password = owner_password or secrets.token_urlsafe(12)
    async with container.db.write() as conn:
        taken = (await conn.execute(sa.select(t.users.c.id).where(t.users.c.email == email.lower()))).first()
        if taken is not None:
            raise errors.Conflict(f"A user with email {email} already exists", code="EMAIL_TAKEN")
        await conn.execute(
            sa.insert(t.workspaces).values(
                id=workspace_id,
                name=name,
                plan=plan,
                monthly_message_limit=FREE_MONTHLY_LIMIT if plan == "FREE" else None,
                max_numbers=1 if plan == "FREE" else None,
                created_at=now,
            )
        )
        await conn.execute(
            sa.insert(t.users).values(
                id=ids.new_id("usr"),
                workspace_id=workspace_id,
                email=email.lower(),
                password_hash=hash_password(password),
                created_at=now,
            )
        )
        key = await keys.issue_key(conn, workspace_id=workspace_id, number_id=None, now_ms=now)
    return CreatedTenant(workspace_id, key.raw, email.lower(), password)


async def set_plan(
    container: Container,
    *,
    workspace_id: str,
    plan: str,
    monthly_limit: int | None = None,
    max_numbers: int | None = None,
) -> None:
    if plan not in PLANS:
        raise errors.ValidationFailed(f"plan must be one of {', '.join(PLANS)}")
    if plan == "FREE":
        monthly_limit = FREE_MONTHLY_LIMIT if monthly_limit is None else monthly_limit
        max_numbers = 1 if max_numbers is None else max_numbers
    async with container.db.write() as conn:
        result = await conn.execute(
            sa.update(t.workspaces)
            .where(t.workspaces.c.id == workspace_id)
            .values(plan=plan, monthly_message_limit=monthly_limit, max_numbers=max_numbers)
        )
        if result.rowcount == 0:
            raise errors.NotFound("Workspace not found", code="TENANT_NOT_FOUND")
