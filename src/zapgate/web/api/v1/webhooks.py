"""Customer webhooks API (``/v1/webhooks``): thin routes over ``services.webhooks``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request

from zapgate.services import webhooks
from zapgate.web.deps import ContainerDep, JsonBody, PrincipalDep, json_body
from zapgate.web.errors import error_responses, json_response
from zapgate.web.openapi import body_schema
from zapgate.web.views import webhooks as views
from zapgate.webhooks import payloads

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

_EVENTS: dict[str, Any] = {
    "description": '"*" for every event (including number health events), or a list of '
    "event names. Empty or omitted: nothing is delivered.",
    "oneOf": [
        {"type": "string", "enum": ["*"]},
        {"type": "array", "items": {"type": "string", "enum": list(payloads.SUBSCRIBABLE_EVENTS)}},
    ],
}
WEBHOOK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "example": "wh_01j2webhook"},
        "tenantId": {"type": "string"},
        "name": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "environment": {"type": "string", "enum": ["LIVE"]},
        "active": {"type": "boolean"},
        "events": {"type": "array", "items": {"type": "string"}},
        "apiKeys": {
            "type": "array",
            "items": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
        },
        "lastTriggered": {"type": "string", "format": "date-time", "nullable": True},
        "whatsappNumberIds": {"type": "array", "items": {"type": "string"}},
        "whatsappInstanceIds": {"type": "array", "items": {"type": "string"}},
        "createdAt": {"type": "string", "format": "date-time"},
        "updatedAt": {"type": "string", "format": "date-time"},
        "disabledReason": {
            "type": "string",
            "nullable": True,
            "description": "Why delivery stopped automatically: GONE (the "
            "endpoint answered 410) or FAILING (every attempt "
            "failed for 3 days). Cleared on reactivation.",
        },
    },
}
WITH_SECRET_SCHEMA: dict[str, Any] = {
    "allOf": [
        WEBHOOK_SCHEMA,
        {
            "type": "object",
            "properties": {
                "secret": {
                    "type": "string",
                    "example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                    "description": "Signing secret. Shown only in this response: store it now.",
                }
            },
        },
    ]
}
LOG_ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "deliveryId": {"type": "string"},
        "eventId": {"type": "string"},
        "event": {"type": "string"},
        "status": {"type": "string", "enum": ["SUCCESS", "FAILED", "PENDING"]},
        "statusCode": {"type": "integer", "nullable": True},
        "payload": {"type": "object", "description": "The delivered body"},
        "response": {
            "type": "string",
            "nullable": True,
            "description": "First 2 KB of the endpoint's answer",
        },
        "durationMs": {"type": "integer", "nullable": True},
        "attempt": {
            "type": "integer",
            "description": "1 for the first try; 0 for a "
            "delivery dropped before any attempt (its webhook was deactivated)",
        },
        "error": {"type": "string", "nullable": True},
        "createdAt": {"type": "string", "format": "date-time"},
        "nextAttemptAt": {"type": "string", "format": "date-time", "description": "PENDING items only"},
    },
}
QUEUED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "deliveryId": {"type": "string"},
        "eventId": {"type": "string"},
        "event": {"type": "string"},
        "status": {"type": "string", "enum": ["PENDING"]},
        "redeliveryOf": {"type": "string"},
    },
}


def _ok(description: str, schema: dict[str, Any], status: int = 200) -> dict[int | str, Any]:
    return {status: {"description": description, "content": {"application/json": {"schema": schema}}}}


_NOT_FOUND = (404, "WEBHOOK_NOT_FOUND")
_AUTH = (401, "UNAUTHORIZED")
NumberHeader = Annotated[
    str | None, Header(description="With a workspace (tenant) key: the number the webhook belongs to")
]


async def patch_body(request: Request) -> Any:
    """Like ``JsonBody``, but an empty body is an empty patch (``EMPTY_PATCH``), not bad JSON."""
    if not (await request.body()).strip():
        return {}
    return await json_body(request)


@router.post(
    "",
    status_code=201,
    openapi_extra=body_schema(
        {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "format": "uri", "example": "https://hooks.acme.com/wa"},
                "name": {
                    "type": "string",
                    "maxLength": 200,
                    "description": "Defaults to the URL's host name",
                },
                "events": _EVENTS,
                "whatsappNumberId": {
                    "type": "string",
                    "description": "With a workspace key, when the x-whatsapp-number-id header is not sent",
                },
            },
        }
    ),
    responses={
        **_ok("Created; the secret is shown only here", WITH_SECRET_SCHEMA, 201),
        **error_responses(
            (400, "VALIDATION_ERROR | NUMBER_REQUIRED | NUMBER_MISMATCH | WEBHOOK_URL_NOT_ALLOWED"),
            _AUTH,
            (404, "NUMBER_NOT_FOUND"),
        ),
    },
)
async def create_webhook(
    container: ContainerDep,
    principal: PrincipalDep,
    body: JsonBody,
    x_whatsapp_number_id: NumberHeader = None,
) -> Any:
    """Register an endpoint for one number. A number key uses its own number."""
    new = views.new_endpoint(
        body, principal=principal, header_number_id=x_whatsapp_number_id, settings=container.settings
    )
    created = await webhooks.create_endpoint(container, principal=principal, new=new)
    return json_response(201, views.created(created))


@router.get(
    "",
    responses={
        **_ok("Webhooks in scope", {"type": "array", "items": WEBHOOK_SCHEMA}),
        **error_responses(_AUTH),
    },
)
async def list_webhooks(container: ContainerDep, principal: PrincipalDep) -> Any:
    """Every webhook of the workspace (a number key: only its number's)."""
    return [views.webhook(e) for e in await webhooks.list_endpoints(container, principal=principal)]


@router.get(
    "/{webhook_id}", responses={**_ok("The webhook", WEBHOOK_SCHEMA), **error_responses(_AUTH, _NOT_FOUND)}
)
async def get_webhook(webhook_id: str, container: ContainerDep, principal: PrincipalDep) -> Any:
    return views.webhook(await webhooks.get_endpoint(container, principal=principal, webhook_id=webhook_id))


@router.patch(
    "/{webhook_id}",
    openapi_extra=body_schema(
        {
            "type": "object",
            "minProperties": 1,
            "properties": {
                "name": {"type": "string", "maxLength": 200},
                "url": {"type": "string", "format": "uri"},
                "active": {
                    "type": "boolean",
                    "description": "false pauses delivery: no events are queued while "
                    "paused and deliveries still waiting are dropped (they "
                    "stay in the log, redeliverable); true resumes delivery "
                    "and clears an automatic disable",
                },
                "events": {**_EVENTS, "description": "Replaces the whole list (no merge)"},
            },
        }
    ),
    responses={
        **_ok("The updated webhook", WEBHOOK_SCHEMA),
        **error_responses(
            (400, "VALIDATION_ERROR | EMPTY_PATCH | WEBHOOK_URL_NOT_ALLOWED"), _AUTH, _NOT_FOUND
        ),
    },
)
async def update_webhook(
    webhook_id: str, container: ContainerDep, principal: PrincipalDep, request: Request
) -> Any:
    patch = views.patch(await patch_body(request), settings=container.settings)
    updated = await webhooks.update_endpoint(
        container, principal=principal, webhook_id=webhook_id, patch=patch
    )
    return views.webhook(updated)


@router.delete(
    "/{webhook_id}",
    responses={
        **_ok(
            "Deleted with its delivery log",
            {"type": "object", "properties": {"id": {"type": "string"}, "deleted": {"type": "boolean"}}},
        ),
        **error_responses(_AUTH, _NOT_FOUND),
    },
)
async def delete_webhook(webhook_id: str, container: ContainerDep, principal: PrincipalDep) -> Any:
    await webhooks.delete_endpoint(container, principal=principal, webhook_id=webhook_id)
    return views.deleted(webhook_id)


@router.get(
    "/{webhook_id}/logs",
    responses={
        **_ok(
            "Attempts, newest first; deliveries still waiting appear as PENDING",
            {"type": "array", "items": LOG_ITEM_SCHEMA},
        ),
        **error_responses((400, "VALIDATION_ERROR"), _AUTH, _NOT_FOUND),
    },
)
async def webhook_logs(
    webhook_id: str,
    container: ContainerDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=webhooks.LOG_LIMIT_MAX)] = webhooks.LOG_LIMIT_MAX,
    event: Annotated[str | None, Query(max_length=40, description="Only this event")] = None,
) -> Any:
    """The delivery log: one item per attempt (status code, duration, response excerpt)."""
    log = await webhooks.delivery_log(
        container,
        principal=principal,
        webhook_id=webhook_id,
        query=webhooks.LogQuery(limit=limit, event=event),
    )
    return [views.log_item(entry) for entry in log]


@router.post(
    "/{webhook_id}/rotate-secret",
    responses={
        **_ok(
            "The new secret, shown only here",
            {
                "allOf": [
                    WITH_SECRET_SCHEMA,
                    {
                        "type": "object",
                        "properties": {
                            "previousSecretExpiresAt": {
                                "type": "string",
                                "format": "date-time",
                                "description": "Until then deliveries also carry a signature made with the "
                                "previous secret",
                            }
                        },
                    },
                ]
            },
        ),
        **error_responses(_AUTH, _NOT_FOUND),
    },
)
async def rotate_secret(webhook_id: str, container: ContainerDep, principal: PrincipalDep) -> Any:
    """Replace the signing secret; the old one keeps signing as a second signature for 24 h."""
    return views.rotated(await webhooks.rotate_secret(container, principal=principal, webhook_id=webhook_id))


@router.post(
    "/{webhook_id}/logs/{delivery_id}/redeliver",
    status_code=202,
    responses={
        **_ok("Queued as a new delivery", QUEUED_SCHEMA, 202),
        **error_responses(_AUTH, (404, "WEBHOOK_NOT_FOUND | DELIVERY_NOT_FOUND"), (409, "WEBHOOK_INACTIVE")),
    },
)
async def redeliver(
    webhook_id: str, delivery_id: str, container: ContainerDep, principal: PrincipalDep
) -> Any:
    """Send a logged event again (same body and event id); it does not wait behind others."""
    queued = await webhooks.redeliver(
        container, principal=principal, webhook_id=webhook_id, delivery_id=delivery_id
    )
    return json_response(202, views.queued(queued))


@router.post(
    "/{webhook_id}/test",
    status_code=202,
    responses={
        **_ok("Queued", QUEUED_SCHEMA, 202),
        **error_responses(_AUTH, _NOT_FOUND, (409, "WEBHOOK_INACTIVE")),
    },
)
async def send_test(webhook_id: str, container: ContainerDep, principal: PrincipalDep) -> Any:
    """Queue a ``webhook.test`` event (SDKs treat it as an unknown event: acknowledge it)."""
    queued = await webhooks.send_test(container, principal=principal, webhook_id=webhook_id)
    return json_response(202, views.queued(queued))
