"""``/``: the overview."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from zapgate.web.dashboard import core
from zapgate.web.deps import ContainerDep

router = core.page_router()


@router.get("/")
async def overview(request: Request, container: ContainerDep, session: core.Session) -> Response:
    numbers = await core.workspace_numbers(container, session.workspace_id)
    return core.render(request, "overview/index.html", {"title": "Overview", "numbers": numbers})
