"""``/webhooks``: a number's webhook endpoints, their signing secrets (shown once) and delivery
logs, over ``services.webhooks``.

A list or a new endpoint acts in the number's scope (``core.principal(session, number_id)``);
an endpoint named by id acts in the workspace's scope, where the service answers
``WEBHOOK_NOT_FOUND`` for any id of another workspace.

The pages render the service's records (:class:`Endpoint`, :class:`LogEntry`). The create and
edit forms are checked by the API's own body parsers (``web.views.webhooks.new_endpoint`` and
``patch``, which return a :class:`NewEndpoint` / :class:`EndpointPatch`), so the form and
``POST``/``PATCH /v1/webhooks`` refuse the same input with the same messages.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from fastapi import Request
from starlette.datastructures import FormData
from starlette.responses import Response

from zapgate import errors
from zapgate.container import Container
from zapgate.domain import urls
from zapgate.domain.numbers import Number
from zapgate.domain.users import DashSession
from zapgate.domain.webhooks import Endpoint, EndpointPatch
from zapgate.services import webhooks
from zapgate.web import errors as web_errors
from zapgate.web.dashboard import core
from zapgate.web.deps import ContainerDep
from zapgate.web.views import webhooks as body_parsers
from zapgate.webhooks import payloads

router = core.page_router()

EVENTS = payloads.SUBSCRIBABLE_EVENTS
WILDCARD_ONLY = payloads.WILDCARD_ONLY_EVENTS
LOG_EVENTS = (*EVENTS, *WILDCARD_ONLY, webhooks.TEST_EVENT)
# What a redirect back to a page says happened (a fixed set: no text comes from the URL).
DONE = {
    "test": "Test event queued. Its attempt shows in the delivery log within a few seconds.",
    "redeliver": "Event queued again as a new delivery.",
    "paused": "Webhook paused: no events are sent to it until you resume it.",
    "resumed": "Webhook resumed.",
    "updated": "Webhook saved.",
    "deleted": "Webhook deleted.",
}


# --- shaping forms and errors --------------------------------------------------------------------


def _events(form: FormData) -> str | list[str]:
    chosen = [v for v in form.getlist("events") if isinstance(v, str)]
    return "*" if "*" in chosen else chosen


def _values(form: FormData) -> dict[str, Any]:
    """What the form showed, to show it again after an error."""
    return {
        "url": str(form.get("url") or ""),
        "name": str(form.get("name") or ""),
        "events": [v for v in form.getlist("events") if isinstance(v, str)],
    }


def _body(form: FormData) -> dict[str, Any]:
    body: dict[str, Any] = {"url": str(form.get("url") or ""), "events": _events(form)}
    name = str(form.get("name") or "").strip()
    if name:
        body["name"] = name
    return body


def _errors(exc: errors.ZapgateError) -> core.FormErrors:
    """The service's error, with the messages that name no field put where they belong."""
    found = core.FormErrors.of(exc)
    fields = dict(found.fields)
    if exc.code == urls.NOT_ALLOWED:
        fields.setdefault("url", exc.message)
    per_event = [m for k, m in found.fields.items() if k.startswith("events[")]
    if per_event:
        fields.setdefault("events", "; ".join(per_event))
    return core.FormErrors(found.message, fields)


def _flash(request: Request) -> dict[str, str]:
    done = DONE.get(request.query_params.get("done", ""))
    return {"flash": done} if done else {}


def _secret_page(
    request: Request, endpoint: Endpoint, secret: str, heading: str, *, previous_until: int | None = None
) -> Response:
    """The secret, once; after a rotation, until when the previous one still signs too."""
    context = {
        "title": heading,
        "heading": heading,
        "webhook": endpoint,
        "secret": secret,
        "previous_until": previous_until,
    }
    response = core.render(request, "webhooks/secret.html", context)
    response.headers["Cache-Control"] = "no-store"  # the secret must not stay in a cache
    return response


# --- the list and the create form ------------------------------------------------------------------


async def _index(
    request: Request,
    container: Container,
    session: DashSession,
    wanted: str | None,
    *,
    values: dict[str, Any] | None = None,
    form_errors: core.FormErrors | None = None,
    status: int = 200,
) -> Response:
    numbers = await core.workspace_numbers(container, session.workspace_id)
    current = core.pick_number(numbers, wanted)
    endpoints = (
        ()
        if current is None
        else await webhooks.list_endpoints(container, principal=core.principal(session, current.id))
    )
    return core.render(
        request,
        "webhooks/index.html",
        {
            "title": "Webhooks",
            "numbers": numbers,
            "current": current,
            "endpoints": endpoints,
            "events": EVENTS,
            "wildcard_only": WILDCARD_ONLY,
            "errors": form_errors,
            "values": values or {"url": "", "name": "", "events": ["*"]},
            **_flash(request),
        },
        status=status,
    )


@router.get("/webhooks")
async def index(request: Request, container: ContainerDep, session: core.Session) -> Response:
    return await _index(request, container, session, request.query_params.get("number"))


@router.post("/webhooks")
async def create(request: Request, container: ContainerDep, session: core.FormSession) -> Response:
    form = await request.form()
    numbers = await core.workspace_numbers(container, session.workspace_id)
    wanted = str(form.get("number") or "")
    current = core.pick_number(numbers, wanted) if wanted else None
    if current is None:  # a POST names its number: never a default one
        raise errors.NotFound("Number not found", code="NUMBER_NOT_FOUND")
    principal = core.principal(session, current.id)
    try:
        new = body_parsers.new_endpoint(
            _body(form), principal=principal, header_number_id=None, settings=container.settings
        )
        created = await webhooks.create_endpoint(container, principal=principal, new=new)
    except errors.ZapgateError as exc:
        return await _index(
            request,
            container,
            session,
            current.id,
            values=_values(form),
            form_errors=_errors(exc),
            status=web_errors.status_of(exc),
        )
    return _secret_page(request, created.endpoint, created.secret, "Webhook created")


# --- one endpoint: details and delivery log --------------------------------------------------------


def _number_of(numbers: list[Number], webhook: Endpoint) -> Number | None:
    return next((n for n in numbers if n.id == webhook.number_id), None)


async def _detail(
    request: Request,
    container: Container,
    session: DashSession,
    webhook_id: str,
    *,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    principal = core.principal(session)
    webhook = await webhooks.get_endpoint(container, principal=principal, webhook_id=webhook_id)
    event = request.query_params.get("event")
    event = event if event in LOG_EVENTS else None
    log = await webhooks.delivery_log(
        container, principal=principal, webhook_id=webhook_id, query=webhooks.LogQuery(event=event)
    )
    numbers = await core.workspace_numbers(container, session.workspace_id)
    return core.render(
        request,
        "webhooks/detail.html",
        {
            "title": webhook.name,
            "webhook": webhook,
            "number": _number_of(numbers, webhook),
            "log": log,
            "event": event,
            "log_events": LOG_EVENTS,
            **_flash(request),
            **(extra or {}),
        },
        status=status,
    )


@router.get("/webhooks/{webhook_id}")
async def detail(
    webhook_id: str, request: Request, container: ContainerDep, session: core.Session
) -> Response:
    return await _detail(request, container, session, webhook_id)


INACTIVE = "This webhook is paused, so nothing is sent to it. Resume it first."


async def _queue(
    request: Request,
    container: Container,
    session: DashSession,
    webhook_id: str,
    queued: Awaitable[Any],
    done: str,
) -> Response:
    """Redirect after a test event or a redelivery; an inactive webhook gets the page with why."""
    try:
        await queued
    except errors.Conflict as exc:
        message = INACTIVE if exc.code == "WEBHOOK_INACTIVE" else exc.message
        return await _detail(
            request,
            container,
            session,
            webhook_id,
            status=409,
            extra={"flash": message, "flash_kind": "error"},
        )
    return core.redirect(f"/webhooks/{webhook_id}?done={done}", request)


@router.post("/webhooks/{webhook_id}/test")
async def send_test(
    webhook_id: str, request: Request, container: ContainerDep, session: core.FormSession
) -> Response:
    queued = webhooks.send_test(container, principal=core.principal(session), webhook_id=webhook_id)
    return await _queue(request, container, session, webhook_id, queued, "test")


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(
    webhook_id: str, delivery_id: str, request: Request, container: ContainerDep, session: core.FormSession
) -> Response:
    queued = webhooks.redeliver(
        container, principal=core.principal(session), webhook_id=webhook_id, delivery_id=delivery_id
    )
    return await _queue(request, container, session, webhook_id, queued, "redeliver")


@router.post("/webhooks/{webhook_id}/rotate-secret")
async def rotate_secret(
    webhook_id: str, request: Request, container: ContainerDep, session: core.FormSession
) -> Response:
    rotated = await webhooks.rotate_secret(
        container, principal=core.principal(session), webhook_id=webhook_id
    )
    return _secret_page(
        request,
        rotated.endpoint,
        rotated.secret,
        "New signing secret",
        previous_until=rotated.previous_secret_until,
    )


@router.post("/webhooks/{webhook_id}/active")
async def set_active(
    webhook_id: str, request: Request, container: ContainerDep, session: core.FormSession
) -> Response:
    form = await core.form_data(request)
    active = form.get("active") == "true"
    updated = await webhooks.update_endpoint(
        container,
        principal=core.principal(session),
        webhook_id=webhook_id,
        patch=EndpointPatch(active=active),
    )
    done = "resumed" if active else "paused"
    if form.get("back") == "list":
        number_id = updated.number_id
        return core.redirect(f"/webhooks?number={number_id}&done={done}", request)
    return core.redirect(f"/webhooks/{webhook_id}?done={done}", request)


# --- edit and delete -------------------------------------------------------------------------------


def _edit_page(
    request: Request,
    webhook: Endpoint,
    values: dict[str, Any],
    *,
    form_errors: core.FormErrors | None = None,
    status: int = 200,
) -> Response:
    return core.render(
        request,
        "webhooks/edit.html",
        {
            "title": "Edit " + webhook.name,
            "webhook": webhook,
            "values": values,
            "events": EVENTS,
            "wildcard_only": WILDCARD_ONLY,
            "errors": form_errors,
        },
        status=status,
    )


@router.get("/webhooks/{webhook_id}/edit")
async def edit_form(
    webhook_id: str, request: Request, container: ContainerDep, session: core.Session
) -> Response:
    webhook = await webhooks.get_endpoint(container, principal=core.principal(session), webhook_id=webhook_id)
    values = {"url": webhook.url, "name": webhook.name, "events": list(webhook.events)}
    return _edit_page(request, webhook, values)


@router.post("/webhooks/{webhook_id}/edit")
async def edit(
    webhook_id: str, request: Request, container: ContainerDep, session: core.FormSession
) -> Response:
    form = await request.form()
    principal = core.principal(session)
    body = {**_body(form), "name": str(form.get("name") or "")}
    try:
        patch = body_parsers.patch(body, settings=container.settings)
        await webhooks.update_endpoint(container, principal=principal, webhook_id=webhook_id, patch=patch)
    except errors.ZapgateError as exc:
        webhook = await webhooks.get_endpoint(container, principal=principal, webhook_id=webhook_id)
        return _edit_page(
            request, webhook, _values(form), form_errors=_errors(exc), status=web_errors.status_of(exc)
        )
    return core.redirect(f"/webhooks/{webhook_id}?done=updated", request)


@router.get("/webhooks/{webhook_id}/delete")
async def delete_form(
    webhook_id: str, request: Request, container: ContainerDep, session: core.Session
) -> Response:
    webhook = await webhooks.get_endpoint(container, principal=core.principal(session), webhook_id=webhook_id)
    return core.render(
        request, "webhooks/delete.html", {"title": "Delete " + webhook.name, "webhook": webhook}
    )


@router.post("/webhooks/{webhook_id}/delete")
async def delete(
    webhook_id: str, request: Request, container: ContainerDep, session: core.FormSession
) -> Response:
    principal = core.principal(session)
    webhook = await webhooks.get_endpoint(container, principal=principal, webhook_id=webhook_id)
    await webhooks.delete_endpoint(container, principal=principal, webhook_id=webhook_id)
    number_id = webhook.number_id
    return core.redirect(f"/webhooks?number={number_id}&done=deleted", request)
