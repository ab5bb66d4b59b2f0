"""Validation of ``POST /{v}/{phone-number-id}/messages`` bodies (pure; raises ``GraphError``).

Which code a problem gets (the simulator's reading of providers.md A.2/A.10):

* ``100`` Graph-layer problems: the body or a field has the wrong JSON type, an enum value is
  unknown (``messaging_product``, ``type``, ``recipient_type``, ``interactive.type``), a key is
  not allowed where it was put (``caption`` on audio/sticker, ``filename`` outside document, an
  object of another type next to the typed one), ``to`` missing or not a phone number.
* ``131008`` a required WhatsApp field is missing (the typed object, ``text.body``, ``id``/``link``,
  ``interactive.body``, ``reaction.message_id``, ``template.name``, ...).
* ``131009`` a value breaks a limit (lengths, counts, uniqueness, ``id`` and ``link`` together).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from zapgate.sim.meta.errors import GraphError, invalid, missing, not_valid

MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
MESSAGE_TYPES = ("text", *MEDIA_TYPES, "location", "contacts", "interactive", "template", "reaction")
MEDIA_KEYS: dict[str, frozenset[str]] = {
    "image": frozenset({"id", "link", "caption"}),
    "video": frozenset({"id", "link", "caption"}),
    "document": frozenset({"id", "link", "caption", "filename"}),
    "audio": frozenset({"id", "link", "voice"}),
    "sticker": frozenset({"id", "link"}),
}
PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{5,30}$")


@dataclass(frozen=True)
class SendRequest:
    """What the simulator needs from a validated send."""

    type: str
    to: str  # verbatim, as the client sent it
    digits: str
    obj: dict[str, Any]
    context_id: str | None
    tracker: str | None  # biz_opaque_callback_data
    media_ids: tuple[str, ...]  # uploaded-media ids the message refers to

    @property
    def voice(self) -> bool:
        return self.type == "audio" and self.obj.get("voice") is True


def is_mark_read(body: dict[str, Any]) -> bool:
    return "status" in body or "typing_indicator" in body


def validate_mark_read(body: dict[str, Any]) -> str:
    """Read receipt (+ optional typing indicator); returns the inbound message id."""
    _check_product(body)
    if body.get("status") != "read":
        raise invalid(
            "Param status must be one of {READ} - got "
            f'"{body.get("status")}". A typing indicator needs status "read".'
        )
    message_id = body.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise missing("The parameter message_id is required.")
    indicator = body.get("typing_indicator")
    if indicator is not None and (not isinstance(indicator, dict) or indicator.get("type") != "text"):
        raise invalid("Param typing_indicator['type'] must be one of {TEXT}.")
    return message_id


def validate_send(body: Any) -> SendRequest:
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    _check_product(body)
    to = _check_to(body)
    kind = body.get("type", "text")
    if kind not in MESSAGE_TYPES:
        raise invalid(
            f'Param type must be one of {{{", ".join(t.upper() for t in MESSAGE_TYPES)}}} - got "{kind}".'
        )
    if body.get("recipient_type", "individual") != "individual":
        raise invalid("Param recipient_type must be one of {INDIVIDUAL}.")
    for other in MESSAGE_TYPES:
        if other != kind and other in body:
            raise invalid(f"Param {other} is not allowed for messages of type {kind}.")
    obj = body.get(kind)
    if obj is None:
        raise missing(f"Parameter '{kind}' is mandatory for type '{kind}'.")
    if not isinstance(obj, dict | list):
        raise invalid(f"Param {kind} must be a JSON object.")
    media_ids = VALIDATORS[kind](obj)
    return SendRequest(
        type=kind,
        to=to,
        digits=re.sub(r"\D", "", to),
        obj=_as_dict(obj),
        context_id=_check_context(body),
        tracker=_check_tracker(body),
        media_ids=media_ids,
    )


def _as_dict(obj: Any) -> dict[str, Any]:
    return obj if isinstance(obj, dict) else {"items": obj}


def _check_product(body: dict[str, Any]) -> None:
    product = body.get("messaging_product")
    if product is None:
        raise GraphError(
            100, message="(#100) The parameter messaging_product is required.", with_error_data=False
        )
    if product != "whatsapp":
        raise invalid(f'Param messaging_product must be one of {{WHATSAPP}} - got "{product}".')


def _check_to(body: dict[str, Any]) -> str:
    to = body.get("to")
    if to is None:
        raise GraphError(100, message="(#100) The parameter to is required.", with_error_data=False)
    if not isinstance(to, str) or not PHONE.match(to):
        raise invalid("Param to must be a valid phone number or WhatsApp ID.")
    return to


def _check_context(body: dict[str, Any]) -> str | None:
    context = body.get("context")
    if context is None:
        return None
    if not isinstance(context, dict) or not isinstance(context.get("message_id"), str):
        raise invalid("Param context['message_id'] must be a string.")
    return str(context["message_id"])


def _check_tracker(body: dict[str, Any]) -> str | None:
    tracker = body.get("biz_opaque_callback_data")
    if tracker is None:
        return None
    if not isinstance(tracker, str):
        raise invalid("Param biz_opaque_callback_data must be a string.")
    _limit(tracker, 512, "biz_opaque_callback_data")
    return tracker


# -- helpers ---------------------------------------------------------------------------------


def _limit(value: str, maximum: int, what: str, minimum: int = 0) -> None:
    if not minimum <= len(value) <= maximum:
        raise not_valid(f"{what} length invalid. Min length: {minimum}, Max length: {maximum}.")


def _string(obj: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise missing(f"The parameter {where}['{key}'] is required.")
        return None
    if not isinstance(value, str):
        raise invalid(f"Param {where}['{key}'] must be a string.")
    return value


def _only(obj: dict[str, Any], allowed: frozenset[str] | set[str], where: str) -> None:
    extra = sorted(set(obj) - set(allowed))
    if extra:
        raise invalid(f'Unexpected key "{extra[0]}" on param "{where}".')


def _object(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        raise missing(f"The parameter {where} is required.")
    if not isinstance(value, dict):
        raise invalid(f"Param {where} must be a JSON object.")
    return value


# -- per type --------------------------------------------------------------------------------


def _text(obj: Any) -> tuple[str, ...]:
    obj = _object(obj, "text")
    _only(obj, {"body", "preview_url"}, "text")
    body = _string(obj, "body", "text")
    assert body is not None
    if len(body) > 4096:
        raise not_valid("Param text['body'] must be at most 4096 characters long.")
    if "preview_url" in obj and not isinstance(obj["preview_url"], bool):
        raise invalid("Param text['preview_url'] must be a boolean.")
    return ()


def _media(kind: str, obj: Any, *, captioned: bool = True) -> tuple[str, ...]:
    obj = _object(obj, kind)
    allowed = MEDIA_KEYS[kind] if captioned else MEDIA_KEYS[kind] - {"caption"}
    _only(obj, allowed, kind)
    has_id, has_link = bool(obj.get("id")), bool(obj.get("link"))
    if has_id and has_link:
        raise not_valid(f"Param {kind} must contain either id or link, not both.")
    if not has_id and not has_link:
        raise missing(f"Param {kind} must contain either id or link.")
    if has_link and not re.match(r"^https?://\S+$", str(obj["link"])):
        raise not_valid(f"Param {kind}['link'] must be a valid http(s) URL.")
    if "caption" in obj:
        _limit(str(obj["caption"]), 1024, "Caption")
    if "voice" in obj and not isinstance(obj["voice"], bool):
        raise invalid("Param audio['voice'] must be a boolean.")
    return (str(obj["id"]),) if has_id else ()


def _location(obj: Any) -> tuple[str, ...]:
    obj = _object(obj, "location")
    for key in ("latitude", "longitude"):
        if obj.get(key) is None:
            raise missing(f"The parameter location['{key}'] is required.")
        if isinstance(obj[key], bool) or not isinstance(obj[key], int | float | str):
            raise invalid(f"Param location['{key}'] must be a number.")
    return ()


def _contacts(obj: Any) -> tuple[str, ...]:
    if not isinstance(obj, list) or not obj:
        raise missing("The parameter contacts must be a non-empty list.")
    if len(obj) > 257:
        raise not_valid("Too many contacts.")
    for item in obj:
        name = _object(item.get("name") if isinstance(item, dict) else None, "contacts[]['name']")
        _string(name, "formatted_name", "contacts[]['name']")
    return ()


def _reaction(obj: Any) -> tuple[str, ...]:
    obj = _object(obj, "reaction")
    _only(obj, {"message_id", "emoji"}, "reaction")
    _string(obj, "message_id", "reaction")
    if not isinstance(obj.get("emoji"), str):
        raise missing("The parameter reaction['emoji'] is required (empty string removes it).")
    return ()


def _template(obj: Any) -> tuple[str, ...]:
    obj = _object(obj, "template")
    _string(obj, "name", "template")
    language = _object(obj.get("language"), "template['language']")
    _string(language, "code", "template['language']")
    components = obj.get("components", [])
    if not isinstance(components, list):
        raise invalid("Param template['components'] must be a list.")
    ids: list[str] = []
    for component in components:
        ids.extend(_template_component(component))
    return tuple(ids)


def _template_component(component: Any) -> list[str]:
    component = _object(component, "template['components'][]")
    kind = component.get("type")
    if kind not in ("header", "body", "button", "footer"):
        raise invalid(
            f"Param template['components'][]['type'] must be one of "
            f'{{HEADER, BODY, BUTTON, FOOTER}} - got "{kind}".'
        )
    if kind == "button":
        if component.get("sub_type") is None:
            raise missing("The parameter sub_type is required for button components.")
        if not re.fullmatch(r"[0-9]", str(component.get("index", ""))):
            raise not_valid('Button index must be a string "0".."9".')
    parameters = component.get("parameters", [])
    if not isinstance(parameters, list):
        raise invalid("Param template['components'][]['parameters'] must be a list.")
    ids: list[str] = []
    for parameter in parameters:
        parameter = _object(parameter, "template['components'][]['parameters'][]")
        media = parameter.get(str(parameter.get("type")))
        if parameter.get("type") in ("image", "video", "document") and isinstance(media, dict):
            ids.extend(_media(str(parameter["type"]), media, captioned=False))
    return ids


def _interactive(obj: Any) -> tuple[str, ...]:
    obj = _object(obj, "interactive")
    kind = obj.get("type")
    if kind not in INTERACTIVE:
        raise invalid(
            f"Param interactive['type'] must be one of {{BUTTON, LIST, CTA_URL, FLOW}} - got \"{kind}\"."
        )
    body = _object(obj.get("body"), "interactive['body']")
    text = _string(body, "text", "interactive['body']")
    assert text is not None
    _limit(text, 1024, "Body text", 1)
    if obj.get("footer") is not None:
        footer = _object(obj["footer"], "interactive['footer']")
        _limit(_string(footer, "text", "interactive['footer']") or "", 60, "Footer text", 1)
    ids = _header(obj.get("header"), lists=kind == "list")
    action = _object(obj.get("action"), "interactive['action']")
    INTERACTIVE[str(kind)](action)
    return ids


def _header(header: Any, *, lists: bool) -> tuple[str, ...]:
    if header is None:
        return ()
    header = _object(header, "interactive['header']")
    kind = header.get("type")
    allowed = ("text",) if lists else ("text", "image", "video", "document")
    if kind not in allowed:
        raise not_valid(f'Header type must be one of {allowed} - got "{kind}".')
    if kind == "text":
        _limit(_string(header, "text", "interactive['header']") or "", 60, "Header text", 1)
        return ()
    return _media(str(kind), header.get(str(kind)), captioned=False)


def _buttons(action: dict[str, Any]) -> None:
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not buttons:
        raise missing("The parameter interactive['action']['buttons'] is required.")
    if len(buttons) > 3:
        raise not_valid("Buttons count invalid. Min: 1, Max: 3.")
    ids: set[str] = set()
    titles: set[str] = set()
    for button in buttons:
        button = _object(button, "interactive['action']['buttons'][]")
        if button.get("type") != "reply":
            raise invalid("Param interactive['action']['buttons'][]['type'] must be one of {REPLY}.")
        reply = _object(button.get("reply"), "interactive['action']['buttons'][]['reply']")
        button_id = _string(reply, "id", "reply") or ""
        title = _string(reply, "title", "reply") or ""
        _limit(button_id, 256, "Button id", 1)
        _limit(title, 20, "Button title", 1)
        if button_id in ids or title in titles:
            raise not_valid("Button id and title must be unique.")
        ids.add(button_id)
        titles.add(title)


def _list(action: dict[str, Any]) -> None:
    _limit(_string(action, "button", "interactive['action']") or "", 20, "Button label", 1)
    sections = action.get("sections")
    if not isinstance(sections, list) or not sections:
        raise missing("The parameter interactive['action']['sections'] is required.")
    if len(sections) > 10:
        raise not_valid("Sections count invalid. Min: 1, Max: 10.")
    rows = [row for section in sections for row in _section(section, many=len(sections) > 1)]
    if not 1 <= len(rows) <= 10:
        raise not_valid("Total row count exceed max allowed count: 10.")
    ids = [str(row.get("id")) for row in rows]
    if len(set(ids)) != len(ids):
        raise not_valid("Row ids must be unique.")


def _section(section: Any, *, many: bool) -> list[dict[str, Any]]:
    section = _object(section, "interactive['action']['sections'][]")
    title = _string(section, "title", "section", required=many)
    if title is not None:
        _limit(title, 24, "Section title", 1)
    rows = section.get("rows")
    if not isinstance(rows, list) or not rows:
        raise missing("The parameter section['rows'] is required.")
    for row in rows:
        row = _object(row, "section['rows'][]")
        _limit(_string(row, "id", "row") or "", 200, "Row id", 1)
        _limit(_string(row, "title", "row") or "", 24, "Row title", 1)
        description = _string(row, "description", "row", required=False)
        if description is not None:
            _limit(description, 72, "Row description")
    return list(rows)


def _cta_url(action: dict[str, Any]) -> None:
    if action.get("name") != "cta_url":
        raise invalid("Param interactive['action']['name'] must be \"cta_url\".")
    parameters = _object(action.get("parameters"), "interactive['action']['parameters']")
    _limit(_string(parameters, "display_text", "parameters") or "", 20, "Display text", 1)
    if not re.match(r"^https?://\S+$", _string(parameters, "url", "parameters") or ""):
        raise not_valid("Param parameters['url'] must be a valid http(s) URL.")


def _flow(action: dict[str, Any]) -> None:
    """Interactive flow messages (``action.name == "flow"``, flow_message_version "3")."""
    if action.get("name") != "flow":
        raise invalid("Param interactive['action']['name'] must be \"flow\".")
    parameters = _object(action.get("parameters"), "interactive['action']['parameters']")
    if str(parameters.get("flow_message_version")) != "3":
        raise not_valid("Param parameters['flow_message_version'] must be \"3\".")
    if not (parameters.get("flow_id") or parameters.get("flow_name")):
        raise missing("parameters['flow_id']")
    _limit(_string(parameters, "flow_cta", "parameters") or "", 30, "Flow CTA", 1)
    flow_action = parameters.get("flow_action", "navigate")
    if flow_action not in ("navigate", "data_exchange"):
        raise not_valid("Param parameters['flow_action'] must be navigate or data_exchange.")
    if flow_action == "navigate" and parameters.get("flow_action_payload") is not None:
        payload = _object(parameters["flow_action_payload"], "parameters['flow_action_payload']")
        _string(payload, "screen", "flow_action_payload")


INTERACTIVE = {"button": _buttons, "list": _list, "cta_url": _cta_url, "flow": _flow}

VALIDATORS = {
    "text": _text,
    "image": lambda obj: _media("image", obj),
    "video": lambda obj: _media("video", obj),
    "audio": lambda obj: _media("audio", obj),
    "document": lambda obj: _media("document", obj),
    "sticker": lambda obj: _media("sticker", obj),
    "location": _location,
    "contacts": _contacts,
    "interactive": _interactive,
    "template": _template,
    "reaction": _reaction,
}
