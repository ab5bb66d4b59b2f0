"""Our outbound message -> the body of ``POST /{v}/{phone-number-id}/messages`` (pure).

One builder per mode; :func:`build` picks it. Media given as a ``data:`` URI is uploaded by the
adapter first (:func:`upload_source` says which value, :func:`decode_data_uri` gives the bytes);
the builders then reference it by the upload ``id`` instead of a ``link``.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zapgate import errors
from zapgate.providers.base import OutboundMessage

JsonObject = dict[str, Any]

URL = re.compile(r"https?://", re.IGNORECASE)
DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[^;,]*)*),(?P<data>.*)$", re.DOTALL)
MEDIA_KINDS = {"image", "video", "document", "sticker", "audio", "voice"}
HEADER_MEDIA = {"image", "video", "document"}
FLOW_MESSAGE_VERSION = "3"


@dataclass(frozen=True)
class Upload:
    """A ``data:`` URI decoded for ``POST /{v}/{phone-number-id}/media``."""

    mime_type: str
    content: bytes
    file_name: str


def rejected(message: str) -> errors.ProviderPermanentError:
    return errors.ProviderPermanentError(message, code="PROVIDER_REJECTED")


def is_data_uri(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("data:")


# -- the envelope ----------------------------------------------------------------------------


def build(message: OutboundMessage, *, media_id: str | None = None) -> JsonObject:
    """The whole send body; ``media_id`` replaces the ``data:`` value :func:`upload_source`
    named (required when there is one)."""
    if message.destination_kind != "phone":
        raise rejected(f"Meta numbers cannot send to a {message.destination_kind}")
    builder = _BUILDERS.get(message.mode)
    if builder is None:
        raise rejected(f"Meta numbers cannot send {message.mode!r} messages")
    kind, content = builder(message.payload, media_id)
    return {**envelope(message), "type": kind, kind: content}


def envelope(message: OutboundMessage) -> JsonObject:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.destination.lstrip("+"),
        "biz_opaque_callback_data": message.message_id,
    }


def mark_read(provider_message_id: str) -> JsonObject:
    """Read receipt for the contact's last inbound message + typing indicator (same endpoint)."""
    return {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": provider_message_id,
        "typing_indicator": {"type": "text"},
    }


# -- media references ------------------------------------------------------------------------


def upload_source(message: OutboundMessage) -> str | None:
    """The ``data:`` URI this message carries (media, button header or template header
    override), if any: it has to be uploaded before the send."""
    payload = message.payload
    candidates: list[Any] = [payload.get("media")]
    header = payload.get("header")
    if isinstance(header, dict):
        candidates.append(header.get("content"))
    return next((c for c in candidates if is_data_uri(c)), None)


def decode_data_uri(uri: str, *, file_name: str | None = None) -> Upload:
    match = DATA_URI.match(uri)
    if match is None or ";base64" not in match.group("params"):
        raise rejected("Media data URI must look like data:<mime>;base64,<data>")
    try:
        content = base64.b64decode(match.group("data"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise rejected("Media data URI does not hold valid base64") from exc
    mime = match.group("mime") or "application/octet-stream"
    return Upload(mime_type=mime, content=content, file_name=file_name or _file_name(mime))


def _file_name(mime: str) -> str:
    extension = mimetypes.guess_extension(mime.split(";")[0].strip()) or ".bin"
    return "media" + extension


def media_object(value: str, media_id: str | None) -> JsonObject:
    """``{"link": url}`` or, for an uploaded ``data:`` URI, ``{"id": media_id}``."""
    if is_data_uri(value):
        if media_id is None:
            raise rejected("Base64 media must be uploaded before sending")
        return {"id": media_id}
    return {"link": value}


# -- text and reply buttons ------------------------------------------------------------------


def text_message(payload: JsonObject, media_id: str | None) -> tuple[str, JsonObject]:
    buttons = payload.get("buttons") or []
    if buttons:
        return "interactive", _interactive_buttons(payload, buttons, media_id)
    body = str(payload.get("text") or "")
    content: JsonObject = {"body": body}
    if URL.search(body):
        content["preview_url"] = True
    return "text", content


def _interactive_buttons(payload: JsonObject, buttons: list[JsonObject], media_id: str | None) -> JsonObject:
    kinds = [b.get("type") for b in buttons]
    if all(k == "reply" for k in kinds):
        if len(buttons) > 3:
            raise rejected("Meta allows at most 3 reply buttons")
        action: JsonObject = {"buttons": [_reply_button(b) for b in buttons]}
        kind = "button"
    elif kinds == ["url"]:
        action = {
            "name": "cta_url",
            "parameters": {"display_text": buttons[0].get("label"), "url": buttons[0].get("url")},
        }
        kind = "cta_url"
    else:
        raise rejected(
            "Meta session messages carry either 1-3 reply buttons or a single url button; "
            f"got {', '.join(str(k) for k in kinds)} (use an approved template for "
            "call/copy or mixed buttons)"
        )
    return _interactive(kind, payload, action, header=_button_header(payload, media_id))


def _reply_button(button: JsonObject) -> JsonObject:
    label = button.get("label")
    return {"type": "reply", "reply": {"id": button.get("id") or label, "title": label}}


def _button_header(payload: JsonObject, media_id: str | None) -> JsonObject | None:
    header = payload.get("header")
    if not isinstance(header, dict):
        return None
    kind, content = header.get("type"), str(header.get("content") or "")
    if kind == "text":
        return {"type": "text", "text": content}
    if kind in HEADER_MEDIA:
        return {"type": kind, str(kind): media_object(content, media_id)}
    raise rejected(f"Unsupported button header type {kind!r}")


def _interactive(
    kind: str,
    payload: JsonObject,
    action: JsonObject,
    *,
    header: JsonObject | None = None,
    body: str | None = None,
) -> JsonObject:
    out: JsonObject = {"type": kind}
    if header is not None:
        out["header"] = header
    out["body"] = {"text": body if body is not None else str(payload.get("text") or "")}
    if payload.get("footer"):
        out["footer"] = {"text": payload["footer"]}
    out["action"] = action
    return out


# -- list ------------------------------------------------------------------------------------


def list_message(payload: JsonObject, _media_id: str | None) -> tuple[str, JsonObject]:
    spec = payload.get("list")
    if not isinstance(spec, dict):
        raise rejected("List messages need a list object")
    sections = [_section(s) for s in spec.get("sections") or [] if isinstance(s, dict)]
    action = {"button": spec.get("buttonText"), "sections": sections}
    return "interactive", _interactive("list", payload, action)


def _section(section: JsonObject) -> JsonObject:
    out: JsonObject = {}
    if section.get("title"):
        out["title"] = section["title"]
    out["rows"] = [_row(r) for r in section.get("rows") or [] if isinstance(r, dict)]
    return out


def _row(row: JsonObject) -> JsonObject:
    out: JsonObject = {"id": row.get("rowId") or row.get("id"), "title": row.get("title")}
    if row.get("description"):
        out["description"] = row["description"]
    return out


# -- media -----------------------------------------------------------------------------------


def media_message(payload: JsonObject, media_id: str | None) -> tuple[str, JsonObject]:
    media_type = str(payload.get("mediaType") or "image")
    if media_type not in MEDIA_KINDS:
        raise rejected(f"Unsupported media type {media_type!r}")
    content = media_object(str(payload.get("media") or ""), media_id)
    if media_type in ("audio", "voice"):
        # Both are sent as voice notes (PTT), as the API promises for audio and voice.
        return "audio", {**content, "voice": True}
    if media_type in HEADER_MEDIA and payload.get("caption"):
        content["caption"] = payload["caption"]
    if media_type == "document" and payload.get("fileName"):
        content["filename"] = payload["fileName"]
    return media_type, content


# -- template --------------------------------------------------------------------------------


def template_message(payload: JsonObject, media_id: str | None) -> tuple[str, JsonObject]:
    template = payload.get("template")
    if not isinstance(template, dict) or not template.get("name"):
        raise rejected("Template messages need the template's name and language")
    placement = template.get("placement") or {}
    parameters = {str(k): str(v) for k, v in (template.get("parameters") or {}).items()}
    components = [
        c
        for c in (
            _template_header(template, placement, parameters, payload.get("media"), media_id),
            _named_component("body", placement.get("body"), parameters),
        )
        if c is not None
    ]
    components += _url_buttons(placement.get("buttons"), parameters)
    components += _copy_code_buttons(template.get("buttons"))
    content: JsonObject = {"name": template["name"], "language": {"code": template.get("language")}}
    if components:
        content["components"] = components
    return "template", content


def _named_component(kind: str, names: Any, parameters: dict[str, str]) -> JsonObject | None:
    if not names:
        return None
    return {
        "type": kind,
        "parameters": [
            {"type": "text", "parameter_name": name, "text": _value(parameters, name)} for name in names
        ],
    }


def _value(parameters: dict[str, str], name: str) -> str:
    if name not in parameters:
        raise rejected(f"Template variable {name!r} has no value")
    return parameters[name]


def _template_header(
    template: JsonObject,
    placement: JsonObject,
    parameters: dict[str, str],
    override: Any,
    media_id: str | None,
) -> JsonObject | None:
    raw = template.get("header")
    header: JsonObject = raw if isinstance(raw, dict) else {}
    kind = str(header.get("type") or "").lower()
    if kind in HEADER_MEDIA:
        source = override if isinstance(override, str) and override else header.get("url")
        if not source:
            raise rejected(f"Template {template.get('name')!r} needs header media")
        return {"type": "header", "parameters": [{"type": kind, kind: media_object(str(source), media_id)}]}
    return _named_component("header", placement.get("header"), parameters)


def _url_buttons(buttons: Any, parameters: dict[str, str]) -> list[JsonObject]:
    if not isinstance(buttons, dict):
        return []
    out = []
    for index, names in sorted(buttons.items(), key=lambda item: int(item[0])):
        if names:
            out.append(
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": str(index),
                    "parameters": [{"type": "text", "text": _value(parameters, names[0])}],
                }
            )
    return out


def _copy_code_buttons(buttons: Any) -> list[JsonObject]:
    """A copy-code button's code is a send parameter at Meta; ours is fixed in the template."""
    if not isinstance(buttons, list):
        return []
    return [
        {
            "type": "button",
            "sub_type": "copy_code",
            "index": str(index),
            "parameters": [{"type": "coupon_code", "coupon_code": str(button["example"])}],
        }
        for index, button in enumerate(buttons)
        if isinstance(button, dict)
        and str(button.get("type")).upper() == "COPY_CODE"
        and button.get("example")
    ]


# -- flow ------------------------------------------------------------------------------------


def flow_message(payload: JsonObject, _media_id: str | None) -> tuple[str, JsonObject]:
    flow = payload.get("flow")
    if not isinstance(flow, dict) or not flow.get("flowId") or not flow.get("cta"):
        raise rejected("Flow messages need flow.flowId and flow.cta")
    action_kind = str(flow.get("action") or "navigate")
    parameters: JsonObject = {
        "flow_message_version": FLOW_MESSAGE_VERSION,
        "flow_id": flow["flowId"],
        "flow_cta": flow["cta"],
        "flow_action": action_kind,
    }
    token = payload.get("flowToken") or flow.get("token")
    if token:
        parameters["flow_token"] = token
    if action_kind == "navigate" and flow.get("screen"):
        action_payload: JsonObject = {"screen": flow["screen"]}
        if flow.get("data"):
            action_payload["data"] = flow["data"]
        parameters["flow_action_payload"] = action_payload
    if flow.get("mode"):
        parameters["mode"] = flow["mode"]
    body = str(payload.get("text") or flow["cta"])
    return "interactive", _interactive("flow", payload, {"name": "flow", "parameters": parameters}, body=body)


Builder = Callable[[JsonObject, str | None], tuple[str, JsonObject]]

_BUILDERS: dict[str, Builder] = {
    "text": text_message,
    "list": list_message,
    "media": media_message,
    "template": template_message,
    "flow": flow_message,
}
