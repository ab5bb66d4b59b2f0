"""Template content and rendering (pure).

Stored content (``templates.content``), normalised by the templates service::

    {"header": {"type": "TEXT", "text": "Pedido {{pedido}}"} | {"type": "IMAGE", "url": "..."}
               | None,
     "body": "Olá {{nome}}, ...",
     "footer": "Loja Exemplo" | None,
     "buttons": [{"type": "QUICK_REPLY", "text": "Ok"},
                 {"type": "URL", "text": "Abrir", "url": "https://x/{{link}}"}, ...],
     "examples": {"nome": "Ana", ...}}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from zapgate import errors

VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def variables_in(text: str | None) -> list[str]:
    return list(dict.fromkeys(VARIABLE.findall(text or "")))


def extract_variables(content: dict[str, Any]) -> list[str]:
    """Every ``{{name}}`` of header text, body and dynamic URL buttons, in order of appearance."""
    found: list[str] = []
    header = content.get("header") or {}
    found += variables_in(header.get("text"))
    found += variables_in(content.get("body"))
    for button in content.get("buttons") or []:
        found += variables_in(button.get("url"))
    return list(dict.fromkeys(found))


def placement(content: dict[str, Any]) -> dict[str, Any]:
    """The variables of each component: ``{"header": [...], "body": [...],
    "buttons": {"<index>": [...]}}`` (button indexes as strings, as Meta numbers them)."""
    header = content.get("header") or {}
    buttons = {
        str(i): variables_in(b.get("url"))
        for i, b in enumerate(content.get("buttons") or [])
        if variables_in(b.get("url"))
    }
    return {
        "header": variables_in(header.get("text")),
        "body": variables_in(content.get("body")),
        "buttons": buttons,
    }


@dataclass(frozen=True)
class Rendered:
    body: str
    header: dict[str, Any] | None
    footer: str | None
    buttons: list[dict[str, Any]]
    parameters: dict[str, str]  # the named parameters, for providers that render themselves


def _fill(text: str, variables: dict[str, str]) -> str:
    return VARIABLE.sub(lambda m: variables[m.group(1)], text)


def render(content: dict[str, Any], variables: dict[str, str]) -> Rendered:
    names = extract_variables(content)
    missing = [n for n in names if not str(variables.get(n, "")).strip()]
    if missing:
        raise errors.ValidationFailed(
            f"Missing template variables: {', '.join(missing)}",
            code="MISSING_TEMPLATE_VARIABLES",
            details={"missing": missing},
        )
    header = content.get("header")
    if header and header.get("text"):
        header = {**header, "text": _fill(header["text"], variables)}
    buttons = [
        {**b, "url": _fill(b["url"], variables)} if b.get("url") else dict(b)
        for b in content.get("buttons") or []
    ]
    return Rendered(
        body=_fill(content.get("body") or "", variables),
        header=header or None,
        footer=content.get("footer"),
        buttons=buttons,
        parameters={n: variables[n] for n in names},
    )


# -- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A template as stored. ``version_id`` and ``version_created_at`` (its current version's)
    are set only by the reads that show it."""

    id: str
    workspace_id: str
    number_id: str
    name: str
    category: str
    language: str
    content: dict[str, Any]  # the current version's (see the module docstring)
    variables: tuple[str, ...]
    version: int
    source: str
    meta_status: str | None  # None on numbers without approval rules
    provider_template_id: str | None
    approve_at: int | None
    rejection_reason: str | None
    created_at: int
    updated_at: int
    deleted_at: int | None = None
    version_id: str | None = None
    version_created_at: int | None = None


@dataclass(frozen=True)
class TemplateVersion:
    id: str
    template_id: str
    version: int
    content: dict[str, Any]
    variables: tuple[str, ...]
    meta_status: str | None
    created_at: int


@dataclass(frozen=True)
class OwnerNumber:
    """The live number a template belongs to, as the approval rules need it."""

    id: str
    workspace_id: str
    provider: str
    official: bool


@dataclass(frozen=True)
class ReviewNumber:
    """The number as the provider reviewing its templates sees it (credentials sealed)."""

    id: str
    number: str
    provider: str
    official: bool
    credentials_enc: str | None = field(default=None, repr=False)


# -- what reads show -------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateItem:
    """A live template as reads show it: the stored record with its current version, the
    status reads apply (a sandbox approval that is due counts at once) and whether the number's
    provider reviews templates."""

    template: Template
    status: str | None  # None on numbers without approval rules
    needs_approval: bool

    @property
    def sendable(self) -> bool:
        return not self.needs_approval or self.status == "APPROVED"


@dataclass(frozen=True)
class VersionEntry:
    """One version of a template; the current one carries the template's live status."""

    version: TemplateVersion
    current: bool
    status: str | None


@dataclass(frozen=True)
class TemplateHistory:
    """Every version of a template, newest first."""

    id: str
    name: str
    versions: tuple[VersionEntry, ...]
