"""The baseline for bench/send_vs_echo.py: the smallest Starlette app that parses a posted JSON
body and returns it. Run with uvicorn, single process, --no-access-log."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def echo(request: Request) -> JSONResponse:
    return JSONResponse(await request.json())


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


app = Starlette(routes=[Route("/v1/messages/send", echo, methods=["POST"]), Route("/healthz", healthz)])
