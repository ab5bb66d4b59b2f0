"""Templates on the wire: create and update bodies as :class:`NewTemplate` /
:class:`TemplateChange` (checked by :mod:`zapgate.domain.template_rules`, ``400`` with its codes
and messages), and the records as the API's JSON: the SDK's TemplateListItem/TemplateDetail and
more (the schemas are in ``web.schemas.templates``)."""

from __future__ import annotations

from typing import Any

from zapgate.clock import iso
from zapgate.domain import template_rules
from zapgate.domain.template_commands import NewTemplate, TemplateChange
from zapgate.domain.templates import TemplateHistory, TemplateItem, VersionEntry

# --- requests ------------------------------------------------------------------------------------


def new_template(body: Any) -> NewTemplate:
    """A ``POST /v1/templates`` body."""
    return NewTemplate.of(template_rules.parse(body))


def template_change(body: Any) -> TemplateChange:
    """A ``PUT /v1/templates/{ref}`` body: name, category and language may be left out."""
    return TemplateChange.of(template_rules.parse(body, partial=True))


# --- responses -----------------------------------------------------------------------------------


def item(found: TemplateItem) -> dict[str, Any]:
    row, status = found.template, found.status
    return {
        "id": row.id,
        "name": row.name,
        "category": row.category,
        "language": row.language,
        "body": template_rules.public_body(row.content),
        "variables": list(row.variables),
        "examples": dict(row.content.get("examples") or {}),
        "source": row.source,
        "metaStatus": status,
        "metaLanguage": row.language if found.needs_approval else None,
        "sendable": found.sendable,
        "rejectionReason": row.rejection_reason,
        "latestVersion": {
            "id": row.version_id,
            "version": row.version,
            "metaStatus": status,
            "createdAt": iso(row.version_created_at),
            "approveAt": iso(row.approve_at),
        },
        "version": row.version,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
    }


def items(found: tuple[TemplateItem, ...]) -> list[dict[str, Any]]:
    return [item(f) for f in found]


def history(found: TemplateHistory) -> dict[str, Any]:
    """``GET /v1/templates/{ref}/versions``."""
    return {"id": found.id, "name": found.name, "versions": [_version(v) for v in found.versions]}


def _version(entry: VersionEntry) -> dict[str, Any]:
    row = entry.version
    return {
        "id": row.id,
        "version": row.version,
        "current": entry.current,
        "metaStatus": entry.status,
        "body": template_rules.public_body(row.content),
        "variables": list(row.variables),
        "examples": dict(row.content.get("examples") or {}),
        "createdAt": iso(row.created_at),
    }


def deleted(template_id: str) -> dict[str, Any]:
    return {"ok": True, "id": template_id}
