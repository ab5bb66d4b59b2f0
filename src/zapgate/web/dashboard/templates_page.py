"""``/templates``: a number's templates, the editor with its live WhatsApp-like preview, delete.

The editor's form is flat (``header_type``, ``button_0_text``, ``example_nome``...). It is turned
into the API's create/update body and checked by the same rules the API applies
(:mod:`zapgate.domain.template_rules`); the preview route runs those rules on every keystroke
and sends each message to the slot next to its field (out-of-band swaps).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from starlette.responses import Response

from zapgate import errors
from zapgate.container import Container
from zapgate.domain import template_rules
from zapgate.domain import templates as template_text
from zapgate.domain.template_commands import NewTemplate, TemplateChange
from zapgate.domain.templates import TemplateItem
from zapgate.domain.users import DashSession
from zapgate.services import templates
from zapgate.web import errors as web_errors
from zapgate.web.dashboard import core
from zapgate.web.deps import ContainerDep

router = core.page_router()

BUTTON_TYPES = (
    ("QUICK_REPLY", "Quick reply"),
    ("URL", "Link"),
    ("PHONE_NUMBER", "Call a phone number"),
    ("COPY_CODE", "Copy code"),
)
HEADER_TYPES = (
    ("NONE", "No header"),
    ("TEXT", "Text"),
    ("IMAGE", "Image (JPG or PNG)"),
    ("VIDEO", "Video (MP4)"),
    ("DOCUMENT", "Document (PDF)"),
)
BUTTON_PARTS = ("text", "url", "phone", "example")
SLOTS = template_rules.MAX_BUTTONS
DONE = {"saved": "Template saved.", "deleted": "Template deleted."}
NEW_DEFAULTS = {"category": "MARKETING", "language": "pt_BR", "header_type": "NONE"}

# Where the rules' field paths are shown in the form.
_FIELD_SLOTS = {
    "body": "body",
    "body.text": "body",
    "header": "header_type",
    "header.type": "header_type",
    "header.text": "header_text",
    "header.url": "header_url",
    "header.base64": "header_url",
}
_BUTTON_FIELD = re.compile(r"buttons\[(\d+)\](?:\.(\w+))?")
_BUTTON_PART = {
    None: "type",
    "type": "type",
    "text": "text",
    "url": "url",
    "phone_number": "phone",
    "example": "example",
}


# -- the form and the API body ---------------------------------------------------------------


def _header(values: dict[str, str]) -> dict[str, str] | None:
    kind = values.get("header_type", "NONE") or "NONE"
    if kind == "NONE":
        return None
    if kind == "TEXT":
        return {"type": kind, "text": values.get("header_text", "")}
    if values.get("header_base64") and not values.get("header_url"):
        return {"type": kind, "base64": values["header_base64"]}
    return {"type": kind, "url": values.get("header_url", "").strip()}


def _buttons(values: dict[str, str]) -> list[tuple[int, dict[str, str]]]:
    """(form slot, API button) of every slot with a type."""
    out = []
    for slot in range(SLOTS):
        kind = values.get(f"button_{slot}_type", "")
        if not kind:
            continue
        given = {part: values.get(f"button_{slot}_{part}", "").strip() for part in BUTTON_PARTS}
        button = {
            "type": kind,
            "text": given["text"],
            "url": given["url"],
            "phone_number": given["phone"],
            "example": given["example"],
        }
        out.append((slot, {k: v for k, v in button.items() if v}))
    return out


def _examples(values: dict[str, str]) -> dict[str, str]:
    return {k.removeprefix("example_"): v for k, v in values.items() if k.startswith("example_")}


def api_body(values: dict[str, str]) -> dict[str, Any]:
    """The create/update body of the API from the editor's fields."""
    body: dict[str, Any] = {"body": values.get("body", ""), "examples": _examples(values)}
    for key in ("name", "category", "language"):
        if key in values:
            body[key] = values[key]
    header, buttons = _header(values), [b for _, b in _buttons(values)]
    if header:
        body["header"] = header
    if values.get("footer", "").strip():
        body["footer"] = values["footer"]
    if buttons:
        body["buttons"] = buttons
    return body


def form_values(item: TemplateItem) -> dict[str, str]:
    """A stored template as the editor's fields."""
    template = item.template
    content = template.content
    header = content.get("header") or {}
    values = {
        "name": template.name,
        "category": template.category,
        "language": template.language,
        "body": content.get("body") or "",
        "footer": content.get("footer") or "",
        "header_type": header.get("type", "NONE"),
        "header_text": header.get("text", ""),
        "header_url": header.get("url", ""),
        "header_base64": header.get("base64", ""),
    }
    for slot, button in enumerate(content.get("buttons") or []):
        values[f"button_{slot}_type"] = button["type"]
        for part, key in zip(BUTTON_PARTS, ("text", "url", "phone_number", "example"), strict=True):
            values[f"button_{slot}_{part}"] = button.get(key) or ""
    values.update({"example_" + k: v for k, v in (content.get("examples") or {}).items()})
    return values


# -- errors next to their fields -------------------------------------------------------------


def _slot(field: str, button_slots: list[int]) -> str:
    if field in _FIELD_SLOTS:
        return _FIELD_SLOTS[field]
    if field.startswith("examples."):
        return "example_" + field.removeprefix("examples.")
    found = _BUTTON_FIELD.fullmatch(field)
    if found is None:
        return field
    index = int(found.group(1))
    slot = button_slots[index] if index < len(button_slots) else index
    return f"button_{slot}_{_BUTTON_PART.get(found.group(2), found.group(2))}"


def form_errors(exc: errors.ZapgateError, values: dict[str, str]) -> core.FormErrors:
    """The error's messages keyed by the form field they concern."""
    fields: dict[str, str] = {}
    details = exc.extra.get("details")
    slots = [slot for slot, _ in _buttons(values)]
    if isinstance(details, list):
        for item in details:
            key = _slot(str(item.get("field", "")), slots)
            fields[key] = "; ".join(filter(None, (fields.get(key), str(item.get("message")))))
    elif isinstance(details, dict) and isinstance(details.get("missing"), list):
        for name in details["missing"]:
            fields["example_" + name] = "required: a sample value for {{" + name + "}}"
    if exc.code == "TEMPLATE_NAME_TAKEN":
        fields["name"] = exc.message
    return core.FormErrors(exc.message, fields)


# -- the preview -----------------------------------------------------------------------------


def segments(text: str, examples: dict[str, str]) -> list[dict[str, str]]:
    """Text split around its ``{{variables}}`` (shown with their example when there is one)."""
    out, pos = [], 0
    for match in template_text.VARIABLE.finditer(text):
        out.append({"text": text[pos : match.start()]})
        name = match.group(1)
        out.append({"text": examples.get(name) or match.group(0), "var": name})
        pos = match.end()
    out.append({"text": text[pos:]})
    return [s for s in out if s["text"]]


def preview(values: dict[str, str], *, partial: bool, validate: bool) -> dict[str, Any]:
    """What the preview shows: the bubble's parts, the variables found and the rules' verdict."""
    header = _header(values) or {}
    buttons = [b for _, b in _buttons(values)]
    examples = _examples(values)
    found = template_text.extract_variables(
        {"header": header, "body": values.get("body", ""), "buttons": buttons}
    )
    problems = None
    if validate:
        try:
            template_rules.parse(api_body(values), partial=partial)
        except errors.ZapgateError as exc:
            problems = form_errors(exc, values)
    return {
        "header": header,
        "header_segments": segments(header.get("text", ""), examples),
        "body_segments": segments(values.get("body", ""), examples),
        "footer": values.get("footer", "").strip(),
        "buttons": buttons,
        "variables": found,
        "problems": problems,
        "validated": validate,
    }


# -- routes ----------------------------------------------------------------------------------


async def _numbers(container: Container, session: DashSession, request: Request) -> tuple[list[Any], Any]:
    numbers = await core.workspace_numbers(container, session.workspace_id)
    return numbers, core.pick_number(numbers, request.query_params.get("number"))


async def _wanted_number(container: Container, session: DashSession, request: Request) -> Any:
    _, number = await _numbers(container, session, request)
    if number is None:
        raise errors.NotFound("Add a number first", code="NUMBER_NOT_FOUND")
    return number


def _editor(
    request: Request,
    number: Any,
    values: dict[str, str],
    *,
    item: TemplateItem | None = None,
    problems: core.FormErrors | None = None,
    status: int = 200,
    validate: bool = False,
) -> Response:
    shown = preview(values, partial=item is not None, validate=validate)
    used = [slot for slot, _ in _buttons(values)]
    visible = min(SLOTS, (max(used) + 2) if used else 1)
    return core.render(
        request,
        "templates/editor.html",
        {
            "title": f"Template {item.template.name}" if item else "New template",
            "number": number,
            "item": item,
            "values": values,
            "errors": problems,
            "preview": shown,
            "visible_slots": visible,
            "slots": SLOTS,
            "button_types": BUTTON_TYPES,
            "header_types": HEADER_TYPES,
            "categories": template_rules.CATEGORIES,
        },
        status=status,
    )


def _failed(
    request: Request,
    number: Any,
    values: dict[str, str],
    exc: errors.ZapgateError,
    item: TemplateItem | None = None,
) -> Response:
    status = web_errors.status_of(exc)
    return _editor(
        request,
        number,
        values,
        item=item,
        problems=form_errors(exc, values),
        status=status if status >= 400 else 400,
    )


@router.get("/templates")
async def index(request: Request, container: ContainerDep, session: core.Session) -> Response:
    numbers, number = await _numbers(container, session, request)
    items = await templates.list_templates(container, number_id=number.id) if number else []
    return core.render(
        request,
        "templates/index.html",
        {
            "title": "Templates",
            "numbers": numbers,
            "number": number,
            "items": items,
            "flash": DONE.get(request.query_params.get("done", "")),
        },
    )


@router.get("/templates/new")
async def new(request: Request, container: ContainerDep, session: core.Session) -> Response:
    number = await _wanted_number(container, session, request)
    return _editor(request, number, dict(NEW_DEFAULTS))


@router.post("/templates/new")
async def create(request: Request, container: ContainerDep, session: core.FormSession) -> Response:
    number = await _wanted_number(container, session, request)
    values = await core.form_data(request)
    try:
        new = NewTemplate.of(template_rules.parse(api_body(values)))
        await templates.create(container, number_id=number.id, new=new)
    except errors.ZapgateError as exc:
        return _failed(request, number, values, exc)
    return core.redirect(f"/templates?number={number.id}&done=saved", request)


@router.post("/templates/preview")
async def live_preview(request: Request, _: core.FormSession) -> Response:
    """The preview fragment (HTMX), with the rules' messages swapped next to their fields."""
    values = await core.form_data(request)
    shown = preview(values, partial=values.get("editing") == "1", validate=True)
    known = [v for v in values.get("variables", "").split(",") if v]
    return core.render(
        request,
        "templates/_preview_update.html",
        {
            "preview": shown,
            "values": values,
            "errors": shown["problems"],
            "slots": SLOTS,
            "examples_changed": known != shown["variables"],
        },
    )


@router.get("/templates/{template_id}")
async def edit(
    template_id: str, request: Request, container: ContainerDep, session: core.Session
) -> Response:
    number = await _wanted_number(container, session, request)
    item = await templates.get(container, number_id=number.id, ref=template_id)
    return _editor(request, number, form_values(item), item=item)


@router.post("/templates/{template_id}")
async def update(
    template_id: str, request: Request, container: ContainerDep, session: core.FormSession
) -> Response:
    number = await _wanted_number(container, session, request)
    item = await templates.get(container, number_id=number.id, ref=template_id)
    values = await core.form_data(request)
    try:
        change = TemplateChange.of(template_rules.parse(api_body(values), partial=True))
        await templates.update(container, number_id=number.id, ref=item.template.id, change=change)
    except errors.ZapgateError as exc:
        return _failed(request, number, {**values, "category": item.template.category}, exc, item)
    return core.redirect(f"/templates?number={number.id}&done=saved", request)


@router.get("/templates/{template_id}/delete")
async def confirm_delete(
    template_id: str, request: Request, container: ContainerDep, session: core.Session
) -> Response:
    number = await _wanted_number(container, session, request)
    item = await templates.get(container, number_id=number.id, ref=template_id)
    return core.render(
        request,
        "templates/delete.html",
        {"title": f"Delete {item.template.name}", "number": number, "item": item},
    )


@router.post("/templates/{template_id}/delete")
async def delete(
    template_id: str, request: Request, container: ContainerDep, session: core.FormSession
) -> Response:
    number = await _wanted_number(container, session, request)
    item = await templates.get(container, number_id=number.id, ref=template_id)
    try:
        await templates.delete(container, number_id=number.id, ref=item.template.id)
    except errors.ZapgateError as exc:
        # Meta refused or could not be reached: the template is kept; say why.
        return core.render(
            request,
            "templates/delete.html",
            {"title": f"Delete {item.template.name}", "number": number, "item": item, "error": exc.message},
            status=web_errors.status_of(exc),
        )
    return core.redirect(f"/templates?number={number.id}&done=deleted", request)
