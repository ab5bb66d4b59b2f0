"""The ASGI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from zapgate import __version__
from zapgate.container import Container, build_container
from zapgate.settings import Settings
from zapgate.storage import migrate
from zapgate.web import dashboard, docs, inbox, openapi
from zapgate.web import errors as web_errors
from zapgate.web.api.v1 import (
    analytics,
    api_keys,
    directory,
    messages,
    numbers,
    projects,
    remote_pairing,
    sandbox,
    templates,
    unsupported,
    webhooks,
)
from zapgate.web.middleware import GuardMiddleware, RateLimiter
from zapgate.web.ops import router as ops_router
from zapgate.workers.build import build_runner


def create_app(
    settings: Settings | None = None, *, container: Container | None = None, migrate_on_start: bool = True
) -> FastAPI:
    settings = settings or (container.settings if container else Settings())
    container = container or build_container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate_on_start:
            await migrate.upgrade(container.db)
        await container.start()
        runner = build_runner(container) if settings.run_workers else None
        if runner is not None:
            runner.start()
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            if runner is not None:
                await runner.stop()
            await container.close()

    app = FastAPI(
        title="Zapgate",
        version=__version__,
        lifespan=lifespan,
        description="Self-hosted WhatsApp gateway speaking the Pilot Status API v1. "
        "Authenticate with the `x-api-key` header.",
        docs_url=None,
        redoc_url=None,
        # Zapgate's metrics are Prometheus (/metrics); FastAPI's OpenTelemetry hooks would
        # otherwise be consulted (environment reads) on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.container = container
    app.state.ready = False
    app.state.rate_limiter = (
        RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        if settings.rate_limit_per_second > 0
        else None
    )
    web_errors.install(app)
    app.add_middleware(GuardMiddleware, max_body_bytes=settings.max_body_bytes)
    messages.add_send_route(app)  # first: the route every client hammers is matched first
    for module in (
        messages,
        directory,  # before numbers: POST /v1/numbers/check
        remote_pairing,  # before numbers: POST /v1/numbers/remote-pairing
        numbers,
        api_keys,
        projects,
        templates,
        webhooks,
        sandbox,
        analytics,
        unsupported,
    ):
        app.include_router(module.router)
    app.include_router(inbox.router(container.providers))
    app.include_router(ops_router)
    dashboard.install(app)
    docs.install(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = web_errors.ERROR_SCHEMA
    components["securitySchemes"] = {
        "ApiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
        "ApiKeyId": {"type": "apiKey", "in": "header", "name": "x-api-key-id"},
    }
    schema["security"] = [{"ApiKey": []}, {"ApiKeyId": []}]
    app.openapi_schema = openapi.tidy(schema)
    return schema
