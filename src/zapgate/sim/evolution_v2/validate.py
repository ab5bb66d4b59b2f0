"""Body validation of the Evolution API v2 simulator: Evolution's JSON schemas (jsonschema-style
messages, type errors first) and the checks its service code makes after them."""

from __future__ import annotations

import re
from typing import Any

BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
BUTTON_FLOWS = {
    "reply": "quick_reply",
    "copy": "cta_copy",
    "url": "cta_url",
    "call": "cta_call",
    "pix": "payment_info",
}

STR, BOOL, INT, NUM, OBJ, ARR = "string", "boolean", "integer", "number", "object", "array"
COMMON_FIELDS = {"number": STR, "delay": INT, "quoted": OBJ, "mentionsEveryOne": BOOL, "mentioned": ARR}
SCHEMAS: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "sendText": ({**COMMON_FIELDS, "text": STR, "linkPreview": BOOL}, ("number", "text")),
    "sendMedia": (
        {**COMMON_FIELDS, "mediatype": STR, "mimetype": STR, "media": STR, "fileName": STR, "caption": STR},
        ("number", "mediatype"),
    ),
    "sendWhatsAppAudio": ({**COMMON_FIELDS, "audio": STR, "encoding": BOOL}, ("number",)),
    "sendSticker": ({**COMMON_FIELDS, "sticker": STR}, ("number",)),
    "sendButtons": (
        {
            **COMMON_FIELDS,
            "thumbnailUrl": STR,
            "title": STR,
            "description": STR,
            "footer": STR,
            "buttons": ARR,
        },
        ("number",),
    ),
    "sendList": (
        {
            **COMMON_FIELDS,
            "title": STR,
            "description": STR,
            "footerText": STR,
            "buttonText": STR,
            "sections": ARR,
        },
        ("number", "title", "footerText", "buttonText", "sections"),
    ),
    "sendReaction": ({"key": OBJ, "reaction": STR}, ("key", "reaction")),
    "sendLocation": (
        {**COMMON_FIELDS, "latitude": NUM, "longitude": NUM, "name": STR, "address": STR},
        ("number", "latitude", "longitude", "name", "address"),
    ),
}
DESCRIPTIONS = {"number": "Invalid format", "delay": "Enter a value in milliseconds"}


def _type_ok(value: Any, kind: str) -> bool:
    if kind == STR:
        return isinstance(value, str)
    if kind == BOOL:
        return isinstance(value, bool)
    if kind in (INT, NUM) and isinstance(value, bool):
        return False
    if kind == INT:
        return isinstance(value, int)
    if kind == NUM:
        return isinstance(value, int | float)
    return isinstance(value, dict if kind == OBJ else list)


def check_fields(
    body: dict[str, Any], fields: dict[str, str], required: tuple[str, ...], prefix: str = ""
) -> list[str]:
    """jsonschema-style messages: type errors first, then missing properties."""
    problems = [
        DESCRIPTIONS.get(name) or f"{prefix}{name} is not of a type(s) {kind}"
        for name, kind in fields.items()
        if name in body and not _type_ok(body[name], kind)
    ]
    where = prefix.rstrip(".") or "instance"
    problems += [f'{where} requires property "{name}"' for name in required if name not in body]
    return problems


def not_empty(item: dict[str, Any], *names: str) -> list[str]:
    return [f'The "{n}" cannot be empty' for n in names if item.get(n) == ""]


def nested_problems(op: str, body: dict[str, Any]) -> list[str]:
    if (
        op == "sendMedia"
        and isinstance(body.get("mediatype"), str)
        and body["mediatype"] not in ("image", "document", "video", "audio")
    ):
        return ["mediatype is not one of enum values: image,document,video,audio"]
    if op == "sendButtons" and isinstance(body.get("buttons"), list):
        return [p for i, b in enumerate(body["buttons"]) for p in _button_problems(i, b)]
    if op == "sendList" and isinstance(body.get("sections"), list):
        return _sections_problems(body["sections"])
    if op == "sendReaction" and isinstance(body.get("key"), dict):
        key = body["key"]
        return check_fields(
            key, {"id": STR, "remoteJid": STR, "fromMe": BOOL}, ("id", "remoteJid", "fromMe"), "key."
        ) + not_empty(key, "id", "remoteJid")
    return []


def _button_problems(index: int, button: Any) -> list[str]:
    if not isinstance(button, dict):
        return [f"buttons[{index}] is not of a type(s) object"]
    problems = check_fields(button, {"type": STR}, ("type",), f"buttons[{index}].")
    if isinstance(button.get("type"), str) and button["type"] not in BUTTON_FLOWS:
        problems.append(f"buttons[{index}].type is not one of enum values: reply,copy,url,call,pix")
    return problems + not_empty(button, "id", "url", "phoneNumber")


def _sections_problems(sections: list[Any]) -> list[str]:
    if not sections:
        return ["sections does not meet minimum length of 1"]
    problems: list[str] = []
    for i, section in enumerate(sections):
        if not isinstance(section, dict):
            problems.append(f"sections[{i}] is not of a type(s) object")
            continue
        problems += check_fields(
            section, {"title": STR, "rows": ARR}, ("title", "rows"), f"sections[{i}]."
        ) + not_empty(section, "title")
        rows = section.get("rows")
        if isinstance(rows, list) and not rows:
            problems.append(f"sections[{i}].rows does not meet minimum length of 1")
        for j, row in enumerate(rows if isinstance(rows, list) else []):
            if isinstance(row, dict):
                problems += check_fields(
                    row,
                    {"title": STR, "description": STR, "rowId": STR},
                    ("title", "rowId"),
                    f"sections[{i}].rows[{j}].",
                )
                problems += not_empty(row, "title", "description", "rowId")
    return problems


def is_url(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def is_base64(value: Any) -> bool:
    """Raw base64 only: a ``data:`` URI is neither a URL nor base64 for Evolution."""
    if not isinstance(value, str) or not value:
        return False
    compact = re.sub(r"\s+", "", value)
    return bool(BASE64.fullmatch(compact)) and len(compact) % 4 == 0


def service_problems(op: str, body: dict[str, Any]) -> list[str]:
    """The checks Evolution's service code makes after the schema (BadRequestException)."""
    if op == "sendText" and not body["text"].strip():
        return ["Text is required"]
    if op == "sendMedia":
        if is_url(body.get("media")):
            return []
        if not is_base64(body.get("media")):
            return ["Owned media must be a url or base64"]
        if body["mediatype"] == "document" and not body.get("fileName"):
            return ["For base64 the file name must be informed."]
    if op in ("sendWhatsAppAudio", "sendSticker"):
        media = body.get("audio" if op == "sendWhatsAppAudio" else "sticker")
        if not (is_url(media) or is_base64(media)):
            return ["Owned media must be a url or base64"]
    if op == "sendButtons":
        return _buttons_rules(body.get("buttons") or [])
    if op == "sendReaction" and not is_reaction(body["reaction"]):
        return ["Reaction must be a single emoji or empty string"]
    return []


def _buttons_rules(buttons: list[dict[str, Any]]) -> list[str]:
    if not buttons:
        return ["At least one button is required"]
    kinds = [b.get("type") for b in buttons]
    others = [k for k in kinds if k not in ("reply", "pix")]
    if "reply" in kinds and len(buttons) > 3:
        return ["Maximum of 3 reply buttons allowed"]
    if "reply" in kinds and others:
        return ["Reply buttons cannot be mixed with other button types"]
    if "pix" in kinds and len(buttons) > 1:
        return ["Only one PIX button is allowed"]
    return []


def is_reaction(value: str) -> bool:
    if value == "":
        return True
    return (
        len(value) <= 8
        and not any((ch.isalnum() and ch.isascii()) or ch.isspace() for ch in value)
        and ord(value[0]) >= 0x2000
    )


def send_problems(op: str, body: dict[str, Any]) -> list[str]:
    """A send's problems: the schema's, then the nested items', then the service's."""
    fields, required = SCHEMAS[op]
    problems = check_fields(body, fields, required) or nested_problems(op, body)
    return problems or service_problems(op, body)
