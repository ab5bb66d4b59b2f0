"""``/messages``: a number's outbound log (filters and paging as GET parameters, so a view is a
link; dates and the listed times both in UTC) and a message's page: details, timeline and
request body, refreshed while not final.

The pages render the service's :class:`Message` records; the filters go through the API's own
parameter checks (``web.views.messages.list_query``, which returns a :class:`MessageQuery`), so
the log and ``GET /v1/messages`` refuse the same values with the same messages."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import Request
from starlette.responses import Response

from zapgate import errors
from zapgate.container import Container
from zapgate.domain.lifecycle import TERMINAL, Status
from zapgate.domain.messages import Message, MessagePage
from zapgate.domain.users import DashSession
from zapgate.services import messages
from zapgate.web.dashboard import core, present
from zapgate.web.deps import ContainerDep
from zapgate.web.views import messages as list_params

router = core.page_router()

FILTERS = ("status", "destination", "label", "startDate", "endDate", "pageSize")
PAGE_SIZES = ("30", "50", "100")
DONE = {"canceled": "Message canceled."}
CANCEL_REFUSED = {"ALREADY_SENT": "it has already left the queue.", "NOT_SCHEDULED": "it is being sent now."}
STOP_POLLING = 286  # htmx stops an "every 2s" trigger on this status
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
EXCERPT = 60
ORIGINS = {"API": "API", "DASHBOARD": "Dashboard", "SYSTEM": "System"}


# -- the log ---------------------------------------------------------------------------------


def _filters(request: Request) -> dict[str, str]:
    query = request.query_params
    return {k: query.get(k, "").strip() for k in FILTERS if query.get(k, "").strip()}


def _params(filters: dict[str, str], page: str | None) -> dict[str, str | None]:
    """The filters as the list's query parameters (what ``list_query`` checks); a date-only
    end means the whole day (UTC)."""
    end = filters.get("endDate")
    if end and _DATE.fullmatch(end):
        end += "T23:59:59.999Z"
    return {
        "page": page,
        "pageSize": filters.get("pageSize"),
        "status": filters.get("status"),
        "startDate": filters.get("startDate"),
        "endDate": end,
        "destinationNumber": filters.get("destination"),
        "label": filters.get("label"),
    }


def _list_errors(exc: errors.ZapgateError) -> core.FormErrors:
    found = core.FormErrors.of(exc)
    if exc.code == "INVALID_DATE_RANGE":
        return core.FormErrors(
            found.message, {**found.fields, "endDate": "must not be before the start date"}
        )
    return found


def _pager(number_id: str, filters: dict[str, str], result: MessagePage) -> dict[str, str]:
    def url(page: int) -> str:
        return "/messages?" + urlencode({"number": number_id, **filters, "page": page})

    page, pages = result.page, result.total_pages
    links = {}
    if page > 1:
        links["newer"] = url(min(page - 1, max(pages, 1)))
    if page < pages:
        links["older"] = url(page + 1)
    return links


def summary(body: Any, template: str | None) -> dict[str, str]:
    """What a send was, from the request the API accepted: its kind (text, template, media ·
    image, list, carousel, flow) and a short excerpt of its content."""
    if not isinstance(body, dict):
        return {"kind": "template" if template else "—", "excerpt": template or ""}
    if body.get("templateId") or template:
        return {"kind": "template", "excerpt": template or str(body.get("templateId", ""))}
    for kind in ("list", "carousel", "flow"):
        if body.get(kind):
            return {"kind": kind, "excerpt": _excerpt(body.get("text"))}
    if body.get("media"):
        kind = f"media · {body.get('mediaType') or 'image'}"
        return {"kind": kind, "excerpt": _excerpt(body.get("caption") or body.get("fileName"))}
    return {"kind": "text", "excerpt": _excerpt(body.get("text"))}


def _excerpt(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    flat = " ".join(value.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1].rstrip() + "…"


async def _summaries(container: Container, number_id: str, result: MessagePage) -> dict[str, dict[str, str]]:
    """Kind and excerpt of each listed message (a page holds at most 100 rows)."""
    out = {}
    for msg in result.messages:
        if msg.redacted_at is not None:
            out[msg.id] = {"kind": "template" if msg.template_name else "—", "excerpt": ""}
            continue
        body = await messages.request_body(container, number_id=number_id, message_id=msg.id)
        out[msg.id] = summary(body, msg.template_name)
    return out


@router.get("/messages")
async def index(request: Request, container: ContainerDep, session: core.Session) -> Response:
    numbers = await core.workspace_numbers(container, session.workspace_id)
    number = core.pick_number(numbers, request.query_params.get("number"))
    filters = _filters(request)
    result, problems, summaries = None, None, {}
    if number is not None:
        try:
            query = list_params.list_query(number.id, _params(filters, request.query_params.get("page")))
            result = await messages.list_messages(container, query)
        except errors.ZapgateError as exc:
            problems = _list_errors(exc)
        else:
            summaries = await _summaries(container, number.id, result)
    return core.render(
        request,
        "messages/index.html",
        {
            "title": "Messages",
            "numbers": numbers,
            "number": number,
            "filters": filters,
            "result": result,
            "errors": problems,
            "statuses": present.STATUSES,
            "summaries": summaries,
            "origins": ORIGINS,
            "page_sizes": PAGE_SIZES,
            "pager": _pager(number.id, filters, result) if number and result else {},
        },
        status=400 if problems else 200,
    )


# -- one message -----------------------------------------------------------------------------


async def _number(container: Container, session: DashSession, request: Request) -> Any:
    numbers = await core.workspace_numbers(container, session.workspace_id)
    number = core.pick_number(numbers, request.query_params.get("number"))
    if number is None:
        raise errors.NotFound("Message not found", code="MESSAGE_NOT_FOUND")
    return number


async def _live(container: Container, number: Any, found: Message) -> dict[str, Any]:
    """What the auto-refreshed part shows: details and timeline."""
    entries = await messages.timeline(container, number_id=number.id, message_id=found.id)
    return {
        "number": number,
        "message": found,
        "events": present.timeline(entries, found.origin),
        "final": found.status in TERMINAL,
        "live_url": f"/messages/{found.id}/live?number={number.id}",
        "origins": ORIGINS,
    }


def _cancellable(container: Container, found: Message) -> bool:
    """Only a message still waiting for its scheduled time can be canceled."""
    return found.status == Status.QUEUED and found.deliver_at > container.clock.now_ms()


def _pii_policy(number: Any) -> str | None:
    """The number's PII mode in words, for the notice on a redacted message (None once the
    number keeps content again: the removal came from an earlier mode)."""
    if number.pii_mode == "RELAY_ONLY":
        return "relay only"
    if number.pii_mode == "STORE_X_DAYS":
        days = number.pii_retention_days
        return f"content kept {days} day{'' if days == 1 else 's'}"
    return None


async def _message_page(
    request: Request,
    container: Container,
    number: Any,
    found: Message,
    *,
    flash: str | None = None,
    status: int = 200,
) -> Response:
    body = await messages.request_body(container, number_id=number.id, message_id=found.id)
    done = DONE.get(request.query_params.get("done", ""))
    return core.render(
        request,
        "messages/show.html",
        {
            **await _live(container, number, found),
            "title": f"Message to {found.destination}",
            "request_json": None if body is None else orjson.dumps(body, option=orjson.OPT_INDENT_2).decode(),
            "cancellable": _cancellable(container, found),
            "pii_policy": _pii_policy(number),
            "flash": flash or done,
            "flash_kind": "error" if flash else "ok",
        },
        status=status,
    )


@router.get("/messages/{message_id}")
async def show(message_id: str, request: Request, container: ContainerDep, session: core.Session) -> Response:
    number = await _number(container, session, request)
    found = await messages.get(container, number_id=number.id, ref=message_id)
    return await _message_page(request, container, number, found)


@router.get("/messages/{message_id}/live")
async def live(message_id: str, request: Request, container: ContainerDep, session: core.Session) -> Response:
    """The details and timeline fragment polled by the message page; once the status is final
    it answers 286 so htmx stops polling."""
    number = await _number(container, session, request)
    found = await messages.get(container, number_id=number.id, ref=message_id)
    context = await _live(container, number, found)
    return core.render(
        request, "messages/_live.html", context, status=STOP_POLLING if context["final"] else 200
    )


@router.post("/messages/{message_id}/cancel")
async def cancel(
    message_id: str, request: Request, container: ContainerDep, session: core.FormSession
) -> Response:
    number = await _number(container, session, request)
    found = await messages.get(container, number_id=number.id, ref=message_id)
    outcome = await messages.cancel(container, number_id=number.id, message_ids=[found.id])
    if outcome.failed:
        reason = outcome.failed[0][1]
        fresh = await messages.get(container, number_id=number.id, ref=found.id)
        return await _message_page(
            request,
            container,
            number,
            fresh,
            status=409,
            flash="The message could not be canceled: " + CANCEL_REFUSED.get(reason, reason),
        )
    return core.redirect(f"/messages/{found.id}?number={number.id}&done=canceled", request)
