from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from zapgate import errors
from zapgate.container import Container
from zapgate.domain.numbers import PRIMARY
from zapgate.services import number_changes, numbers
from zapgate.web import openapi
from zapgate.web.deps import ContainerDep, JsonBody, PrincipalDep, TenantDep, json_body
from zapgate.web.errors import error_responses, json_response
from zapgate.web.schemas import numbers as schemas
from zapgate.web.views import numbers as views
from zapgate.web.views import webhooks as webhook_views

router = APIRouter(prefix="/v1/numbers", tags=["numbers"])

# The errors of creating a number (here and with a remote pairing link).
CREATE_ERRORS = error_responses(
    (400, "VALIDATION_ERROR"),
    (401, "UNAUTHORIZED"),
    (403, "NUMBER_SCOPE_NOT_ALLOWED"),
    (409, "NUMBER_ALREADY_EXISTS | NUMBER_LIMIT_EXCEEDED"),
    (503, "PROVIDER_NOT_CONFIGURED | UPSTREAM_TIMEOUT | UPSTREAM_ERROR | PROVIDER_LICENSE_REQUIRED"),
)


@router.post(
    "",
    status_code=201,
    openapi_extra=openapi.request_body(schemas.NumberCreate),
    responses=CREATE_ERRORS,
)
async def create_number(container: ContainerDep, principal: TenantDep, body: JsonBody) -> Any:
    """Create a number. A sandbox number is connected at once; an Evolution v2 / GO number gets
    an instance at the provider and comes back with ``qrcodeBase64`` / ``pairingCode`` to link
    the phone. The number's API key is returned this once."""
    add = views.new_number(body)
    webhook = webhook_views.endpoint_of_new_number(body, settings=container.settings)
    created = await numbers.create_number(
        container, workspace_id=principal.workspace_id, add=add, webhook=webhook
    )
    return json_response(201, views.created(created, cloud_api=False))


@router.post(
    "/meta",
    status_code=201,
    openapi_extra=openapi.request_body(schemas.MetaNumberCreate),
    responses=error_responses(
        (400, "VALIDATION_ERROR | PROVIDER_AUTH_FAILED | META_NUMBER_NOT_FOUND"),
        (401, "UNAUTHORIZED"),
        (403, "NUMBER_SCOPE_NOT_ALLOWED"),
        (409, "NUMBER_ALREADY_EXISTS | NUMBER_LIMIT_EXCEEDED"),
        (503, "UPSTREAM_ERROR | UPSTREAM_TIMEOUT"),
    ),
)
async def register_meta_number(container: ContainerDep, principal: TenantDep, body: JsonBody) -> Any:
    """Register a bring-your-own Meta Cloud API number. The credentials are checked against the
    Graph API, stored encrypted and never returned."""
    add = views.new_meta_number(body)
    webhook = webhook_views.endpoint_of_new_number(body, settings=container.settings)
    created = await numbers.register_meta_number(
        container, workspace_id=principal.workspace_id, add=add, webhook=webhook
    )
    return json_response(201, views.created(created, cloud_api=True))


@router.get("", responses=error_responses((401, "UNAUTHORIZED")))
async def list_numbers(container: ContainerDep, principal: PrincipalDep) -> Any:
    """The workspace's numbers (a number key sees only its own number)."""
    only = principal.number_id if principal.scope == "number" else None
    listed = await numbers.list_numbers(container, workspace_id=principal.workspace_id, only_number_id=only)
    return [views.list_item(item) for item in listed]


@router.get("/{number_id}", responses=error_responses((401, "UNAUTHORIZED"), (404, "NUMBER_NOT_FOUND")))
async def get_number(number_id: str, container: ContainerDep, principal: PrincipalDep) -> Any:
    if principal.scope == "number" and principal.number_id != number_id:
        raise errors.NotFound("Number not found", code="NUMBER_NOT_FOUND")
    return await _detail(container, principal.workspace_id, number_id)


async def _detail(container: Container, workspace_id: str, number_id: str) -> dict[str, Any]:
    number = await numbers.get_row(container, workspace_id, number_id)
    return views.detail(number, cloud_api=container.providers.features(number.provider).cloud_api)


def _own(principal: Any, number_id: str) -> None:
    if principal.scope == "number" and principal.number_id != number_id:
        raise errors.NotFound("Number not found", code="NUMBER_NOT_FOUND")


LinkQuery = Annotated[
    Literal["primary", "secondary"] | None,
    Query(description="which link of the number: primary (the default) or secondary (dual numbers)"),
]


@router.post(
    "/{number_id}/upgrade-to-dual",
    status_code=201,
    responses=error_responses(
        (400, "NOT_SUPPORTED_FOR_META"),
        (401, "UNAUTHORIZED"),
        (404, "NUMBER_NOT_FOUND"),
        (409, "DUAL_LINK_EXISTS"),
        (501, "NOT_SUPPORTED"),
        (503, "PROVIDER_NOT_CONFIGURED | UPSTREAM_TIMEOUT | UPSTREAM_ERROR | PROVIDER_LICENSE_REQUIRED"),
    ),
)
async def upgrade_to_dual(number_id: str, container: ContainerDep, principal: PrincipalDep) -> Any:
    """Add a secondary link to a QR-paired number: a second linked device on the same phone (a
    second instance at the provider). Answers the QR code and pairing code to link it as
    ``secondaryLink``. While the primary link is down, the number sends through the secondary
    one; it is disconnected only when both are."""
    _own(principal, number_id)
    found = await numbers.upgrade_to_dual(container, workspace_id=principal.workspace_id, number_id=number_id)
    return json_response(201, views.upgraded_to_dual(found))


@router.get(
    "/{number_id}/connect",
    responses=error_responses(
        (400, "NOT_SUPPORTED_FOR_META"),
        (401, "UNAUTHORIZED"),
        (404, "NUMBER_NOT_FOUND | SECONDARY_LINK_NOT_FOUND"),
        (409, "NUMBER_ALREADY_CONNECTED"),
        (503, "PROVIDER_NOT_CONFIGURED | UPSTREAM_TIMEOUT | UPSTREAM_ERROR | PROVIDER_LICENSE_REQUIRED"),
    ),
)
async def connect_number(
    number_id: str, container: ContainerDep, principal: PrincipalDep, link: LinkQuery = None
) -> Any:
    """A fresh QR code (``data:image/png;base64,...``) and pairing code for one link of a
    QR-paired number (``link=secondary``: its second device, after ``upgrade-to-dual``)."""
    _own(principal, number_id)
    found = await numbers.connect(
        container, workspace_id=principal.workspace_id, number_id=number_id, link=link or PRIMARY
    )
    return views.pairing_codes(found)


@router.get(
    "/{number_id}/status",
    responses=error_responses(
        (401, "UNAUTHORIZED"),
        (404, "NUMBER_NOT_FOUND | SECONDARY_LINK_NOT_FOUND"),
        (503, "PROVIDER_NOT_CONFIGURED | UPSTREAM_TIMEOUT | UPSTREAM_ERROR | PROVIDER_LICENSE_REQUIRED"),
    ),
)
async def number_status(
    number_id: str, container: ContainerDep, principal: PrincipalDep, link: LinkQuery = None
) -> Any:
    """One link's state: a live reading from the provider (``stale: false``) for Evolution
    numbers, the last known state (``stale: true``) otherwise. ``isFullyConnected``: every link
    of the number is OPEN."""
    _own(principal, number_id)
    found = await numbers.link_status(
        container, workspace_id=principal.workspace_id, number_id=number_id, link=link or PRIMARY
    )
    return views.link_reading(found)


async def _patch_body(request: Request) -> Any:
    """Like ``JsonBody``, but an empty body is an empty patch (``EMPTY_PATCH``), not bad JSON."""
    if not (await request.body()).strip():
        return {}
    return await json_body(request)


@router.patch(
    "/{number_id}",
    openapi_extra=openapi.request_body(schemas.NumberPatch),
    responses=error_responses(
        (400, "VALIDATION_ERROR | EMPTY_PATCH"), (401, "UNAUTHORIZED"), (404, "NUMBER_NOT_FOUND")
    ),
)
async def patch_number(
    number_id: str,
    container: ContainerDep,
    principal: PrincipalDep,
    body: Annotated[Any, Depends(_patch_body)],
) -> Any:
    """Change any of: ``pacePerSecond`` (messages per second; null = the provider's default,
    about one every 1-3 s on Evolution numbers, 80/s on Meta), ``piiMode`` /
    ``piiRetentionDays``, and ``settings`` (merged; null on an Evolution GO setting resets it to
    the provider's default)."""
    _own(principal, number_id)
    try:
        patch = views.patch(body)
    except errors.ValidationFailed:
        # A number that is not there is a 404 before its patch is looked at, as ever.
        await numbers.get_row(container, principal.workspace_id, number_id)
        raise
    number = await number_changes.patch_number(
        container, workspace_id=principal.workspace_id, number_id=number_id, patch=patch
    )
    return views.detail(number, cloud_api=container.providers.features(number.provider).cloud_api)


@router.delete(
    "/{number_id}",
    responses=error_responses(
        (401, "UNAUTHORIZED"), (403, "NUMBER_SCOPE_NOT_ALLOWED"), (404, "NUMBER_NOT_FOUND")
    ),
)
async def delete_number(number_id: str, container: ContainerDep, principal: TenantDep) -> Any:
    """Soft-delete the number: it stops sending and its key stops working at once; it can be
    restored for 30 days (``restorableUntil``)."""
    found = await number_changes.delete_number(
        container, workspace_id=principal.workspace_id, number_id=number_id
    )
    return views.deleted(found)


@router.post(
    "/{number_id}/restore",
    responses=error_responses(
        (401, "UNAUTHORIZED"),
        (403, "NUMBER_SCOPE_NOT_ALLOWED"),
        (404, "NUMBER_NOT_FOUND"),
        (409, "NUMBER_ALREADY_ACTIVE | NUMBER_ALREADY_EXISTS | NUMBER_LIMIT_EXCEEDED"),
    ),
)
async def restore_number(number_id: str, container: ContainerDep, principal: TenantDep) -> Any:
    """Bring back a soft-deleted number with its key, history and settings (404 once the
    30-day window has passed). ``requiresReconnect``: the phone must be paired again."""
    found = await number_changes.restore_number(
        container, workspace_id=principal.workspace_id, number_id=number_id
    )
    return views.restored(found)


@router.delete(
    "/{number_id}/purge",
    responses=error_responses(
        (401, "UNAUTHORIZED"), (403, "NUMBER_SCOPE_NOT_ALLOWED"), (404, "NUMBER_NOT_FOUND")
    ),
)
async def purge_number(number_id: str, container: ContainerDep, principal: TenantDep) -> Any:
    """Delete the number for good, deleted or not: its key, messages, templates and webhooks
    go with it, and an Evolution instance is removed at the provider. Irreversible."""
    await number_changes.purge_number(container, workspace_id=principal.workspace_id, number_id=number_id)
    return {"ok": True}
