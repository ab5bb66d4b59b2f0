"""Our template -> the body of ``POST /{v}/{WABA-ID}/message_templates`` (create) and of
``POST /{v}/{TEMPLATE-ID}`` (edit) (pure).

Our templates use named variables (``{{nome}}``), so they are created with
``parameter_format: "NAMED"`` and every variable needs an example value (``examples``). A URL
button takes one variable at the end of its URL; Meta numbers it ``{{1}}`` in the created
template and its value is sent as that button's parameter.
"""

from __future__ import annotations

import re
from typing import Any

from zapgate import errors

JsonObject = dict[str, Any]

NAME = re.compile(r"^[a-z0-9_]{1,512}$")
PARAMETER_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
MEDIA_HEADERS = {"IMAGE", "VIDEO", "DOCUMENT"}
CATEGORIES = {"MARKETING", "UTILITY", "AUTHENTICATION"}


def invalid(message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(message, code="VALIDATION_ERROR")


def create_body(template: JsonObject) -> JsonObject:
    name = str(template.get("name") or "")
    if not NAME.match(name):
        raise invalid(
            f"Template name {name!r} does not fit Meta's rules: use only lowercase "
            "letters, digits and underscores (e.g. 'pedido_saiu')"
        )
    category = str(template.get("category") or "").upper()
    if category not in CATEGORIES:
        raise invalid(f"Template category must be one of {', '.join(sorted(CATEGORIES))}")
    raw = template.get("content")
    content: JsonObject = raw if isinstance(raw, dict) else {}
    examples = {str(k): str(v) for k, v in (content.get("examples") or {}).items()}
    components = [
        c
        for c in (
            _header(content.get("header"), examples),
            _body(str(content.get("body") or ""), examples),
            _footer(content.get("footer")),
            _buttons(content.get("buttons"), examples),
        )
        if c is not None
    ]
    return {
        "name": name,
        "language": template.get("language"),
        "category": category,
        "parameter_format": "NAMED",
        "components": components,
    }


def edit_body(template: JsonObject) -> JsonObject:
    """The new components of a template Meta already has. Name and language cannot change at
    Meta, and our category never changes, so only the components are sent."""
    return {"components": create_body(template)["components"]}


def _named_examples(text: str, examples: dict[str, str]) -> list[JsonObject]:
    out = []
    for name in dict.fromkeys(VARIABLE.findall(text)):
        if not PARAMETER_NAME.match(name):
            raise invalid(
                f"Variable {name!r}: Meta parameter names use only lowercase letters, digits and underscores"
            )
        out.append({"param_name": name, "example": _example(name, examples)})
    return out


def _example(name: str, examples: dict[str, str]) -> str:
    value = examples.get(name, "").strip()
    if not value:
        raise invalid(f"Meta needs an example value for the variable {name!r} (content.examples)")
    return value


def _header(header: Any, examples: dict[str, str]) -> JsonObject | None:
    if not isinstance(header, dict):
        return None
    kind = str(header.get("type") or "").upper()
    if kind == "TEXT":
        text = str(header.get("text") or "")
        out: JsonObject = {"type": "HEADER", "format": "TEXT", "text": text}
        named = _named_examples(text, examples)
        if named:
            out["example"] = {"header_text_named_params": named}
        return out
    if kind in MEDIA_HEADERS:
        return {"type": "HEADER", "format": kind}
    raise invalid(f"Unsupported template header type {kind!r}")


def _body(text: str, examples: dict[str, str]) -> JsonObject:
    if not text:
        raise invalid("A template needs a body")
    out: JsonObject = {"type": "BODY", "text": text}
    named = _named_examples(text, examples)
    if named:
        out["example"] = {"body_text_named_params": named}
    return out


def _footer(footer: Any) -> JsonObject | None:
    return {"type": "FOOTER", "text": str(footer)} if footer else None


def _buttons(buttons: Any, examples: dict[str, str]) -> JsonObject | None:
    if not isinstance(buttons, list) or not buttons:
        return None
    return {"type": "BUTTONS", "buttons": [_button(b, examples) for b in buttons if isinstance(b, dict)]}


def _button(button: JsonObject, examples: dict[str, str]) -> JsonObject:
    kind = str(button.get("type") or "").upper()
    text = button.get("text")
    if kind == "QUICK_REPLY":
        return {"type": kind, "text": text}
    if kind == "URL":
        return _url_button(str(text), str(button.get("url") or ""), examples)
    if kind == "PHONE_NUMBER":
        return {"type": kind, "text": text, "phone_number": button.get("phone_number")}
    if kind == "COPY_CODE":
        return {"type": kind, "example": button.get("example")}
    raise invalid(f"Unsupported template button type {kind!r}")


def _url_button(text: str, url: str, examples: dict[str, str]) -> JsonObject:
    names = VARIABLE.findall(url)
    if not names:
        return {"type": "URL", "text": text, "url": url}
    last = list(VARIABLE.finditer(url))[-1]
    if len(names) > 1 or last.end() != len(url):
        raise invalid(f"URL button {text!r}: Meta allows one variable, at the end of the URL")
    return {
        "type": "URL",
        "text": text,
        "url": url[: last.start()] + "{{1}}",
        "example": [_example(names[0], examples)],
    }
