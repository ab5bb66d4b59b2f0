"""API keys: one tenant key per workspace, one default key per number; rotation only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate import crypto, errors
from zapgate.clock import iso
from zapgate.container import Container
from zapgate.domain import ids
from zapgate.storage import tables as t


@dataclass(frozen=True)
class IssuedKey:
    id: str
    raw: str
    prefix: str
    last4: str
    created_at: int


async def issue_key(
    conn: AsyncConnection, *, workspace_id: str, number_id: str | None, now_ms: int
) -> IssuedKey:
    """Revoke the scope's current key (if any) and create a new one; returns the raw key once."""
    scope = "number" if number_id else "tenant"
    current = t.api_keys.c
    scope_filter = (
        (current.number_id == number_id)
        if number_id
        else sa.and_(current.number_id.is_(None), current.scope == "tenant")
    )
    await conn.execute(
        sa.update(t.api_keys)
        .where(current.workspace_id == workspace_id, scope_filter, current.revoked_at.is_(None))
        .values(revoked_at=now_ms)
    )
    raw = ids.raw_api_key()
    key = IssuedKey(id=ids.random_id("key"), raw=raw, prefix=raw[:7], last4=raw[-4:], created_at=now_ms)
    await conn.execute(
        sa.insert(t.api_keys).values(
            id=key.id,
            workspace_id=workspace_id,
            number_id=number_id,
            scope=scope,
            name="Default",
            digest=crypto.key_digest(raw),
            prefix=key.prefix,
            last4=key.last4,
            created_at=now_ms,
        )
    )
    return key


async def rotate_number_key(container: Container, *, workspace_id: str, number_id: str) -> dict[str, Any]:
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        found = (
            await conn.execute(
                sa.select(t.numbers.c.id).where(
                    t.numbers.c.id == number_id,
                    t.numbers.c.workspace_id == workspace_id,
                    t.numbers.c.deleted_at.is_(None),
                )
            )
        ).first()
        if found is None:
            raise errors.NotFound("Number not found", code="NUMBER_NOT_FOUND")
        key = await issue_key(conn, workspace_id=workspace_id, number_id=number_id, now_ms=now)
    container.key_cache.clear()
    return {
        "numberId": number_id,
        "keyId": key.id,
        "keyPrefix": key.prefix,
        "keyLast4": key.last4,
        "key": key.raw,
        "createdAt": iso(key.created_at),
    }


async def rotate_tenant_key(container: Container, *, workspace_id: str) -> IssuedKey:
    async with container.db.write() as conn:
        key = await issue_key(
            conn, workspace_id=workspace_id, number_id=None, now_ms=container.clock.now_ms()
        )
    container.key_cache.clear()
    return key


async def list_for_number(container: Container, *, workspace_id: str, number_id: str) -> list[dict[str, Any]]:
    """``ApiKeyListItem[]``: the number's masked keys (the raw key is never shown again)."""
    k, n = t.api_keys, t.numbers
    query = (
        sa.select(k, n.c.name.label("number_name"), n.c.number, n.c.state)
        .join(n, n.c.id == k.c.number_id)
        .where(k.c.workspace_id == workspace_id, k.c.number_id == number_id, k.c.revoked_at.is_(None))
    )
    async with container.db.read() as conn:
        rows = (await conn.execute(query)).all()
    return [_masked_item(r) for r in rows]


def _masked_item(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "keyPrefix": r.prefix,
        "keyLast4": r.last4,
        "lastUsedAt": iso(r.last_used_at),
        "createdAt": iso(r.created_at),
        "webhookId": None,
        "projectId": None,
        "webhook": None,
        "whatsappInstanceId": r.number_id,
        "whatsappInstance": {
            "id": r.number_id,
            "instanceName": r.number_id,
            "displayName": r.number_name,
            "number": r.number,
            "state": r.state,
        },
        "retentionDays": r.retention_days,
    }


async def list_for_tenant(container: Container, *, workspace_id: str) -> list[dict[str, Any]]:
    """``NumberApiKeyReveal[]``: one row per number; raw keys are not stored, so never revealable."""
    k, n = t.api_keys, t.numbers
    query = (
        sa.select(k.c.id, k.c.last4, n.c.id.label("number_id"), n.c.number, n.c.name)
        .join(n, n.c.id == k.c.number_id)
        .where(k.c.workspace_id == workspace_id, k.c.revoked_at.is_(None), n.c.deleted_at.is_(None))
        .order_by(n.c.created_at)
    )
    async with container.db.read() as conn:
        rows = (await conn.execute(query)).all()
    return [
        {
            "numberId": r.number_id,
            "number": r.number,
            "displayName": r.name,
            "keyId": r.id,
            "keyLast4": r.last4,
            "key": None,
            "revealable": False,
        }
        for r in rows
    ]


async def tenant_key(container: Container, *, workspace_id: str) -> Any:
    """The workspace's live tenant key, masked (prefix, last 4, dates); None when it has none."""
    k = t.api_keys.c
    async with container.db.read() as conn:
        return (
            await conn.execute(
                sa.select(k.prefix, k.last4, k.created_at, k.last_used_at).where(
                    k.workspace_id == workspace_id,
                    k.scope == "tenant",
                    k.number_id.is_(None),
                    k.revoked_at.is_(None),
                )
            )
        ).first()
