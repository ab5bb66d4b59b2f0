"""Templates API (``/v1/templates``): a number key, or the tenant key with
``x-whatsapp-number-id``. ``{template_ref}`` is a template's id or its name."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from zapgate.services import templates
from zapgate.web.deps import ContainerDep, JsonBody, ReadNumberIdDep
from zapgate.web.errors import error_responses, json_response
from zapgate.web.openapi import body_schema

router = APIRouter(prefix="/v1/templates", tags=["templates"])

_VARIABLE_NOTE = "Variables are named: {{nome}}."
_HEADER: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "description": "TEXT: text (<= 60 characters, at most one variable, no line breaks). "
    "IMAGE (JPG/PNG), VIDEO (MP4), DOCUMENT (PDF): url (http/https) or base64 "
    "(data URI).",
    "properties": {
        "type": {"type": "string", "enum": ["NONE", "TEXT", "IMAGE", "VIDEO", "DOCUMENT"]},
        "text": {"type": "string", "maxLength": 60},
        "url": {"type": "string", "format": "uri"},
        "base64": {"type": "string", "example": "data:image/png;base64,iVBORw0KGgo..."},
    },
}
_BUTTON: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "description": "At most 10 buttons: QUICK_REPLY <= 10, URL <= 2 (a dynamic URL ends with "
    "one variable), PHONE_NUMBER <= 1 (E.164), COPY_CODE <= 1 (example: "
    "letters and digits, <= 15).",
    "properties": {
        "type": {"type": "string", "enum": ["QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE"]},
        "text": {"type": "string", "maxLength": 25},
        "url": {"type": "string", "example": "https://loja.com/promo/{{link}}"},
        "phone_number": {"type": "string", "example": "+5511999999999"},
        "example": {"type": "string", "maxLength": 15},
    },
}
_STRUCTURED: dict[str, Any] = {
    "type": "object",
    "required": ["body"],
    "properties": {
        "body": {
            "type": "object",
            "required": ["text"],
            "properties": {
                "text": {
                    "type": "string",
                    "maxLength": 1024,
                    "description": "Must not start or end with a variable. " + _VARIABLE_NOTE,
                }
            },
        },
        "header": _HEADER,
        "footer": {"type": "object", "properties": {"text": {"type": "string", "maxLength": 60}}},
        "buttons": {"type": "array", "maxItems": 10, "items": _BUTTON},
    },
}
_EXAMPLES: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {"type": "string"},
    "description": "A sample value for every variable of header, body and dynamic URL.",
    "example": {"nome": "Ana"},
}
_INPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {
            "type": "string",
            "example": "promo_cupom",
            "description": "Letters and digits; separators become _, lowercased. "
            "Unique among the number's templates.",
        },
        "category": {
            "type": "string",
            "enum": ["MARKETING", "UTILITY", "OTP", "AUTHENTICATION"],
            "description": "AUTHENTICATION is stored as OTP. Cannot change later.",
        },
        "language": {"type": "string", "example": "pt_BR"},
        "body": {
            "description": "Plain text, the structured object (recommended), or that "
            "object as a JSON string.",
            "oneOf": [{"type": "string"}, _STRUCTURED],
        },
        "header": _HEADER,
        "footer": {"oneOf": [{"type": "string", "maxLength": 60}, {"type": "object"}]},
        "buttons": {"type": "array", "maxItems": 10, "items": _BUTTON},
        "examples": _EXAMPLES,
    },
}
_CREATE_INPUT = {**_INPUT, "required": ["name", "category", "language", "body"]}
_UPDATE_INPUT = {
    **_INPUT,
    "required": ["body"],
    "description": "Replaces the content (omitted header, footer and buttons are removed). "
    "name and language default to the current values; category, when given, "
    "must equal the current one.",
}
_VERSION: dict[str, Any] = {
    "type": "object",
    "nullable": True,
    "properties": {
        "id": {"type": "string"},
        "version": {"type": "integer"},
        "metaStatus": {"type": "string", "nullable": True},
        "createdAt": {"type": "string", "format": "date-time"},
        "approveAt": {"type": "string", "format": "date-time", "nullable": True},
    },
}
_VERSION_ENTRY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "version": {"type": "integer"},
        "current": {"type": "boolean"},
        "metaStatus": {"type": "string", "nullable": True},
        "body": _STRUCTURED,
        "variables": {"type": "array", "items": {"type": "string"}},
        "examples": _EXAMPLES,
        "createdAt": {"type": "string", "format": "date-time"},
    },
}
ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "example": "tpl_01j2..."},
        "name": {"type": "string"},
        "category": {"type": "string", "enum": ["MARKETING", "UTILITY", "OTP"]},
        "language": {"type": "string"},
        "body": _STRUCTURED,
        "variables": {"type": "array", "items": {"type": "string"}},
        "examples": _EXAMPLES,
        "source": {"type": "string", "enum": ["PILOT_STATUS", "META"]},
        "metaStatus": {
            "type": "string",
            "nullable": True,
            "enum": ["APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED"],
            "description": "null on numbers without template approval",
        },
        "metaLanguage": {"type": "string", "nullable": True},
        "sendable": {"type": "boolean"},
        "rejectionReason": {"type": "string", "nullable": True},
        "latestVersion": _VERSION,
        "version": {"type": "integer"},
        "createdAt": {"type": "string", "format": "date-time"},
        "updatedAt": {"type": "string", "format": "date-time"},
    },
}


def _ok(description: str, schema: dict[str, Any], status: int = 200) -> dict[int | str, Any]:
    return {status: {"description": description, "content": {"application/json": {"schema": schema}}}}


_AUTH = ((401, "UNAUTHORIZED"), (403, "TENANT_SCOPE_NOT_ALLOWED"), (429, "RATE_LIMITED"))
_NOT_FOUND = (404, "TEMPLATE_NOT_FOUND")


@router.get(
    "",
    responses={
        **_ok("The number's templates", {"type": "array", "items": ITEM_SCHEMA}),
        **error_responses(*_AUTH),
    },
)
async def list_templates(container: ContainerDep, number_id: ReadNumberIdDep) -> Any:
    """The number's templates (deleted ones excluded), oldest first."""
    return await templates.list_templates(container, number_id=number_id)


@router.post(
    "",
    status_code=201,
    openapi_extra=body_schema(_CREATE_INPUT),
    responses={
        **_ok("Created", ITEM_SCHEMA, 201),
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
    created = await templates.create(container, number_id=number_id, body=body)
    return json_response(201, created)


@router.get(
    "/{template_ref}", responses={**_ok("The template", ITEM_SCHEMA), **error_responses(*_AUTH, _NOT_FOUND)}
)
async def get_template(template_ref: str, container: ContainerDep, number_id: ReadNumberIdDep) -> Any:
    """A template of the number, by id or name."""
    return await templates.get(container, number_id=number_id, ref=template_ref)


@router.get(
    "/{template_ref}/versions",
    responses={
        **_ok(
            "Every version, newest first",
            {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "versions": {"type": "array", "items": _VERSION_ENTRY},
                },
            },
        ),
        **error_responses(*_AUTH, _NOT_FOUND),
    },
)
async def template_versions(template_ref: str, container: ContainerDep, number_id: ReadNumberIdDep) -> Any:
    """The template's version history (additive endpoint)."""
    return await templates.versions(container, number_id=number_id, ref=template_ref)


_META_TROUBLE = (503, "UPSTREAM_ERROR | UPSTREAM_TIMEOUT | PROVIDER_NOT_CONFIGURED | PROVIDER_AUTH_FAILED")


@router.put(
    "/{template_ref}",
    openapi_extra=body_schema(_UPDATE_INPUT),
    responses={
        **_ok("Updated", ITEM_SCHEMA),
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
    return await templates.update(container, number_id=number_id, ref=template_ref, body=body)


@router.delete(
    "/{template_ref}",
    responses={
        **_ok(
            "Deleted", {"type": "object", "properties": {"ok": {"type": "boolean"}, "id": {"type": "string"}}}
        ),
        **error_responses(*_AUTH, _NOT_FOUND, (409, "TEMPLATE_NOT_DELETABLE"), _META_TROUBLE),
    },
)
async def delete_template(template_ref: str, container: ContainerDep, number_id: ReadNumberIdDep) -> Any:
    """Delete a template (soft): it can no longer be sent and its name is free again. On Meta
    numbers it is deleted at Meta first; when Meta refuses (409 TEMPLATE_NOT_DELETABLE) or
    cannot be reached (503) the template is kept, so retry the delete later."""
    return await templates.delete(container, number_id=number_id, ref=template_ref)
