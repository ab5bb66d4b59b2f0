"""Groups, channels and number checks of a number (its provider's directory)."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query

from zapgate.services import directory, media
from zapgate.web import openapi
from zapgate.web.deps import ContainerDep, JsonBody, PrincipalDep, ReadNumberIdDep
from zapgate.web.errors import error_responses
from zapgate.web.schemas import directory as schemas
from zapgate.web.views import directory as views

router = APIRouter(tags=["groups and channels"])

_LIST_ERRORS = error_responses(
    (400, "NOT_SUPPORTED_FOR_META | NOT_SUPPORTED"),
    (401, "UNAUTHORIZED"),
    (403, "TENANT_SCOPE_NOT_ALLOWED"),
    (409, "WHATSAPP_INSTANCE_NOT_CONNECTED"),
    (501, "NOT_SUPPORTED (channels on Evolution API v2)"),
    (503, "UPSTREAM_ERROR"),
)


@router.get("/v1/groups", responses=_LIST_ERRORS)
async def list_groups(container: ContainerDep, principal: PrincipalDep, number_id: ReadNumberIdDep) -> Any:
    """The groups the number belongs to, as its provider lists them (``[{id, subject}]`` plus
    the additive ``size``), kept for 30 s. Evolution numbers and the sandbox; not Meta."""
    found = await directory.groups(container, workspace_id=principal.workspace_id, number_id=number_id)
    return views.groups(found)


@router.get("/v1/newsletters", responses=_LIST_ERRORS)
async def list_newsletters(
    container: ContainerDep, principal: PrincipalDep, number_id: ReadNumberIdDep
) -> Any:
    """The WhatsApp channels the number follows (``[{id, name}]``), kept for 30 s. Evolution GO
    and the sandbox (Evolution API v2 cannot list channels: 501); not Meta."""
    found = await directory.newsletters(container, workspace_id=principal.workspace_id, number_id=number_id)
    return views.newsletters(found)


@router.post(
    "/v1/numbers/check",
    openapi_extra=openapi.request_body(schemas.NumberCheck),
    responses=error_responses(
        (400, "VALIDATION_ERROR | NOT_SUPPORTED_FOR_META"),
        (401, "UNAUTHORIZED"),
        (403, "TENANT_SCOPE_NOT_ALLOWED"),
        (409, "WHATSAPP_INSTANCE_NOT_CONNECTED"),
        (503, "UPSTREAM_ERROR"),
    ),
)
async def check_numbers(
    container: ContainerDep, principal: PrincipalDep, number_id: ReadNumberIdDep, body: JsonBody
) -> Any:
    """Which phone numbers have WhatsApp: ``{numbers: [1-20]}`` or ``{number}`` →
    ``{results: [{input, exists, number, name}]}`` (``number``: WhatsApp's own form, E.164, which
    for a Brazilian mobile may lack or add the 9th digit; both forms are tried; additive
    ``jid``). Input that is not a phone number comes back ``exists: false`` with ``error``."""
    asked = views.numbers_to_check(body)
    results = await directory.check(
        container, workspace_id=principal.workspace_id, number_id=number_id, asked=asked
    )
    return views.check_results(results)


@router.get(
    "/v1/media/{media_id}",
    tags=["media"],
    responses=error_responses(
        (400, "VALIDATION_ERROR"),
        (401, "UNAUTHORIZED"),
        (403, "TENANT_SCOPE_NOT_ALLOWED"),
        (404, "MEDIA_NOT_FOUND"),
        (413, "MEDIA_TOO_LARGE"),
        (503, "UPSTREAM_ERROR"),
    ),
)
async def download_media(
    media_id: str,
    container: ContainerDep,
    principal: PrincipalDep,
    number_id: ReadNumberIdDep,
    phoneNumberId: Annotated[str | None, Query()] = None,
) -> Any:
    """An inbound message's media (the ``mediaId`` and ``phoneNumberId`` of its webhook) up to
    ``ZAPGATE_MEDIA_MAX_BYTES``: ``{base64 (a data URI), mimeType, fileName, mediaId}``. Kept by
    Zapgate when the provider handed the bytes over with the message (Evolution GO, the
    sandbox, Evolution API v2 with base64 webhooks) and the number's PII mode stores content;
    otherwise read from the provider (Meta: within 7 days; Evolution API v2; Evolution GO's
    S3/MinIO link)."""
    found = await media.download(
        container,
        workspace_id=principal.workspace_id,
        number_id=number_id,
        media_id=media_id,
        phone_number_id=phoneNumberId,
    )
    encoded = base64.b64encode(found.content).decode()
    return {
        "base64": f"data:{found.mime_type};base64,{encoded}",
        "mimeType": found.mime_type,
        "fileName": found.file_name,
        "mediaId": media_id,
    }
