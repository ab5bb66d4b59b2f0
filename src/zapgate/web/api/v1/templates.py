"""Templates API (``/v1/templates``): a number key, or the tenant key with
``x-whatsapp-number-id``. ``{template_ref}`` is a template's id or its name."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from zapgate.services import templates
from zapgate.web import openapi
from zapgate.web.deps import ContainerDep, JsonBody, ReadNumberIdDep
from zapgate.web.errors import error_responses, json_response
from zapgate.web.schemas import templates as schemas
from zapgate.web.views import templates as views

router = APIRouter(prefix="/v1/templates", tags=["templates"])

_AUTH = ((401, "UNAUTHORIZED"), (403, "TENANT_SCOPE_NOT_ALLOWED"), (429, "RATE_LIMITED"))
_NOT_FOUND = (404, "TEMPLATE_NOT_FOUND")


@router.get(
    "",
    responses={
        **openapi.response(schemas.TemplateList, "The number's templates"),
        **error_responses(*_AUTH),
    },
)
async def list_templates(container: ContainerDep, number_id: ReadNumberIdDep) -> Any:
    """The number's templates (deleted ones excluded), oldest first."""
    return views.items(await templates.list_templates(container, number_id=number_id))


@router.post(
    "",
    status_code=201,
    openapi_extra=openapi.request_body(schemas.TemplateCreate),
    responses={
        **openapi.response(schemas.Template, "Created", 201),
        **error_responses(
            (400, "VALIDATION_ERROR | TEMPLATE_EXAMPLES_REQUIRED"),
            *_AUTH,
            (404, "LINKED_WHATSAPP_INSTANCE_NOT_FOUND"),
            (409, "TEMPLATE_NAME_TAKEN"),
            (413, "PAYLOAD_TOO_LARGE"),
        ),
    },
)
async def create_template(container: ContainerDep, number_id: ReadNumberIdDep, body: JsonBody) -> Any:
    """Create a template. On official numbers it starts PENDING (approval); elsewhere it is
    usable at once."""
    new = views.new_template(body)
    created = await templates.create(container, number_id=number_id, new=new)
    return json_response(201, views.item(created))


@router.get(
    "/{template_ref}",
    responses={**openapi.response(schemas.Template, "The template"), **error_responses(*_AUTH, _NOT_FOUND)},
)
async def get_template(template_ref: str, container: ContainerDep, number_id: ReadNumberIdDep) -> Any:
    """A template of the number, by id or name."""
    return views.item(await templates.get(container, number_id=number_id, ref=template_ref))


@router.get(
    "/{template_ref}/versions",
    responses={
        **openapi.response(schemas.TemplateVersions, "Every version, newest first"),
        **error_responses(*_AUTH, _NOT_FOUND),
    },
)
async def template_versions(template_ref: str, container: ContainerDep, number_id: ReadNumberIdDep) -> Any:
    """The template's version history (additive endpoint)."""
    return views.history(await templates.versions(container, number_id=number_id, ref=template_ref))


_META_TROUBLE = (503, "UPSTREAM_ERROR | UPSTREAM_TIMEOUT | PROVIDER_NOT_CONFIGURED | PROVIDER_AUTH_FAILED")


@router.put(
    "/{template_ref}",
    openapi_extra=openapi.request_body(schemas.TemplateUpdate),
    responses={
        **openapi.response(schemas.Template, "Updated"),
        **error_responses(
            (400, "VALIDATION_ERROR | TEMPLATE_EXAMPLES_REQUIRED | TEMPLATE_CATEGORY_IMMUTABLE"),
            *_AUTH,
            _NOT_FOUND,
            (409, "TEMPLATE_NAME_TAKEN | TEMPLATE_NOT_EDITABLE"),
            (413, "PAYLOAD_TOO_LARGE"),
            _META_TROUBLE,
        ),
    },
)
async def update_template(
    template_ref: str, container: ContainerDep, number_id: ReadNumberIdDep, body: JsonBody
) -> Any:
    """Replace the content: a new version (PENDING again where approval is needed). On Meta
    numbers the template Meta already has is edited (same Meta id, reviewed again); Meta only
    edits APPROVED, REJECTED or PAUSED templates, otherwise 409 TEMPLATE_NOT_EDITABLE and
    nothing changes."""
    change = views.template_change(body)
    updated = await templates.update(container, number_id=number_id, ref=template_ref, change=change)
    return views.item(updated)


@router.delete(
    "/{template_ref}",
    responses={
        **openapi.response(schemas.TemplateDeleted, "Deleted"),
        **error_responses(*_AUTH, _NOT_FOUND, (409, "TEMPLATE_NOT_DELETABLE"), _META_TROUBLE),
    },
)
async def delete_template(template_ref: str, container: ContainerDep, number_id: ReadNumberIdDep) -> Any:
    """Delete a template (soft): it can no longer be sent and its name is free again. On Meta
    numbers it is deleted at Meta first; when Meta refuses (409 TEMPLATE_NOT_DELETABLE) or
    cannot be reached (503) the template is kept, so retry the delete later."""
    return views.deleted(await templates.delete(container, number_id=number_id, ref=template_ref))
