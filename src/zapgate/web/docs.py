"""``/docs``: Swagger UI for the OpenAPI document, served from the package.

FastAPI's default page loads Swagger UI from a public CDN (blank offline, and every visit is
announced to a third party). Here the vendored copy in ``swagger_ui/`` (see its README) is served
under ``/docs/static``, and the online validator badge, which would send the document's URL to
validator.swagger.io, is off.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS_DIR = Path(__file__).parent / "swagger_ui"
DOCS_PATH = "/docs"
ASSETS_PATH = f"{DOCS_PATH}/static"


def install(app: FastAPI) -> None:
    """Add ``/docs`` and its assets (create the app with ``docs_url=None, redoc_url=None``)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=str(ASSETS_DIR)), name="docs-static")

    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} API reference",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )

    app.add_route(DOCS_PATH, docs, include_in_schema=False)
