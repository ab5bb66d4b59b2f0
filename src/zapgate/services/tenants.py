"""Workspaces (tenants), their plan and their owner user."""

from __future__ import annotations

import secrets

from zapgate import errors
from zapgate.container import Container
from zapgate.domain import ids
from zapgate.domain.tenants import FREE_MONTHLY_LIMIT, PLANS, CreatedTenant, Workspace
from zapgate.domain.users import NewUser, hash_password
from zapgate.services import keys


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
    workspace = Workspace(
        id=workspace_id,
        name=name,
        plan=plan,
        monthly_message_limit=FREE_MONTHLY_LIMIT if plan == "FREE" else None,
        max_numbers=1 if plan == "FREE" else None,
        created_at=now,
    )
    owner = NewUser(
        id=ids.new_id("usr"),
        workspace_id=workspace_id,
        email=email.lower(),
        password_hash=hash_password(password),
        role="owner",
        created_at=now,
    )
    async with container.db.write() as conn:
        if not await container.repos.tenants.add(conn, workspace, owner):
            raise errors.Conflict(f"A user with email {email} already exists", code="EMAIL_TAKEN")
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
    found = await container.repos.tenants.set_plan(
        workspace_id=workspace_id, plan=plan, monthly_limit=monthly_limit, max_numbers=max_numbers
    )
    if not found:
        raise errors.NotFound("Workspace not found", code="TENANT_NOT_FOUND")
