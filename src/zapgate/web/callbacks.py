"""Provider callback endpoints (not part of the Pilot Status API; no API key: each provider's
own authentication is checked)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from zapgate.services import callback_intake
from zapgate.web.deps import ContainerDep
from zapgate.web.errors import error_responses

router = APIRouter(prefix="/webhooks", tags=["provider callbacks"])
_ACK = {"ok": True}


@router.get(
    "/meta", response_class=PlainTextResponse, responses=error_responses((403, "INVALID_VERIFY_TOKEN"))
)
async def meta_verify(request: Request, container: ContainerDep) -> Any:
    """Meta's subscription handshake: echoes ``hub.challenge`` when ``hub.verify_token`` is
    ``ZAPGATE_META_VERIFY_TOKEN``."""
    return PlainTextResponse(callback_intake.meta_verify(container, dict(request.query_params)))


@router.post("/meta", responses=error_responses((400, "VALIDATION_ERROR"), (401, "INVALID_SIGNATURE")))
async def meta_callback(request: Request, container: ContainerDep) -> Any:
    """Cloud API callbacks, verified with ``X-Hub-Signature-256`` over the raw body."""
    await callback_intake.meta_callback(
        container, raw=await request.body(), signature=request.headers.get("x-hub-signature-256")
    )
    return _ACK


@router.post(
    "/evolution/{number_id}", responses=error_responses((400, "VALIDATION_ERROR"), (401, "INVALID_SIGNATURE"))
)
async def evolution_callback(number_id: str, request: Request, container: ContainerDep) -> Any:
    """Evolution API v2 callbacks for one number."""
    secret = request.headers.get("x-zapgate-secret") or request.query_params.get("secret")
    await callback_intake.evolution_callback(
        container, number_id=number_id, raw=await request.body(), secret=secret
    )
    return _ACK


@router.post(
    "/evolution-go/{number_id}",
    responses=error_responses((400, "VALIDATION_ERROR"), (401, "INVALID_SIGNATURE")),
)
async def evolution_go_callback(number_id: str, request: Request, container: ContainerDep) -> Any:
    """Evolution GO callbacks for one number."""
    await callback_intake.evolution_go_callback(container, number_id=number_id, raw=await request.body())
    return _ACK
