"""Customer webhooks API (``/v1/webhooks``): thin routes over ``services.webhooks``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request

from zapgate.services import webhooks
from zapgate.web import openapi
from zapgate.web.deps import ContainerDep, JsonBody, PrincipalDep, json_body
from zapgate.web.errors import error_responses, json_response
from zapgate.web.schemas import webhooks as schemas
from zapgate.web.views import webhooks as views

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

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
    openapi_extra=openapi.request_body(schemas.WebhookCreate),
    responses={
        **openapi.response(schemas.WebhookWithSecret, "Created; the secret is shown only here", 201),
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
        **openapi.response(schemas.WebhookList, "Webhooks in scope"),
        **error_responses(_AUTH),
    },
)
async def list_webhooks(container: ContainerDep, principal: PrincipalDep) -> Any:
    """Every webhook of the workspace (a number key: only its number's)."""
    return [views.webhook(e) for e in await webhooks.list_endpoints(container, principal=principal)]


@router.get(
    "/{webhook_id}",
    responses={**openapi.response(schemas.Webhook, "The webhook"), **error_responses(_AUTH, _NOT_FOUND)},
)
async def get_webhook(webhook_id: str, container: ContainerDep, principal: PrincipalDep) -> Any:
    return views.webhook(await webhooks.get_endpoint(container, principal=principal, webhook_id=webhook_id))


@router.patch(
    "/{webhook_id}",
    openapi_extra=openapi.request_body(schemas.WebhookUpdate),
    responses={
        **openapi.response(schemas.Webhook, "The updated webhook"),
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
        **openapi.response(schemas.WebhookDeleted, "Deleted with its delivery log"),
        **error_responses(_AUTH, _NOT_FOUND),
    },
)
async def delete_webhook(webhook_id: str, container: ContainerDep, principal: PrincipalDep) -> Any:
    await webhooks.delete_endpoint(container, principal=principal, webhook_id=webhook_id)
    return views.deleted(webhook_id)


@router.get(
    "/{webhook_id}/logs",
    responses={
        **openapi.response(
            schemas.DeliveryLog, "Attempts, newest first; deliveries still waiting appear as PENDING"
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
        **openapi.response(schemas.WebhookRotated, "The new secret, shown only here"),
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
        **openapi.response(schemas.DeliveryQueued, "Queued as a new delivery", 202),
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
        **openapi.response(schemas.DeliveryQueued, "Queued", 202),
        **error_responses(_AUTH, _NOT_FOUND, (409, "WEBHOOK_INACTIVE")),
    },
)
async def send_test(webhook_id: str, container: ContainerDep, principal: PrincipalDep) -> Any:
    """Queue a ``webhook.test`` event (SDKs treat it as an unknown event: acknowledge it)."""
    queued = await webhooks.send_test(container, principal=principal, webhook_id=webhook_id)
    return json_response(202, views.queued(queued))
