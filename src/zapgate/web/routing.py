"""A documented route that runs as plain ASGI, for the one endpoint every client hammers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


class DirectRoute(APIRoute):
    """An ``APIRoute`` (documented in the OpenAPI from its options, matched by the app's router
    inside the whole middleware stack) whose endpoint takes the ``Request`` itself and does its
    steps in line: FastAPI's per-request machinery (dependency solving, body parsing, response
    validation) is skipped, which is most of the framework's cost of a request. Errors propagate
    to the app's exception handlers like every route's."""

    def __init__(self, path: str, endpoint: Endpoint, **options: Any) -> None:
        super().__init__(path, endpoint, **options)

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            response = await endpoint(Request(scope, receive, send))
            await response(scope, receive, send)

        self.app = app
