"""What the dashboard answers besides its pages: the favicon, and the HTML 404 page the error
handler shows for an unknown path a browser asked for (``web/errors.py``; the API's paths keep
their JSON)."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import FileResponse, Response

from zapgate.services import users
from zapgate.web.dashboard import core

router = core.page_router()

FAVICON = core.STATIC_DIR / "favicon.svg"


@router.get("/favicon.ico")
async def favicon() -> Response:
    return FileResponse(
        FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


async def not_found(request: Request) -> Response:
    """The 404 page in the dashboard's layout (with the navigation when signed in)."""
    container = getattr(request.app.state, "container", None)
    if container is not None and getattr(request.state, "dash", None) is None:
        session = await users.resolve(container, request.cookies.get(core.COOKIE))
        if session is not None:
            request.state.dash = session
    return core.render(
        request,
        "error.html",
        {
            "heading": "Page not found",
            "message": f"There is no page at {request.url.path}.",
            "back": "/",
            "back_label": "Go to the overview",
        },
        status=404,
    )
