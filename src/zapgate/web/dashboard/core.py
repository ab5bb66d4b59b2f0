"""What every dashboard page shares: templates, the signed-in session, CSRF, the number picker,
and turning service errors into messages next to the fields they concern.

Pages are thin: they parse the form, call the same services the API calls, and render. There is
no dashboard logic of its own.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse, RedirectResponse, Response

from zapgate import errors
from zapgate.clock import iso, parse_iso
from zapgate.container import Container
from zapgate.domain.numbers import Number
from zapgate.domain.users import DashSession
from zapgate.services import numbers, users
from zapgate.services.auth import Principal
from zapgate.web import errors as web_errors
from zapgate.web.deps import ContainerDep

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
COOKIE = "zapgate_session"
templates = Jinja2Templates(directory=str(HERE / "templates"))

NAV = [
    ("/", "Overview"),
    ("/numbers", "Numbers"),
    ("/api-keys", "API keys"),
    ("/templates", "Templates"),
    ("/conversations", "Conversations"),
    ("/messages", "Messages"),
    ("/webhooks", "Webhooks"),
    ("/send", "Send"),
]


class SignedOut(Exception):
    """Raised by the session dependency; answered with a redirect to /login."""


class CsrfRejected(Exception):
    """A state-changing request without the session's CSRF token."""


def _time(ms: int | None) -> str:
    return iso(ms) or "" if ms else ""


def _iso(value: int | str | None) -> str:
    """``isotime`` for a time in milliseconds or already ISO-8601 (the API's shape)."""
    if isinstance(value, str):
        return value
    return _time(value)


def _utc(value: int | str | None) -> str:
    """A list's time for people, in UTC and saying so: ``2026-07-01 14:03 UTC``."""
    if not value:
        return ""
    ms = parse_iso(value) if isinstance(value, str) else value
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


templates.env.globals["NAV"] = NAV
templates.env.filters["isotime"] = _iso
templates.env.filters["utctime"] = _utc


async def current_session(request: Request, container: ContainerDep) -> DashSession:
    session = await users.resolve(container, request.cookies.get(COOKIE))
    if session is None:
        raise SignedOut()
    request.state.dash = session
    return session


async def csrf_session(request: Request, container: ContainerDep) -> DashSession:
    """The session, for a state-changing request: the CSRF token must come with it, in the
    form (``csrf_token``) or, for HTMX, in the ``X-CSRF-Token`` header."""
    session = await current_session(request, container)
    given = request.headers.get("x-csrf-token")
    if given is None and "form" in request.headers.get("content-type", ""):
        form = await request.form()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    if not given or not hmac.compare_digest(given.encode(), session.csrf_token.encode()):
        raise CsrfRejected()
    return session


Session = Annotated[DashSession, Depends(current_session)]
FormSession = Annotated[DashSession, Depends(csrf_session)]


def render(
    request: Request, name: str, context: Mapping[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    session = getattr(request.state, "dash", None)
    ctx = {
        "session": session,
        "csrf_token": session.csrf_token if session else "",
        "path": request.url.path,
        **(context or {}),
    }
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def redirect(url: str, request: Request | None = None) -> Response:
    """303 after a POST; an ``HX-Redirect`` for HTMX requests."""
    if request is not None and request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@dataclass(frozen=True)
class FormErrors:
    """A service error as the form shows it: a summary and messages per field."""

    message: str
    fields: dict[str, str]

    @classmethod
    def of(cls, exc: errors.ZapgateError) -> FormErrors:
        fields: dict[str, str] = {}
        details = exc.extra.get("details")
        if isinstance(details, list):
            for item in details:
                if isinstance(item, dict) and item.get("field"):
                    fields.setdefault(str(item["field"]), str(item.get("message", "")))
        return cls(exc.message, fields)


async def workspace_numbers(container: Container, workspace_id: str) -> list[Number]:
    """The workspace's live numbers, oldest first."""
    return list(await numbers.live_numbers(container, workspace_id=workspace_id))


def pick_number(numbers: list[Any], wanted: str | None) -> Any | None:
    """The number a per-number page shows: the one asked for (only among the workspace's own),
    else the first."""
    for number in numbers:
        if number.id == wanted:
            return number
    if wanted:
        raise errors.NotFound("Number not found", code="NUMBER_NOT_FOUND")
    return numbers[0] if numbers else None


async def form_data(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


class DashRoute(APIRoute):
    """Dashboard routes answer in HTML: signed out → /login, CSRF failure → 403 page, a service
    error that escaped the page → an error page (never the API's JSON)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SignedOut:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return redirect("/login?next=" + quote(target, safe=""), request)
            except CsrfRejected:
                return render(
                    request,
                    "error.html",
                    {
                        "heading": "Request refused",
                        "message": "The form's security token is "
                        "missing or stale. Reload the page and try again.",
                    },
                    status=403,
                )
            except errors.ZapgateError as exc:
                status = web_errors.status_of(exc)
                return render(
                    request,
                    "error.html",
                    {
                        "heading": "Not found" if status == 404 else "Something went wrong",
                        "message": exc.message,
                    },
                    status=status,
                )

        return route


def page_router() -> APIRouter:
    return APIRouter(route_class=DashRoute, include_in_schema=False)


def principal(session: DashSession, number_id: str | None = None) -> Principal:
    """The dashboard acts for its user like the workspace's tenant key (or, given a number, like
    that number's key) when it calls services written for API principals."""
    if number_id is None:
        return Principal(
            workspace_id=session.workspace_id,
            key_id="dashboard:" + session.user_id,
            scope="tenant",
            number_id=None,
        )
    return Principal(
        workspace_id=session.workspace_id,
        key_id="dashboard:" + session.user_id,
        scope="number",
        number_id=number_id,
    )
