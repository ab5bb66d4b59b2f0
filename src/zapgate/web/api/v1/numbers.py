from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from zapgate import errors
from zapgate.services import numbers
from zapgate.web.deps import ContainerDep, JsonBody, PrincipalDep, TenantDep
from zapgate.web.errors import error_responses, json_response
from zapgate.web.openapi import body_schema

router = APIRouter(prefix="/v1/numbers", tags=["numbers"])

_CREATE_BODY = body_schema({
    "type": "object", "required": ["name", "number"],
    "properties": {
        "name": {"type": "string"}, "number": {"type": "string", "example": "+5511999999999"},
        "provider": {"type": "string", "enum": ["sandbox"], "default": "sandbox"},
        "official": {"type": "boolean", "default": False},
        "settings": {"type": "object"},
    },
})


@router.post("", status_code=201, openapi_extra=_CREATE_BODY,
             responses=error_responses((400, "VALIDATION_ERROR"), (401, "UNAUTHORIZED"),
                                       (403, "NUMBER_SCOPE_NOT_ALLOWED"),
                                       (409, "NUMBER_ALREADY_EXISTS | NUMBER_LIMIT_EXCEEDED")))
async def create_number(container: ContainerDep, principal: TenantDep, body: JsonBody) -> Any:
    """Create a number. The sandbox provider connects it at once and returns its API key once."""
    result = await numbers.create_number(container, workspace_id=principal.workspace_id,
                                         body=body)
    return json_response(201, result)


@router.get("", responses=error_responses((401, "UNAUTHORIZED")))
async def list_numbers(container: ContainerDep, principal: PrincipalDep) -> Any:
    """The workspace's numbers (a number key sees only its own number)."""
    only = principal.number_id if principal.scope == "number" else None
    return await numbers.list_numbers(container, workspace_id=principal.workspace_id,
                                      only_number_id=only)


@router.get("/{number_id}", responses=error_responses((401, "UNAUTHORIZED"),
                                                      (404, "NUMBER_NOT_FOUND")))
async def get_number(number_id: str, container: ContainerDep, principal: PrincipalDep) -> Any:
    if principal.scope == "number" and principal.number_id != number_id:
        raise errors.NotFound("Number not found", code="NUMBER_NOT_FOUND")
    return await numbers.get_number(container, workspace_id=principal.workspace_id,
                                    number_id=number_id)
