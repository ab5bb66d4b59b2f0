"""Request guards: body size limit, per-key rate limit, request ids and security headers."""

from __future__ import annotations

import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zapgate import errors
from zapgate.web.errors import error_response, unexpected_response


class RateLimiter:
    """Token bucket per API key, in memory on each node (429 ``RATE_LIMITED`` with Retry-After)."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}

    def check(self, key_id: str) -> None:
        now = time.monotonic()
        tokens, last = self._buckets.get(key_id, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if tokens < 1:
            retry = max(1, int((1 - tokens) / self._rate + 0.999))
            self._buckets[key_id] = (tokens, now)
            raise errors.RateLimited("Rate limit exceeded", retry_after=retry)
        self._buckets[key_id] = (tokens - 1, now)


NUL_SEEN = "nul_in_path_or_query"
NUL_IN_URL = "The path and query must not contain the NUL character (%00)"


class GuardMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware overhead on the hot path).

    The body limit holds however the body arrives: a declared ``Content-Length`` over the limit
    is refused before anything is read, and a body streamed without one (``Transfer-Encoding:
    chunked``) is counted as it is received and refused (413) as soon as it passes the limit,
    so no route ever holds more than ``max_body_bytes`` of it.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self._too_large = f"Request body is too large (limit {_size(max_body_bytes)})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body_bytes:
                response = error_response(errors.PayloadTooLarge(self._too_large))
                await response(scope, receive, send)
                return
        if "\x00" in scope["path"] or b"%00" in scope["query_string"]:
            # No database stores it (PostgreSQL refuses it in text), and no id or filter has it.
            # The API refuses it after authentication (a request without a usable key is a 401,
            # whatever else is wrong with it): see ``web.deps.get_principal``.
            if scope["path"].startswith("/v1/"):
                scope.setdefault("state", {})[NUL_SEEN] = True
            else:
                await error_response(errors.ValidationFailed(NUL_IN_URL))(scope, receive, send)
                return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        started = False
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self._too_large)
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge as exc:
            # Routes answer it themselves through the error handlers; this covers a reader
            # that let it escape before answering.
            if started:
                raise
            await error_response(exc)(scope, receive, send_with_headers)
        except Exception as exc:
            # What no handler expected, for every route: 503 while the database is away
            # (logged once per outage), else 500 with the traceback logged once, here (past
            # this point Starlette would answer and then re-raise it to the server, which
            # logs it again).
            if started:
                raise
            where = f"{scope.get('method', '')} {scope['path']}"
            await unexpected_response(exc, where)(scope, receive, send_with_headers)


class BodyTooLarge(errors.PayloadTooLarge):
    """Raised from ``receive`` when a streamed body passes the limit."""


def _size(limit: int) -> str:
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if limit % scale == 0:
            return f"{limit // scale} {unit}"
    return f"{limit} bytes"
