"""Dependencies declared once, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Depends, Header, Request
from starlette.requests import ClientDisconnect

from zapgate import errors
from zapgate.container import Container
from zapgate.services import auth
from zapgate.web.middleware import NUL_IN_URL, NUL_SEEN


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_principal(
    request: Request,
    x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_api_key_id: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> auth.Principal:
    container: Container = request.app.state.container
    principal = await auth.authenticate(container, api_key=x_api_key, api_key_id=x_api_key_id)
    if request.scope.get("state", {}).get(NUL_SEEN):  # GuardMiddleware saw it: refused, once known who asks
        raise errors.ValidationFailed(NUL_IN_URL)
    limiter = request.app.state.rate_limiter
    if limiter is not None:
        limiter.check(principal.key_id)
    return principal


PrincipalDep = Annotated[auth.Principal, Depends(get_principal)]


async def tenant_principal(principal: PrincipalDep) -> auth.Principal:
    auth.require_tenant(principal)
    return principal


TenantDep = Annotated[auth.Principal, Depends(tenant_principal)]


async def number_only(principal: PrincipalDep, container: ContainerDep) -> str:
    """The acting number for per-number endpoints that need a number key (send, cancel)."""
    return await auth.number_for(container, principal, None, allow_tenant=False)


async def number_or_tenant_header(
    principal: PrincipalDep,
    container: ContainerDep,
    x_whatsapp_number_id: Annotated[
        str | None, Header(description="With the tenant key: the number this call acts on")
    ] = None,
) -> str:
    """The acting number for per-number reads: a number key, or a tenant key with the header."""
    return await auth.number_for(container, principal, x_whatsapp_number_id, allow_tenant=True)


NumberIdDep = Annotated[str, Depends(number_only)]
ReadNumberIdDep = Annotated[str, Depends(number_or_tenant_header)]


async def json_body(request: Request) -> Any:
    """The request body as JSON, with the API's own errors for empty or malformed bodies."""
    try:
        raw = await request.body()
    except ClientDisconnect:
        # Nobody is left to answer; keep it out of the error log.
        raise errors.ValidationFailed("Client disconnected before sending the body") from None
    # The body limit is GuardMiddleware's: it holds however the body arrives.
    if not raw.strip():
        raise errors.ValidationFailed("Request body must be a JSON object")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise errors.ValidationFailed(f"Request body is not valid JSON: {exc}") from exc
    if b"\\u0000" in raw and _holds_nul(body):  # the escape is the only way JSON carries NUL
        raise errors.ValidationFailed(NUL_REFUSED)
    return body


NUL_REFUSED = "Text must not contain the NUL character (U+0000)"


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


JsonBody = Annotated[Any, Depends(json_body)]
