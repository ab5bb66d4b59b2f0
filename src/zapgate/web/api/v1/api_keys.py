from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from zapgate import errors
from zapgate.services import keys
from zapgate.web import openapi
from zapgate.web.deps import ContainerDep, JsonBody, PrincipalDep, TenantDep
from zapgate.web.errors import error_responses
from zapgate.web.schemas import api_keys as schemas
from zapgate.web.views import keys as views

router = APIRouter(prefix="/v1/api-keys", tags=["api-keys"])


@router.get("", responses=error_responses((401, "UNAUTHORIZED")))
async def list_keys(container: ContainerDep, principal: PrincipalDep) -> Any:
    """Number key: that number's masked keys. Tenant key: one lean row per number."""
    if principal.scope == "number" and principal.number_id:
        found = await keys.list_for_number(
            container, workspace_id=principal.workspace_id, number_id=principal.number_id
        )
        return [views.list_item(k) for k in found]
    return [
        views.reveal_row(k)
        for k in await keys.list_for_tenant(container, workspace_id=principal.workspace_id)
    ]


@router.post(
    "",
    openapi_extra=openapi.request_body(schemas.KeyRotation),
    responses=error_responses(
        (400, "VALIDATION_ERROR"),
        (401, "UNAUTHORIZED"),
        (403, "NUMBER_SCOPE_NOT_ALLOWED"),
        (404, "NUMBER_NOT_FOUND"),
    ),
)
async def rotate_number_key(container: ContainerDep, principal: TenantDep, body: JsonBody) -> Any:
    """Rotate a number's default key: the old key stops working at once; the new one is shown once."""
    number_id = body.get("whatsappNumberId") if isinstance(body, dict) else None
    if not isinstance(number_id, str) or not number_id:
        raise errors.ValidationFailed(
            "whatsappNumberId is required", details=[{"field": "whatsappNumberId", "message": "required"}]
        )
    key = await keys.rotate_number_key(container, workspace_id=principal.workspace_id, number_id=number_id)
    return views.rotated(number_id, key)


@router.post(
    "/regenerate",
    status_code=201,
    responses=error_responses((401, "UNAUTHORIZED"), (404, "NUMBER_NOT_FOUND")),
)
async def regenerate_own_key(container: ContainerDep, principal: PrincipalDep) -> Any:
    """Rotate the calling key itself (a number's default key, or the workspace's tenant key): it
    stops working at once; the new key is in the answer, shown once."""
    if principal.scope == "number" and principal.number_id:
        key = await keys.rotate_number_key(
            container, workspace_id=principal.workspace_id, number_id=principal.number_id
        )
    else:
        key = await keys.rotate_tenant_key(container, workspace_id=principal.workspace_id)
    return views.regenerated(principal.scope, principal.number_id, key)
