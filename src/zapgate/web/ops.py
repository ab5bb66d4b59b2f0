"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from zapgate.storage import migrate
from zapgate.web.errors import json_response

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> Any:
    """Liveness: answers as soon as the server listens."""
    return {"ok": True}


@router.get("/readyz")
async def readyz(request: Request) -> Any:
    """Readiness: the database answers and its schema is at the latest migration."""
    container = request.app.state.container
    try:
        await container.db.ping()
        current = await migrate.is_current(container.db)
    except Exception as exc:  # any database failure means not ready
        return json_response(
            503, {"ok": False, "error": f"database: {type(exc).__name__}", "code": "NOT_READY"}
        )
    if not current or not request.app.state.ready:
        return json_response(
            503, {"ok": False, "error": "migrations pending or starting", "code": "NOT_READY"}
        )
    return {"ok": True}


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    container = request.app.state.container
    return Response(generate_latest(container.metrics.registry), media_type=CONTENT_TYPE_LATEST)
