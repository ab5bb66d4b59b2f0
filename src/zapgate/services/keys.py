"""API keys: one tenant key per workspace, one default key per number; rotation only."""

from __future__ import annotations

from zapgate import errors
from zapgate.container import Container
from zapgate.domain.keys import IssuedKey, MaskedKey, NumberKey
from zapgate.storage.database import Connection
from zapgate.storage.repositories.keys import KeyRepository


async def issue_key(conn: Connection, *, workspace_id: str, number_id: str | None, now_ms: int) -> IssuedKey:
    """In the caller's transaction (a new workspace or number gets its first key)."""
    return await KeyRepository.issue(conn, workspace_id=workspace_id, number_id=number_id, now_ms=now_ms)


async def rotate_number_key(container: Container, *, workspace_id: str, number_id: str) -> IssuedKey:
    """The number's old key stops working at once; the new one is returned once."""
    key = await container.repos.keys.rotate_number_key(
        workspace_id=workspace_id, number_id=number_id, now_ms=container.clock.now_ms()
    )
    if key is None:
        raise errors.NotFound("Number not found", code="NUMBER_NOT_FOUND")
    container.key_cache.clear()
    return key


async def rotate_tenant_key(container: Container, *, workspace_id: str) -> IssuedKey:
    key = await container.repos.keys.rotate_tenant_key(
        workspace_id=workspace_id, now_ms=container.clock.now_ms()
    )
    container.key_cache.clear()
    return key


async def list_for_number(
    container: Container, *, workspace_id: str, number_id: str
) -> tuple[NumberKey, ...]:
    """The number's live keys, masked (the raw key is never shown again)."""
    return await container.repos.keys.number_keys(workspace_id=workspace_id, number_id=number_id)


async def list_for_tenant(container: Container, *, workspace_id: str) -> tuple[NumberKey, ...]:
    """One live key per live number (raw keys are not stored, so never revealable)."""
    return await container.repos.keys.number_keys(workspace_id=workspace_id)


async def tenant_key(container: Container, *, workspace_id: str) -> MaskedKey | None:
    """The workspace's live tenant key, masked; None when it has none."""
    return await container.repos.keys.tenant_key(workspace_id=workspace_id)
