"""API key authentication: ``x-api-key`` (digest lookup) or ``x-api-key-id`` (primary key)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from zapgate import crypto, errors
from zapgate.container import Container
from zapgate.storage import tables as t


@dataclass(frozen=True)
class Principal:
    workspace_id: str
    key_id: str
    scope: str  # "tenant" | "number"
    number_id: str | None  # the key's number (number scope) or None


_UNAUTHORIZED = "Missing or invalid API key"


async def authenticate(container: Container, *, api_key: str | None, api_key_id: str | None) -> Principal:
    if api_key:
        lookup = "d:" + crypto.key_digest(api_key)
        column = t.api_keys.c.digest
        value = lookup[2:]
    elif api_key_id and container.settings.allow_key_id_auth:
        lookup = "i:" + api_key_id
        column = t.api_keys.c.id
        value = api_key_id
    else:
        raise errors.Unauthorized(_UNAUTHORIZED)
    cache = container.key_cache
    hit, principal = cache.get(lookup)
    if not hit:
        principal = await _load(container, column, value)
        cache.put(lookup, principal)
    if not isinstance(principal, Principal):
        raise errors.Unauthorized(_UNAUTHORIZED)
    return principal


async def _load(container: Container, column: sa.Column[str], value: str) -> Principal | None:
    k = t.api_keys
    n = t.numbers
    query = (
        sa.select(k.c.id, k.c.workspace_id, k.c.scope, k.c.number_id, k.c.digest)
        .select_from(k.outerjoin(n, n.c.id == k.c.number_id))
        .where(column == value, k.c.revoked_at.is_(None))
        .where(sa.or_(k.c.number_id.is_(None), n.c.deleted_at.is_(None)))
    )
    async with container.db.read() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return None
    if column is t.api_keys.c.digest and not crypto.digests_equal(row.digest, value):
        return None
    return Principal(workspace_id=row.workspace_id, key_id=row.id, scope=row.scope, number_id=row.number_id)


async def number_for(
    container: Container, principal: Principal, header_number_id: str | None, *, allow_tenant: bool
) -> str:
    """The number a per-number call acts on.

    A number key always acts on its own number (the header is ignored). A tenant key may name a
    number of its workspace with ``x-whatsapp-number-id`` on the reads that allow it.
    """
    if principal.scope == "number" and principal.number_id:
        return principal.number_id
    if not allow_tenant or not header_number_id:
        raise errors.Forbidden(
            "This endpoint needs a number-scoped API key"
            + ("" if not allow_tenant else " or the x-whatsapp-number-id header"),
            code="TENANT_SCOPE_NOT_ALLOWED",
        )
    async with container.db.read() as conn:
        found = (
            await conn.execute(
                sa.select(t.numbers.c.id).where(
                    t.numbers.c.id == header_number_id,
                    t.numbers.c.workspace_id == principal.workspace_id,
                    t.numbers.c.deleted_at.is_(None),
                )
            )
        ).first()
    if found is None:
        raise errors.Forbidden(
            "x-whatsapp-number-id does not name a number of this workspace",
            code="TENANT_SCOPE_NOT_ALLOWED",
        )
    return header_number_id


def require_tenant(principal: Principal) -> None:
    if principal.scope != "tenant":
        raise errors.Forbidden(
            "This endpoint needs the workspace (tenant) API key", code="NUMBER_SCOPE_NOT_ALLOWED"
        )
