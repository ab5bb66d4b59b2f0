"""The web dashboard: server-rendered pages (Jinja2 + HTMX, no build step) over the same services
the API uses. Each page module has a ``router``; ``install`` mounts them and the static files."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from zapgate.web.dashboard import (
    auth,
    conversations,
    core,
    keys,
    messages,
    numbers,
    overview,
    send,
    site,
    templates_page,
    webhooks,
)

PAGES = (auth, overview, numbers, keys, templates_page, conversations, messages, webhooks, send, site)


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(core.STATIC_DIR)), name="static")
    for page in PAGES:
        app.include_router(page.router)
    # web/errors.py answers an unknown path a browser asked for with this page.
    app.state.not_found_page = site.not_found
