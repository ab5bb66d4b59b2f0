from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from starlette.responses import Response

from zapgate.container import Container
from zapgate.domain.conversations import Listing
from zapgate.services import auth, conversations, messages, sending
from zapgate.web import openapi
from zapgate.web.deps import (
    ContainerDep,
    JsonBody,
    NumberIdDep,
    ReadNumberIdDep,
    json_body,
)
from zapgate.web.errors import error_responses, json_response
from zapgate.web.routing import DirectRoute
from zapgate.web.schemas import messages as schemas
from zapgate.web.views import conversations as conversation_views
from zapgate.web.views import messages as views

router = APIRouter(prefix="/v1/messages", tags=["messages"])

SEND_OPTIONS: dict[str, Any] = dict(
    status_code=202,
    openapi_extra=openapi.request_body(schemas.SendRequest),
    responses={
        **openapi.response(schemas.SendAccepted, "Accepted and queued", 202),
        **error_responses(
            (
                400,
                "VALIDATION_ERROR | MODE_CONFLICT | INVALID_DESTINATION | CAPTION_NOT_ALLOWED"
                " | MISSING_TEMPLATE_VARIABLES | NOT_SUPPORTED_FOR_META | "
                "MEDIA_BASE64_NOT_SUPPORTED | FLOW_WINDOW_CLOSED | IDEMPOTENCY_KEY_INVALID",
            ),
            (401, "UNAUTHORIZED"),
            (402, "SUBSCRIPTION_REQUIRED_FOR_MEDIA | PLAN_LIMIT_REACHED"),
            (403, "TENANT_SCOPE_NOT_ALLOWED"),
            (404, "TEMPLATE_NOT_FOUND"),
            (409, "TEMPLATE_NOT_APPROVED | IDEMPOTENCY_KEY_REUSED | IDEMPOTENCY_KEY_IN_USE"),
            (413, "PAYLOAD_TOO_LARGE"),
            (429, "RATE_LIMITED"),
        ),
    },
)


async def send(request: Request) -> Response:
    """Queue a message (template, free text with optional buttons, or direct media).

    The hot path: it takes the request as it is and does its steps in line (authenticate,
    rate-limit, resolve the number, read the body, accept) rather than through dependencies,
    which cost about a fifth of its CPU; errors go to the app's handlers like every route's."""
    container = request.app.state.container
    principal = await auth.authenticate(
        container, api_key=request.headers.get("x-api-key"), api_key_id=request.headers.get("x-api-key-id")
    )
    if request.app.state.rate_limiter is not None:
        request.app.state.rate_limiter.check(principal.key_id)
    number_id = await auth.number_for(container, principal, None, allow_tenant=False)
    accepted = await sending.accept(
        container,
        workspace_id=principal.workspace_id,
        number_id=number_id,
        body=await json_body(request),
        idempotency_key=request.headers.get("idempotency-key"),
    )
    headers = {"Idempotent-Replayed": "true"} if accepted.replayed else None
    return json_response(202, views.accepted(accepted), headers)


def add_send_route(app: FastAPI) -> None:
    """``POST /v1/messages/send`` as a :class:`DirectRoute` on the app's own router, ahead of
    the included routers (bench/send_vs_echo.py: FastAPI's request machinery cost 0.17 ms of CPU
    a send here, about 40 % of the whole request)."""
    app.router.add_api_route(
        "/v1/messages/send",
        send,
        methods=["POST"],
        tags=["messages"],
        route_class_override=DirectRoute,
        **SEND_OPTIONS,
    )


@router.delete(
    "/cancel",
    openapi_extra=openapi.request_body(schemas.CancelRequest),
    responses=error_responses(
        (400, "VALIDATION_ERROR"), (401, "UNAUTHORIZED"), (403, "TENANT_SCOPE_NOT_ALLOWED")
    ),
)
async def cancel(container: ContainerDep, number_id: NumberIdDep, body: JsonBody) -> Any:
    """Cancel scheduled messages (QUEUED with a future deliverAt)."""
    outcome = await messages.cancel(container, number_id=number_id, message_ids=views.cancel_ids(body))
    return views.cancel_outcome(outcome)


@router.get(
    "",
    responses=error_responses(
        (400, "VALIDATION_ERROR | INVALID_DATE_RANGE"),
        (401, "UNAUTHORIZED"),
        (403, "TENANT_SCOPE_NOT_ALLOWED"),
    ),
)
async def list_messages(request: Request, container: ContainerDep, number_id: ReadNumberIdDep) -> Any:
    """The outbound log, newest first. Filters: page, pageSize, status, startDate, endDate,
    destinationNumber, label."""
    query = views.list_query(number_id, request.query_params)
    return views.page(await messages.list_messages(container, query))


_HistoryParam = Annotated[str | None, Query()]


async def _history(
    container: Container, number_id: str, listing: Listing, request: Request
) -> dict[str, Any]:
    query = conversation_views.history_query(number_id, listing, request.query_params)
    return conversation_views.history_page(number_id, await conversations.history(container, query))


_HISTORY_ERRORS = error_responses(
    (400, "VALIDATION_ERROR | INVALID_DATE_RANGE"),
    (401, "UNAUTHORIZED"),
    (403, "TENANT_SCOPE_NOT_ALLOWED"),
)


@router.get("/history", responses=_HISTORY_ERRORS)
async def history(
    request: Request,
    container: ContainerDep,
    number_id: ReadNumberIdDep,
    startDate: _HistoryParam = None,
    endDate: _HistoryParam = None,
    page: _HistoryParam = None,
    pageSize: _HistoryParam = None,
) -> Any:
    """The number's conversations, newest first: inbound and outbound messages in one timeline
    (``HistoryMessage``). ``startDate`` / ``endDate`` (ISO 8601) bound the provider timestamp
    (an outbound message's is its acceptance time); ``page`` from 1, ``pageSize`` 1-100
    (default 30). A ``RELAY_ONLY`` number keeps no conversation: an empty page with
    ``notice: "PII_RELAY_ONLY"``; a ``STORE_X_DAYS`` number shows its retention window."""
    return await _history(container, number_id, Listing.ALL, request)


@router.get("/unread", responses=_HISTORY_ERRORS)
async def unread(
    request: Request,
    container: ContainerDep,
    number_id: ReadNumberIdDep,
    page: _HistoryParam = None,
    pageSize: _HistoryParam = None,
) -> Any:
    """Inbound messages not read yet, newest first; each row carries its conversation's unread
    count (``conversationUnreadCount``) and ``total`` is the sum over conversations."""
    return await _history(container, number_id, Listing.UNREAD, request)


@router.get(
    "/group",
    responses=error_responses(
        (400, "VALIDATION_ERROR | INVALID_DATE_RANGE | NOT_SUPPORTED_FOR_META"),
        (401, "UNAUTHORIZED"),
        (403, "TENANT_SCOPE_NOT_ALLOWED"),
    ),
)
async def group_messages(
    request: Request,
    container: ContainerDep,
    number_id: ReadNumberIdDep,
    startDate: _HistoryParam = None,
    endDate: _HistoryParam = None,
    page: _HistoryParam = None,
    pageSize: _HistoryParam = None,
) -> Any:
    """Group conversations (both directions), newest first; ``startDate`` / ``endDate`` bound
    ``createdAt``. Meta Cloud API numbers have no groups: ``400 NOT_SUPPORTED_FOR_META``."""
    return await _history(container, number_id, Listing.GROUPS, request)


@router.get(
    "/{message_ref}/events", responses=error_responses((401, "UNAUTHORIZED"), (404, "MESSAGE_NOT_FOUND"))
)
async def message_events(message_ref: str, container: ContainerDep, number_id: ReadNumberIdDep) -> Any:
    """The message's timeline: every status event with time and source (additive endpoint)."""
    found = await messages.get(container, number_id=number_id, ref=message_ref)
    entries = await messages.timeline(container, number_id=number_id, message_id=found.id)
    return {"id": found.id, "events": views.timeline(entries)}


@router.get(
    "/{message_ref}",
    responses=error_responses(
        (401, "UNAUTHORIZED"), (403, "TENANT_SCOPE_NOT_ALLOWED"), (404, "MESSAGE_NOT_FOUND")
    ),
)
async def get_message(message_ref: str, container: ContainerDep, number_id: ReadNumberIdDep) -> Any:
    """A message by its id, correlationId or provider id."""
    return views.details(await messages.get(container, number_id=number_id, ref=message_ref))
