"""HTTP statuses for the error tree, and the ``{error, code}`` body for every failure."""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from zapgate import errors
from zapgate.storage.database import is_unavailable

_log = logging.getLogger("zapgate.web")

STATUS: dict[type[errors.ZapgateError], int] = {
    errors.ValidationFailed: 400,
    errors.Unauthorized: 401,
    errors.PaymentRequired: 402,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.RateLimited: 429,
    errors.NotSupported: 501,
    errors.Unavailable: 503,
}

_HTTP_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
}


def status_of(exc: errors.ZapgateError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


def error_response(exc: errors.ZapgateError) -> Response:
    headers = None
    if isinstance(exc, errors.RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    return json_response(status_of(exc), exc.body(), headers)


def install(app: FastAPI) -> None:
    async def on_zapgate(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.ZapgateError)
        return error_response(exc)

    async def on_validation(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        details = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body",
                "message": str(e.get("msg", "invalid")),
            }
            for e in exc.errors()
        ]
        return json_response(
            400, {"error": "Invalid request", "code": "VALIDATION_ERROR", "details": details}
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        page = getattr(request.app.state, "not_found_page", None)
        if exc.status_code == 404 and page is not None and wants_page(request):
            response: Response = await page(request)
            return response
        code = _HTTP_CODES.get(exc.status_code, f"HTTP_{exc.status_code}")
        return json_response(
            exc.status_code, {"error": str(exc.detail), "code": code}, dict(exc.headers or {})
        )

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        return unexpected_response(exc, f"{request.method} {request.url.path}")

    app.add_exception_handler(errors.ZapgateError, on_zapgate)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


# Paths whose unknown sub-paths answer the API's JSON 404 whatever the client accepts.
API_PREFIXES = ("/v1/", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc")


def wants_page(request: Request) -> bool:
    """Whether a 404 is the dashboard's HTML page: not under the API, and asked for by a
    browser (``Accept`` names ``text/html``). Every other client (``*/*``, no ``Accept``, JSON)
    keeps the ``{error, code}`` JSON, as the API promises for every path."""
    path = request.url.path
    if path == "/v1" or path.startswith(API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


# Seconds a client is told to wait when the database is unavailable.
RETRY_AFTER_SECONDS = 2


def unexpected_response(exc: BaseException, where: str) -> Response:
    """An exception no handler expected: ``503 DATABASE_UNAVAILABLE`` (with ``Retry-After``)
    when the database cannot be reached, logged once per outage; else ``500 INTERNAL_ERROR``,
    logged with its traceback."""
    if is_unavailable(exc):
        _outages.seen(exc)
        return json_response(
            503,
            {
                "error": "The database is unavailable right now; nothing was changed. Try again shortly.",
                "code": "DATABASE_UNAVAILABLE",
            },
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    _log.exception("unhandled error in %s", where, exc_info=exc)
    return json_response(500, {"error": "Internal server error", "code": "INTERNAL_ERROR"})


class _OutageLog:
    """One warning per database outage, not one traceback per request: an outage is a run of
    failures with no gap longer than ``QUIET_SECONDS`` between them."""

    QUIET_SECONDS = 30.0

    def __init__(self) -> None:
        self._last: float | None = None
        self._refused = 0

    def seen(self, exc: BaseException) -> None:
        now = time.monotonic()
        if self._last is None or now - self._last > self.QUIET_SECONDS:
            if self._refused:
                _log.info("the previous database outage refused %d request(s)", self._refused)
            self._refused = 0
            _log.warning(
                "the database is unavailable (%s: %s); answering 503 "
                "DATABASE_UNAVAILABLE until it is back (logged once per outage)",
                type(exc).__name__,
                str(exc).splitlines()[0][:200] if str(exc) else "",
            )
        self._last = now
        self._refused += 1


_outages = _OutageLog()


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "code"],
    "properties": {
        "error": {"type": "string", "description": "Human-readable message; do not branch on it"},
        "code": {"type": "string", "description": "Stable machine-readable code"},
        "details": {"description": "Field problems or extra data, when relevant"},
    },
}


def error_responses(*codes: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting the real error shape and codes of a route."""
    out: dict[int | str, dict[str, Any]] = {}
    for status, code_list in codes:
        out[status] = {
            "description": code_list,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return out
