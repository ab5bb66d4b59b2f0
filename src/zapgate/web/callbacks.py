"""Provider callback endpoints (not part of the Pilot Status API; no API key: each provider's
own authentication is checked by its adapter).

One route per shape, for every kind: ``/webhooks/<path>`` for a kind whose callbacks share one
URL (Meta: ``/webhooks/meta``), ``/webhooks/<path>/<number id>`` for a kind with a URL per number
(Evolution v2: ``/webhooks/evolution/<id>``, Evolution GO: ``/webhooks/evolution-go/<id>``). The
paths are kept as first published: providers and Meta apps are configured with them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from zapgate.providers.base import CallbackRequest
from zapgate.services import callback_intake
from zapgate.web.deps import ContainerDep
from zapgate.web.errors import error_responses

router = APIRouter(prefix="/webhooks", tags=["provider callbacks"])
_ACK = {"ok": True}
_REFUSALS = error_responses((400, "VALIDATION_ERROR"), (401, "INVALID_SIGNATURE"), (404, "NOT_FOUND"))


async def _request(request: Request) -> CallbackRequest:
    return CallbackRequest(
        raw=await request.body(), headers=request.headers, query=dict(request.query_params)
    )


@router.get(
    "/{path}",
    response_class=PlainTextResponse,
    responses=error_responses((403, "INVALID_VERIFY_TOKEN"), (404, "NOT_FOUND")),
)
async def callback_handshake(path: str, request: Request, container: ContainerDep) -> Any:
    """The provider's subscription check. Meta (``/webhooks/meta``): echoes ``hub.challenge``
    when ``hub.verify_token`` is ``ZAPGATE_META_VERIFY_TOKEN``."""
    return PlainTextResponse(callback_intake.handshake(container, path, dict(request.query_params)))


@router.post("/{path}", responses=_REFUSALS)
async def app_callback(path: str, request: Request, container: ContainerDep) -> Any:
    """Callbacks of a kind with one URL. Meta (``/webhooks/meta``): verified with
    ``X-Hub-Signature-256`` over the raw body, every change must belong to a number of the
    signing app."""
    await callback_intake.receive_app_callback(container, path, await _request(request))
    return _ACK


@router.post("/{path}/{number_id}", responses=_REFUSALS)
async def number_callback(path: str, number_id: str, request: Request, container: ContainerDep) -> Any:
    """Callbacks for one number. Evolution API v2 (``/webhooks/evolution/<id>``): the
    ``x-zapgate-secret`` header (or ``?secret=``) set on the instance; Evolution GO
    (``/webhooks/evolution-go/<id>``): the instance token in the body."""
    await callback_intake.receive_number_callback(container, path, number_id, await _request(request))
    return _ACK
