"""``/api-keys``: the workspace (tenant) key and one key per number, masked; rotating one shows
the new key once. The dashboard's own sign-in does not use these keys, so rotating the tenant
key here does not sign anyone out."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import Response

from zapgate.domain.keys import MaskedKey
from zapgate.domain.numbers import Number
from zapgate.services import keys
from zapgate.web.dashboard import core
from zapgate.web.deps import ContainerDep

router = core.page_router()


async def _number_keys(container: Any, workspace_id: str) -> list[tuple[Number, MaskedKey]]:
    """Each live number with its masked key(s), numbers oldest first."""
    rows = []
    for number in await core.workspace_numbers(container, workspace_id):
        for found in await keys.list_for_number(container, workspace_id=workspace_id, number_id=number.id):
            rows.append((number, found.key))
    return rows


@router.get("/api-keys")
async def list_page(request: Request, container: ContainerDep, session: core.Session) -> Response:
    return core.render(
        request,
        "keys/index.html",
        {
            "title": "API keys",
            "tenant_key": await keys.tenant_key(container, workspace_id=session.workspace_id),
            "number_keys": await _number_keys(container, session.workspace_id),
        },
    )


# -- rotating ---------------------------------------------------------------------------------


def _confirm(request: Request, action: str, subject: str, *, tenant: bool) -> Response:
    return core.render(
        request,
        "keys/rotate.html",
        {"title": "Rotate " + subject, "action": action, "subject": subject, "tenant": tenant},
    )


def _rotated(request: Request, heading: str, raw: str, *, tenant: bool) -> Response:
    response = core.render(
        request, "keys/rotated.html", {"title": heading, "heading": heading, "raw": raw, "tenant": tenant}
    )
    response.headers["Cache-Control"] = "no-store"  # the key must not stay in a cache
    return response


async def _number(container: Any, workspace_id: str, number_id: str) -> Any:
    return core.pick_number(await core.workspace_numbers(container, workspace_id), number_id)


@router.get("/api-keys/tenant/rotate")
async def confirm_tenant(request: Request, session: core.Session) -> Response:
    return _confirm(request, "/api-keys/tenant/rotate", "the workspace key", tenant=True)


@router.post("/api-keys/tenant/rotate")
async def rotate_tenant(request: Request, container: ContainerDep, session: core.FormSession) -> Response:
    issued = await keys.rotate_tenant_key(container, workspace_id=session.workspace_id)
    return _rotated(request, "New workspace key", issued.raw, tenant=True)


@router.get("/api-keys/numbers/{number_id}/rotate")
async def confirm_number(
    request: Request, container: ContainerDep, session: core.Session, number_id: str
) -> Response:
    number = await _number(container, session.workspace_id, number_id)
    return _confirm(
        request,
        f"/api-keys/numbers/{number.id}/rotate",
        f"the key of {number.name} (+{number.number})",
        tenant=False,
    )


@router.post("/api-keys/numbers/{number_id}/rotate")
async def rotate_number(
    request: Request, container: ContainerDep, session: core.FormSession, number_id: str
) -> Response:
    number = await _number(container, session.workspace_id, number_id)
    rotated = await keys.rotate_number_key(container, workspace_id=session.workspace_id, number_id=number.id)
    return _rotated(request, f"New key for {number.name} (+{number.number})", rotated.raw, tenant=False)
