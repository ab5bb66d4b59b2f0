"""API key authentication: ``x-api-key`` (digest lookup) or ``x-api-key-id`` (primary key)."""

from __future__ import annotations

from dataclasses import dataclass

from zapgate import crypto, errors
from zapgate.container import Container


@dataclass(frozen=True)
class Principal:
    workspace_id: str
    key_id: str
    scope: str  # "tenant" | "number"
    number_id: str | None  # the key's number (number scope) or None


_UNAUTHORIZED = "Missing or invalid API key"


async def authenticate(container: Container, *, api_key: str | None, api_key_id: str | None) -> Principal:
    if api_key:
        digest = crypto.key_digest(api_key)
        lookup, by_digest = "d:" + digest, True
    elif api_key_id and container.settings.allow_key_id_auth:
        lookup, by_digest = "i:" + api_key_id, False
    else:
        raise errors.Unauthorized(_UNAUTHORIZED)
    cache = container.key_cache
    hit, principal = cache.get(lookup)
    if not hit:
        principal = await _load(container, digest if by_digest else None, None if by_digest else api_key_id)
        cache.put(lookup, principal)
    if not isinstance(principal, Principal):
        raise errors.Unauthorized(_UNAUTHORIZED)
    return principal


async def _load(container: Container, digest: str | None, key_id: str | None) -> Principal | None:
    key = await container.repos.keys.live_key(digest=digest, key_id=key_id)
    if key is None:
        return None
    if digest is not None and not crypto.digests_equal(key.digest, digest):
        return None
    return Principal(workspace_id=key.workspace_id, key_id=key.id, scope=key.scope, number_id=key.number_id)


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
    if not await container.repos.numbers.is_live_in_workspace(principal.workspace_id, header_number_id):
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
