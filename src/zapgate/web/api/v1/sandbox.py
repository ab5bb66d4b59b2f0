from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from zapgate import errors
from zapgate.domain import phones
from zapgate.services import inbound
from zapgate.web import openapi
from zapgate.web.deps import ContainerDep, JsonBody, NumberIdDep
from zapgate.web.errors import error_responses
from zapgate.web.schemas import sandbox as schemas
from zapgate.web.views import sandbox as views

router = APIRouter(tags=["sandbox"])


@router.post(
    "/v1/sandbox/inbound",
    openapi_extra=openapi.request_body(schemas.InboundSimulation),
    responses=error_responses(
        (400, "VALIDATION_ERROR | NOT_A_SANDBOX_NUMBER"),
        (401, "UNAUTHORIZED"),
        (403, "TENANT_SCOPE_NOT_ALLOWED"),
    ),
)
async def simulate_inbound(container: ContainerDep, number_id: NumberIdDep, body: JsonBody) -> Any:
    """Simulate a contact writing to a sandbox number: opens the 24 h window and emits
    ``message.received`` (``message.reply`` with ``quotedMessageId``; ``message.group`` with
    ``groupId``, ``message.newsletter`` with ``newsletterId``)."""
    simulated = views.simulated_inbound(body)
    return views.received(await inbound.simulate(container, number_id=number_id, inbound=simulated))


@router.post(
    "/v1/messages/typing",
    openapi_extra=openapi.request_body(schemas.TypingRequest),
    responses=error_responses(
        (400, "VALIDATION_ERROR"), (401, "UNAUTHORIZED"), (403, "TENANT_SCOPE_NOT_ALLOWED")
    ),
)
async def typing(number_id: NumberIdDep, body: JsonBody) -> Any:
    """Show a typing indicator to a contact (the sandbox accepts and ignores it)."""
    dest = body.get("destinationNumber") if isinstance(body, dict) else None
    if not isinstance(dest, str) or phones.normalize_e164(dest) is None:
        raise errors.ValidationFailed("destinationNumber (E.164) is required", code="INVALID_DESTINATION")
    return {"ok": True}
