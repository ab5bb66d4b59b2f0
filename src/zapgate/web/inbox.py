"""Provider callback endpoints (not part of the Pilot Status API; no API key: each provider's
own authentication is checked by its adapter).

The same two handlers serve every kind, at the path its ``Features`` name: ``/webhooks/<path>``
for a kind whose callbacks share one URL (Meta: ``/webhooks/meta``, with its GET subscription
check), ``/webhooks/<path>/<number id>`` for a kind with a URL per number (Evolution v2:
``/webhooks/evolution/<id>``, Evolution GO: ``/webhooks/evolution-go/<id>``). The paths are kept
as first published (providers and Meta apps are configured with them); only the kinds' own
paths are routed here, so the dashboard's ``/webhooks`` pages are untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from zapgate.providers.base import CallbackRequest, CallbackScope
from zapgate.providers.registry import ProviderRegistry
from zapgate.services.inbox import receive as inbox_receive
from zapgate.web.deps import ContainerDep
from zapgate.web.errors import error_responses

_ACK = {"ok": True}
Endpoint = Callable[..., Any]
_REFUSALS = error_responses((400, "VALIDATION_ERROR"), (401, "INVALID_SIGNATURE"))


async def _request(request: Request) -> CallbackRequest:
    return CallbackRequest(
        raw=await request.body(), headers=request.headers, query=dict(request.query_params)
    )


def _handlers(path: str) -> tuple[Endpoint, Endpoint, Endpoint]:
    """The three handlers, bound to one kind's callback path."""

    async def handshake(request: Request, container: ContainerDep) -> Any:
        return PlainTextResponse(inbox_receive.handshake(container, path, dict(request.query_params)))

    async def app_callback(request: Request, container: ContainerDep) -> Any:
        await inbox_receive.receive_app_callback(container, path, await _request(request))
        return _ACK

    async def number_callback(number_id: str, request: Request, container: ContainerDep) -> Any:
        await inbox_receive.receive_number_callback(container, path, number_id, await _request(request))
        return _ACK

    return handshake, app_callback, number_callback


def router(registry: ProviderRegistry) -> APIRouter:
    """The callback routes of every kind in ``registry``."""
    routes = APIRouter(prefix="/webhooks", tags=["provider callbacks"])
    for kind in registry.kinds():
        features = registry.features(kind)
        label = features.label
        handshake, app_callback, number_callback = _handlers(features.callback_path)
        if features.callback_scope is CallbackScope.APP:
            routes.add_api_route(
                f"/{features.callback_path}",
                handshake,
                methods=["GET"],
                response_class=PlainTextResponse,
                name=f"{kind}_callback_check",
                summary=f"{label}: subscription check",
                description="Echoes ``hub.challenge`` when ``hub.verify_token`` is right.",
                responses=error_responses((403, "INVALID_VERIFY_TOKEN")),
            )
            routes.add_api_route(
                f"/{features.callback_path}",
                app_callback,
                methods=["POST"],
                name=f"{kind}_callback",
                summary=f"{label}: callbacks",
                description="Authenticated by the provider's adapter (Meta: ``X-Hub-Signature-256`` "
                "over the raw body; every change must belong to a number of the signing app).",
                responses=_REFUSALS,
            )
        elif features.callback_scope is CallbackScope.NUMBER:
            routes.add_api_route(
                f"/{features.callback_path}/{{number_id}}",
                number_callback,
                methods=["POST"],
                name=f"{kind}_callback",
                summary=f"{label}: callbacks for one number",
                description="Authenticated by the provider's adapter with the number's own secret.",
                responses=_REFUSALS,
            )
    return routes
