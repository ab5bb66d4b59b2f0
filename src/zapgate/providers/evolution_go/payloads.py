"""OutboundMessage -> Evolution GO request bodies (pure).

One send becomes a short plan of calls; the last call carries the message and its answer holds
the provider id (``data.Info.ID``). Voice notes are preceded by a "recording..." presence.

Evolution GO rejects empty strings in the required fields of ``/send/button`` and ``/send/list``
(``title``, ``description``, ``footer``/``footerText``, ``buttonText``: 400 "... is required"),
so a missing title or footer is sent as a zero-width space: nothing visible, but not empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

from zapgate import errors
from zapgate.providers.base import OutboundMessage

BLANK = "\u200b"
MEDIA_TYPES = {"image": "image", "video": "video", "document": "document", "audio": "audio", "voice": "audio"}
TEMPLATE_MEDIA = {"IMAGE": "image", "VIDEO": "video", "DOCUMENT": "document"}
BUTTON_KINDS = {
    "reply": "reply",
    "QUICK_REPLY": "reply",
    "url": "url",
    "URL": "url",
    "call": "call",
    "PHONE_NUMBER": "call",
    "copy": "copy",
    "COPY_CODE": "copy",
}


@dataclass(frozen=True)
class Call:
    path: str
    body: dict[str, Any]


@dataclass(frozen=True)
class SendPlan:
    """Calls in order; the last one sends the message."""

    calls: tuple[Call, ...]

    @property
    def send(self) -> Call:
        return self.calls[-1]


def build(message: OutboundMessage) -> SendPlan:
    number = recipient(message)
    payload = message.payload
    mode = message.mode or payload.get("mode")
    if mode == "text":
        return SendPlan((_text(number, payload),))
    if mode == "media":
        return _media(number, payload)
    if mode == "list":
        return SendPlan((_list(number, payload),))
    if mode == "template":
        return SendPlan((_template(number, payload),))
    raise errors.ProviderPermanentError(
        f"Evolution GO cannot send {mode!r} messages", code="PROVIDER_REJECTED"
    )


def recipient(message: OutboundMessage) -> str:
    """Phones as bare digits; group, newsletter and other JIDs as they are."""
    if message.destination_kind == "phone" and "@" not in message.destination:
        return message.destination.lstrip("+")
    return message.destination


# -- modes ----------------------------------------------------------------------------------


def _text(number: str, payload: dict[str, Any]) -> Call:
    text = str(payload.get("text") or "")
    buttons = payload.get("buttons") or []
    if not buttons:
        return Call("/send/text", {"number": number, "text": text})
    header = payload.get("header") or {}
    title = header.get("content") if str(header.get("type", "")).lower() == "text" else None
    return _button_call(number, title=title, description=text, footer=payload.get("footer"), buttons=buttons)


def _media(number: str, payload: dict[str, Any]) -> SendPlan:
    url = media_url(payload.get("media"))
    kind = str(payload.get("mediaType") or "image")
    if kind == "sticker":
        return SendPlan((Call("/send/sticker", {"number": number, "sticker": url}),))
    media_type = MEDIA_TYPES.get(kind)
    if media_type is None:
        raise errors.ProviderPermanentError(
            f"Evolution GO cannot send {kind!r} media", code="MEDIA_UNSUPPORTED"
        )
    body = _media_body(
        number, url, media_type, caption=payload.get("caption"), file_name=payload.get("fileName")
    )
    if media_type != "audio":
        return SendPlan((Call("/send/media", body),))
    # Audio always goes out as a voice note; show "recording..." first, as a person would.
    presence = Call("/message/presence", {"number": number, "state": "composing", "isAudio": True})
    return SendPlan((presence, Call("/send/media", body)))


def _list(number: str, payload: dict[str, Any]) -> Call:
    spec = payload.get("list") or {}
    sections = [_section(s) for s in spec.get("sections") or []]
    return Call(
        "/send/list",
        {
            "number": number,
            "title": _filled(spec.get("title")),
            "description": _filled(payload.get("text")),
            "footerText": _filled(spec.get("footer") or payload.get("footer")),
            "buttonText": _filled(spec.get("buttonText")),
            "sections": sections,
        },
    )


def _template(number: str, payload: dict[str, Any]) -> Call:
    template = payload.get("template") or {}
    header = template.get("header") or {}
    header_type = str(header.get("type", "")).upper()
    body = str(template.get("body") or "")
    footer = template.get("footer")
    if template.get("buttons"):
        title = header.get("text") if header_type == "TEXT" else None
        return _button_call(number, title=title, description=body, footer=footer, buttons=template["buttons"])
    media_type = TEMPLATE_MEDIA.get(header_type)
    if media_type is not None:
        url = media_url(payload.get("media") or header.get("url"))
        caption = render_text(header=None, body=body, footer=footer)
        return Call("/send/media", _media_body(number, url, media_type, caption=caption, file_name=None))
    title = header.get("text") if header_type == "TEXT" else None
    return Call("/send/text", {"number": number, "text": render_text(header=title, body=body, footer=footer)})


# -- pieces ---------------------------------------------------------------------------------


def render_text(*, header: str | None, body: str, footer: str | None) -> str:
    """A template as WhatsApp text: ``*header*``, the body, then ``_footer_``."""
    parts = [f"*{header}*"] if header else []
    parts.append(body)
    if footer:
        parts.append(f"_{footer}_")
    return "\n\n".join(parts)


def media_url(value: Any) -> str:
    """Evolution GO only takes media by http(s) URL in JSON (it downloads it itself)."""
    url = str(value or "")
    if not url.lower().startswith(("http://", "https://")):
        raise errors.ProviderPermanentError(
            "Evolution GO only accepts media by http(s) URL, not base64 or data: URIs",
            code="MEDIA_UNSUPPORTED",
        )
    return url


def _media_body(number: str, url: str, media_type: str, *, caption: Any, file_name: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"number": number, "url": url, "type": media_type}
    if caption and media_type != "audio":
        body["caption"] = str(caption)
    name = file_name or (_url_file_name(url) if media_type == "document" else None)
    if name:
        body["filename"] = str(name)
    return body


def _url_file_name(url: str) -> str | None:
    name = unquote(urlparse(url).path.rsplit("/", 1)[-1])
    return name or None


def _button_call(
    number: str, *, title: Any, description: str, footer: Any, buttons: list[dict[str, Any]]
) -> Call:
    return Call(
        "/send/button",
        {
            "number": number,
            "title": _filled(title),
            "description": _filled(description),
            "footer": _filled(footer),
            "buttons": [button(b) for b in buttons],
        },
    )


def button(spec: dict[str, Any]) -> dict[str, str]:
    """Our button (``reply|url|call|copy`` or the template spelling) -> Evolution GO's."""
    kind = BUTTON_KINDS.get(str(spec.get("type")), "reply")
    label = str(spec.get("label") or spec.get("text") or "")
    out = {"type": kind, "displayText": label}
    if kind == "reply":
        out["id"] = str(spec.get("id") or label)
    elif kind == "url":
        out["url"] = str(spec.get("url") or "")
    elif kind == "call":
        out["phoneNumber"] = str(spec.get("phoneNumber") or spec.get("phone_number") or "")
    else:
        out["copyCode"] = str(spec.get("copyCode") or spec.get("example") or "")
    return out


def _section(spec: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for row in spec.get("rows") or []:
        title = str(row.get("title") or "")
        rows.append(
            {
                "title": title,
                "description": str(row.get("description") or ""),
                "rowId": str(row.get("rowId") or row.get("id") or title),
            }
        )
    return {"title": str(spec.get("title") or ""), "rows": rows}


def _filled(value: Any) -> str:
    text = str(value or "")
    return text if text.strip() else BLANK
