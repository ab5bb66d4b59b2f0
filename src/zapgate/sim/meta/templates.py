"""Message templates of the Meta simulator (pure): creation rules of
``POST /{waba-id}/message_templates`` and the parameter checks of a template send (132000 count,
132012 named-vs-positional / wrong parameter type), providers.md A.2 and A.7."""

from __future__ import annotations

import base64
import random
import re
from dataclasses import dataclass, field
from typing import Any

from zapgate.sim.meta.errors import GraphError, invalid, missing

CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
FORMATS = ("POSITIONAL", "NAMED")
EVENTS = (
    "APPROVED",
    "REJECTED",
    "PENDING",
    "PAUSED",
    "DISABLED",
    "FLAGGED",
    "REINSTATED",
    "PENDING_DELETION",
    "DELETED",
    "IN_APPEAL",
    "LIMIT_EXCEEDED",
    "ARCHIVED",
    "UNARCHIVED",
    "LOCKED",
    "UNLOCKED",
)
VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
NAME = re.compile(r"^[a-z0-9_]{1,512}$")
BODY_TYPES = frozenset({"text", "currency", "date_time"})
HEADER_MEDIA = ("IMAGE", "VIDEO", "DOCUMENT", "LOCATION")
# Sending a template whose status is not APPROVED (statuses without an entry: 132001).
STATUS_ERRORS = {"PAUSED": 132015, "DISABLED": 132016}


@dataclass(frozen=True)
class Slot:
    """One place of a template that takes send parameters."""

    name: str  # "header" | "body" | "button 1"
    variables: tuple[str, ...]
    kinds: frozenset[str]  # allowed parameter types
    named: bool = False  # parameters must carry parameter_name
    optional: bool = False  # quick-reply payloads


@dataclass
class Template:
    id: str
    waba_id: str
    name: str
    language: str
    category: str
    parameter_format: str
    components: list[dict[str, Any]]
    status: str = "PENDING"
    reason: str | None = None
    slots: dict[str, Slot] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "parameter_format": self.parameter_format,
            "components": self.components,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "id": self.id,
        }


def new_template_id() -> str:
    return str(random.randint(10**15, 10**16 - 1))


# -- creation --------------------------------------------------------------------------------


def create(body: Any, *, waba_id: str, existing: list[Template]) -> Template:
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    name, language = body.get("name"), body.get("language")
    if not isinstance(name, str) or not NAME.match(name):
        raise invalid("Param name must be lowercase letters, digits and underscores (max 512).")
    if not isinstance(language, str) or not language:
        raise invalid("The parameter language is required.")
    category = str(body.get("category", "")).upper()
    if category not in CATEGORIES:
        raise invalid(f"Param category must be one of {{{', '.join(CATEGORIES)}}}.")
    style = str(body.get("parameter_format", "POSITIONAL")).upper()
    if style not in FORMATS:
        raise invalid("Param parameter_format must be one of {POSITIONAL, NAMED}.")
    if any(t.name == name and t.language == language for t in existing):
        raise GraphError(
            100,
            subcode=2388024,
            details="Duplicate template.",
            user_title="Content in This Language Already Exists",
            user_msg=f"There's already {language} content for this template. You "
            "can create a new template and try again.",
        )
    components = body.get("components")
    slots = _slots(components, named=style == "NAMED")
    assert isinstance(components, list)
    return Template(
        id=new_template_id(),
        waba_id=waba_id,
        name=name,
        language=language,
        category=category,
        parameter_format=style,
        components=components,
        slots=slots,
    )


def _slots(components: Any, *, named: bool) -> dict[str, Slot]:
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise invalid("Param components must be a list of objects.")
    kinds = [str(c.get("type", "")).upper() for c in components]
    if kinds.count("BODY") != 1:
        raise invalid("A template needs exactly one BODY component.")
    slots: dict[str, Slot] = {}
    for kind, component in zip(kinds, components, strict=True):
        for slot in _component_slots(kind, component, named=named):
            slots[slot.name] = slot
    return slots


def _component_slots(kind: str, component: dict[str, Any], *, named: bool) -> list[Slot]:
    if kind == "BODY":
        text = _text(component, 1024, "BODY")
        return [Slot("body", _variables(text, named=named), BODY_TYPES, named=named)]
    if kind == "HEADER":
        return _header_slots(component, named=named)
    if kind == "FOOTER":
        if VARIABLE.search(_text(component, 60, "FOOTER")):
            raise invalid("FOOTER text cannot contain variables.")
        return []
    if kind == "BUTTONS":
        return _button_slots(component.get("buttons"))
    raise invalid(
        f"Param components[]['type'] must be one of {{HEADER, BODY, FOOTER, BUTTONS}} - got \"{kind}\"."
    )


def _header_slots(component: dict[str, Any], *, named: bool) -> list[Slot]:
    media = str(component.get("format", "TEXT")).upper()
    if media in HEADER_MEDIA:
        return [Slot("header", ("media",), frozenset({media.lower()}))]
    if media != "TEXT":
        raise invalid("Param components[]['format'] must be one of {TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION}.")
    variables = _variables(_text(component, 60, "HEADER"), named=named)
    if len(variables) > 1:
        raise invalid("A TEXT header can have at most one variable.")
    return [Slot("header", variables, frozenset({"text"}), named=named)] if variables else []


def _button_slots(buttons: Any) -> list[Slot]:
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 10:
        raise invalid("Param components[]['buttons'] must hold 1 to 10 buttons.")
    slots = []
    for index, button in enumerate(buttons):
        kind = str(button.get("type", "")).upper() if isinstance(button, dict) else ""
        name = f"button {index}"
        if kind == "URL" and VARIABLE.search(str(button.get("url", ""))):
            slots.append(Slot(name, ("1",), frozenset({"text"})))
        elif kind == "COPY_CODE":
            slots.append(Slot(name, ("1",), frozenset({"coupon_code"})))
        elif kind == "QUICK_REPLY":
            slots.append(Slot(name, ("1",), frozenset({"payload"}), optional=True))
        elif kind not in ("URL", "PHONE_NUMBER", "OTP", "FLOW", "CATALOG", "MPM"):
            raise invalid(f'Unknown button type "{kind}".')
    return slots


def _text(component: dict[str, Any], maximum: int, where: str) -> str:
    text = component.get("text")
    if not isinstance(text, str) or not text:
        raise invalid(f"The parameter text is required on the {where} component.")
    if len(text) > maximum:
        raise invalid(f"{where} text must be at most {maximum} characters long.")
    return text


def _variables(text: str, *, named: bool) -> tuple[str, ...]:
    found = list(dict.fromkeys(VARIABLE.findall(text)))
    if named and any(not re.fullmatch(r"[a-z_][a-z0-9_]*", v) for v in found):
        raise invalid("NAMED templates use lowercase {{variable_name}} placeholders.")
    if not named and found != [str(i) for i in range(1, len(found) + 1)]:
        raise invalid("POSITIONAL templates use {{1}}, {{2}}, ... in order.")
    return tuple(found)


# -- sending ---------------------------------------------------------------------------------


def check_send(template: Template, components: list[dict[str, Any]]) -> None:
    """Raise the Graph error a send with these ``template.components`` would get."""
    sent: dict[str, list[dict[str, Any]]] = {}
    for component in components:
        kind = str(component.get("type"))
        if kind == "footer":
            continue
        name = f"button {component.get('index')}" if kind == "button" else kind
        sent.setdefault(name, []).extend(component.get("parameters") or [])
    for name in [*template.slots, *sorted(set(sent) - set(template.slots))]:
        slot = template.slots.get(name, Slot(name, (), frozenset()))
        _check_slot(slot, sent.get(name, []))


def _check_slot(slot: Slot, parameters: list[dict[str, Any]]) -> None:
    if slot.optional and not parameters:
        return
    _check_format(slot, parameters)
    if len(parameters) != len(slot.variables):
        raise GraphError(
            132000,
            f"{slot.name}: number of localizable_params "
            f"({len(parameters)}) does not match the expected number of "
            f"params ({len(slot.variables)})",
        )
    for parameter in parameters:
        kind = parameter.get("type")
        if kind not in slot.kinds:
            raise GraphError(
                132012,
                f'{slot.name}: parameter type "{kind}" does not match '
                f"the format of the template (expected "
                f"{' or '.join(sorted(slot.kinds))}).",
            )
        if kind == "text" and not parameter.get("text"):
            raise missing(f"{slot.name}: the parameter text is required.")


def _check_format(slot: Slot, parameters: list[dict[str, Any]]) -> None:
    names = [p.get("parameter_name") for p in parameters]
    if slot.named:
        unknown = [n for n in names if n not in slot.variables]
        if unknown:
            raise GraphError(
                132012,
                f"{slot.name}: template uses NAMED parameters; "
                f"parameter_name {unknown[0]!r} is missing or unknown.",
            )
    elif any(n is not None for n in names):
        raise GraphError(
            132012, f"{slot.name}: template uses POSITIONAL parameters; parameter_name is not allowed."
        )


# -- listing ---------------------------------------------------------------------------------


def matches(template: Template, query: dict[str, str]) -> bool:
    for key in ("status", "category", "language"):
        if query.get(key) and query[key].upper() != getattr(template, key).upper():
            return False
    return not (query.get("name") and query["name"] not in template.name)


def project(template: Template, fields: str | None) -> dict[str, Any]:
    public = template.public()
    if not fields:
        return public
    wanted = {f.strip() for f in fields.split(",")} | {"id"}
    return {k: v for k, v in public.items() if k in wanted}


def cursor(index: int) -> str:
    return base64.b64encode(str(index).encode()).decode().rstrip("=")


def from_cursor(value: str | None) -> int:
    if not value:
        return 0
    try:
        return int(base64.b64decode(value + "=" * (-len(value) % 4)).decode())
    except ValueError as exc:
        raise invalid("Param after is not a valid cursor.") from exc


EDITABLE = ("APPROVED", "REJECTED", "PAUSED")


def edit(template: Template, body: Any) -> None:
    """``POST /{template-id}``: new components and/or category; the edit goes back to review."""
    if template.status not in EDITABLE:
        raise invalid(f"Templates with status {template.status} cannot be edited.")
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    category = str(body.get("category", template.category)).upper()
    if category not in CATEGORIES:
        raise invalid(f"Param category must be one of {{{', '.join(CATEGORIES)}}}.")
    components = body.get("components", template.components)
    template.slots = _slots(components, named=template.parameter_format == "NAMED")
    template.components, template.category = components, category
    template.status = "PENDING"
