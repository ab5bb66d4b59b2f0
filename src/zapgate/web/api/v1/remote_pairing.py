"""Remote pairing: ``POST /v1/numbers/remote-pairing`` (tenant key) and the public link
``/v1/remote-pairing/{token}`` (no key: the token is the credential), which answers JSON to API
clients and the pairing page to browsers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from zapgate import errors
from zapgate.domain.numbers import PairingCodes
from zapgate.domain.remote_pairing import LinkState, PairingView, mask_number, redirect_target
from zapgate.services import remote_pairing
from zapgate.web import openapi
from zapgate.web.api.v1 import numbers as numbers_api
from zapgate.web.deps import ContainerDep, JsonBody, TenantDep
from zapgate.web.errors import error_response, error_responses, json_response
from zapgate.web.middleware import NUL_SEEN
from zapgate.web.schemas import remote_pairing as schemas
from zapgate.web.views import numbers as number_views
from zapgate.web.views import remote_pairing as views

router = APIRouter()
templates = Jinja2Templates(directory=str(Path(__file__).parents[2] / "templates"))

_PUBLIC = error_responses((404, "REMOTE_PAIRING_NOT_FOUND"), (410, "REMOTE_PAIRING_EXPIRED"))
# The public link takes no key (the token is the credential): documented without security.
_IN_SCHEMA = True
PUBLIC_TAG = "remote pairing"  # no key: the operation lists no 401


@router.post(
    "/v1/numbers/remote-pairing",
    tags=["numbers"],
    status_code=201,
    openapi_extra=openapi.request_body(schemas.RemotePairingCreate),
    responses=numbers_api.CREATE_ERRORS,
)
async def create(container: ContainerDep, principal: TenantDep, body: JsonBody) -> Any:
    """Create a QR-paired number (Evolution v2 by default) and a time-limited link to a public
    page where the phone's owner pairs it. The token and the number's key are shown this once.
    Zapgate does not send the link over WhatsApp (``messageSent`` is always false)."""
    new = views.new_link(body)
    created = await remote_pairing.create(container, workspace_id=principal.workspace_id, new=new)
    return json_response(201, views.created(created, public_url=container.settings.public_url))


def _token(request: Request, token: str) -> str:
    """A NUL anywhere in the URL (deferred by the guard for ``/v1/``) is an unknown token."""
    if "\x00" in token or request.scope.get("state", {}).get(NUL_SEEN):
        return ""
    return token


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept.split(",")[0]


@router.get("/v1/remote-pairing/{token}", responses=_PUBLIC, include_in_schema=_IN_SCHEMA, tags=[PUBLIC_TAG])
async def info(request: Request, token: str, container: ContainerDep) -> Any:
    """``RemotePairingInfo`` (JSON), or the pairing page for a browser (``Accept: text/html``).
    A used link answers ``valid: false, reason: "USED"``; an expired one 410."""
    html = _wants_html(request)
    try:
        found = await remote_pairing.view(container, _token(request, token), live=html)
    except errors.NotFound as exc:
        return _page(request, None, status=404, problem=exc.message) if html else error_response(exc)
    if html:
        return await _html(request, container, _token(request, token), found)
    if found.state is LinkState.EXPIRED:
        return _gone(remote_pairing.expired_error())
    return views.info(found)


@router.get(
    "/v1/remote-pairing/{token}/status", responses=_PUBLIC, include_in_schema=_IN_SCHEMA, tags=[PUBLIC_TAG]
)
async def status(request: Request, token: str, container: ContainerDep) -> Any:
    """``RemotePairingStatus``: the number's link state, read live from the provider."""
    try:
        return views.status(await remote_pairing.status(container, _token(request, token)))
    except remote_pairing.LinkGone as exc:
        return _gone(exc)


@router.post(
    "/v1/remote-pairing/{token}/connect",
    responses=error_responses(
        (404, "REMOTE_PAIRING_NOT_FOUND"),
        (410, "REMOTE_PAIRING_EXPIRED | REMOTE_PAIRING_USED"),
        (503, "PROVIDER_NOT_CONFIGURED | UPSTREAM_TIMEOUT | UPSTREAM_ERROR"),
    ),
    include_in_schema=_IN_SCHEMA,
    tags=[PUBLIC_TAG],
)
async def connect(request: Request, token: str, container: ContainerDep) -> Any:
    """``RemotePairingConnectResult``: a fresh QR code and pairing code."""
    try:
        found = await remote_pairing.connect(container, _token(request, token))
    except remote_pairing.LinkGone as exc:
        return _gone(exc)
    return number_views.pairing_codes(found)


def _gone(exc: errors.ZapgateError) -> Response:
    # errors.py has no 410 class: the link's end is answered here.
    return json_response(410, exc.body())


async def _html(request: Request, container: ContainerDep, token: str, found: PairingView) -> Response:
    if found.state is LinkState.EXPIRED:
        return _page(request, found, status=410, problem="This pairing link has expired: ask for a new one.")
    pairing: PairingCodes | None = None
    problem = ""
    if found.state is LinkState.VALID:
        try:
            pairing = await remote_pairing.connect(container, token)
        except remote_pairing.LinkGone:
            found = await remote_pairing.view(container, token, live=False)
        except (errors.Unavailable, errors.Conflict) as exc:
            problem = exc.message
    return _page(request, found, pairing=pairing, problem=problem, token=token)


def _page(
    request: Request,
    found: PairingView | None,
    *,
    status: int = 200,
    problem: str = "",
    pairing: PairingCodes | None = None,
    token: str = "",
) -> Response:
    link = found.link if found else None
    redirect = redirect_target(link.redirect_url, link.external_ref) if link and link.redirect_url else None
    context = {
        "found": found,
        "connected": found is not None and found.state is LinkState.USED,
        "masked": mask_number(found.number.number) if found else "",
        "qrcode": pairing.qrcode_base64 if pairing else None,
        "pairing_code": pairing.pairing_code if pairing else None,
        "problem": problem,
        "redirect": redirect,
        "base": f"/v1/remote-pairing/{token}" if token else "",
    }
    response = templates.TemplateResponse(request, "remote_pairing.html", context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response
