"""``OutboundMessage`` -> one Evolution API v2 send request (pure).

Evolution has one endpoint per message type (``POST /message/<endpoint>/{instance}``). Text
goes to ``sendText``, buttons to ``sendButtons`` (WhatsApp native-flow buttons), lists to
``sendList``, media to ``sendMedia`` / ``sendWhatsAppAudio`` (voice note) / ``sendSticker``.
Templates are ours, not WhatsApp's: they are rendered to text (or a media caption) here.

Evolution cannot carry every button set: reply buttons are at most 3 and cannot be mixed with
url/call/copy buttons in one message. Such sets, and buttons on a video/document header, fall
back to plain text with the buttons written out, so nothing the caller wrote is lost.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from typing import Any

from zapgate import errors
from zapgate.providers.base import OutboundMessage

URL = re.compile(r"https?://", re.IGNORECASE)
MAX_REPLY_BUTTONS = 3
# Extensions for base64 documents without a file name (Evolution requires one).
DOCUMENT_EXTENSIONS = {
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-powerpoint": ".ppt",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "text/plain": ".txt",
    "text/csv": ".csv",
    "application/zip": ".zip",
    "application/json": ".json",
    "application/xml": ".xml",
    "text/xml": ".xml",
}
TEMPLATE_BUTTON_TYPES = {"QUICK_REPLY": "reply", "URL": "url", "PHONE_NUMBER": "call", "COPY_CODE": "copy"}


@dataclass(frozen=True)
class SendRequest:
    endpoint: str  # sendText | sendMedia | sendWhatsAppAudio | sendSticker | sendButtons | sendList
    body: dict[str, Any]


@dataclass(frozen=True)
class Media:
    """A media reference as Evolution takes it: an http(s) URL, or raw base64 + its MIME type
    (Evolution rejects ``data:`` URIs)."""

    media: str
    mimetype: str | None = None

    @property
    def is_base64(self) -> bool:
        return self.mimetype is not None


def build(message: OutboundMessage, *, audio_presence_ms: int) -> SendRequest:
    number = recipient(message)
    payload = message.payload
    mode = payload.get("mode", message.mode)
    if mode == "text":
        return _text_like(
            number,
            payload.get("text") or "",
            buttons=payload.get("buttons"),
            header=payload.get("header"),
            footer=payload.get("footer"),
        )
    if mode == "media":
        return _media(number, payload, audio_presence_ms=audio_presence_ms)
    if mode == "list":
        return _list(number, payload)
    if mode == "template":
        return _template(number, payload)
    raise errors.ProviderPermanentError(
        f"Evolution API v2 cannot send {mode!r} messages", code="PROVIDER_REJECTED"
    )


def recipient(message: OutboundMessage) -> str:
    """Evolution's ``number``: bare digits for phones, the JID as is for groups/channels."""
    if message.destination_kind == "phone":
        return "".join(ch for ch in message.destination if ch.isdigit())
    return message.destination


def split_media(value: str) -> Media:
    """An http(s) URL stays as is; a ``data:<mime>;base64,<data>`` URI becomes its raw part."""
    if value[:5].lower() != "data:":
        return Media(value)
    head, _, data = value.partition(",")
    mimetype = head[5:].split(";", 1)[0] or "application/octet-stream"
    return Media(data, mimetype)


# -- text and buttons ------------------------------------------------------------------------


def _send_text(number: str, text: str) -> SendRequest:
    body: dict[str, Any] = {"number": number, "text": text}
    if URL.search(text):
        body["linkPreview"] = True
    return SendRequest("sendText", body)


def _text_like(
    number: str,
    text: str,
    *,
    buttons: list[dict[str, Any]] | None,
    header: dict[str, Any] | None,
    footer: str | None,
) -> SendRequest:
    """Text with optional buttons, a header (``{type: text|image|video|document, content}``)
    and a footer; the header and footer only exist together with buttons."""
    header_type = (header or {}).get("type")
    header_text = (header or {}).get("content") if header_type == "text" else None
    media_url = (header or {}).get("content") if header_type not in (None, "text") else None
    native = evolution_buttons(buttons or [])
    if buttons and native is not None and (media_url is None or _thumbnail_ok(header_type, media_url)):
        return _send_buttons(
            number, title=header_text, description=text, footer=footer, buttons=native, thumbnail=media_url
        )
    rendered = render_text(text, header=header_text, footer=footer, buttons=buttons or [])
    if media_url is not None:
        return _send_media(number, str(header_type), split_media(media_url), caption=rendered, file_name=None)
    return _send_text(number, rendered)


def _thumbnail_ok(header_type: str | None, media_url: str) -> bool:
    # sendButtons only takes an image header (``thumbnailUrl``), and only by URL.
    return header_type == "image" and not split_media(media_url).is_base64


def _send_buttons(
    number: str,
    *,
    title: str | None,
    description: str,
    footer: str | None,
    buttons: list[dict[str, str]],
    thumbnail: str | None,
) -> SendRequest:
    body: dict[str, Any] = {
        "number": number,
        "title": title or "",
        "description": description,
        "buttons": buttons,
    }
    if footer:
        body["footer"] = footer
    if thumbnail:
        body["thumbnailUrl"] = thumbnail
    return SendRequest("sendButtons", body)


def evolution_buttons(buttons: list[dict[str, Any]]) -> list[dict[str, str]] | None:
    """Our buttons as ``sendButtons`` items, or ``None`` when Evolution would refuse the set
    (more than 3 reply buttons, or reply buttons mixed with other kinds)."""
    replies = sum(1 for b in buttons if b.get("type") == "reply")
    if replies and (replies > MAX_REPLY_BUTTONS or replies != len(buttons)):
        return None
    return [_button(b) for b in buttons]


def _button(button: dict[str, Any]) -> dict[str, str]:
    kind = str(button.get("type"))
    label = str(button.get("label") or "")
    if kind == "reply":
        return {"type": "reply", "displayText": label, "id": str(button.get("id") or label)}
    field = {"url": "url", "call": "phoneNumber", "copy": "copyCode"}.get(kind, "id")
    return {"type": kind, "displayText": label, field: str(button.get(field) or "")}


def render_text(
    text: str,
    *,
    header: str | None = None,
    footer: str | None = None,
    buttons: list[dict[str, Any]] | None = None,
) -> str:
    """WhatsApp-formatted text: ``*header*``, the body, buttons written out, ``_footer_``."""
    parts = [f"*{header}*"] if header else []
    parts.append(text)
    lines = [_button_line(b) for b in buttons or []]
    if lines:
        parts.append("\n".join(lines))
    if footer:
        parts.append(f"_{footer}_")
    return "\n\n".join(p for p in parts if p)


def _button_line(button: dict[str, Any]) -> str:
    label = button.get("label") or ""
    value = button.get(
        {"url": "url", "call": "phoneNumber", "copy": "copyCode"}.get(str(button.get("type")), "-")
    )
    return f"• {label}: {value}" if value else f"• {label}"


# -- lists -----------------------------------------------------------------------------------


def _list(number: str, payload: dict[str, Any]) -> SendRequest:
    spec = payload.get("list") or {}
    button_text = str(spec.get("buttonText") or "")
    body: dict[str, Any] = {
        "number": number,
        "title": str(spec.get("title") or ""),
        "description": payload.get("text") or "",
        # Required by Evolution's schema even when empty.
        "footerText": str(payload.get("footer") or spec.get("footer") or spec.get("footerText") or ""),
        "buttonText": button_text,
        "sections": [_section(s, button_text) for s in spec.get("sections") or []],
    }
    return SendRequest("sendList", body)


def _section(section: dict[str, Any], fallback_title: str) -> dict[str, Any]:
    # Evolution refuses empty section titles.
    return {
        "title": str(section.get("title") or fallback_title or "-"),
        "rows": [_row(r) for r in section.get("rows") or []],
    }


def _row(row: dict[str, Any]) -> dict[str, str]:
    title = str(row.get("title") or "")
    out = {"title": title, "rowId": str(row.get("rowId") or row.get("id") or title)}
    if row.get("description"):  # an empty description is refused, a missing one is fine
        out["description"] = str(row["description"])
    return out


# -- media -----------------------------------------------------------------------------------


def _media(number: str, payload: dict[str, Any], *, audio_presence_ms: int) -> SendRequest:
    media = split_media(str(payload.get("media") or ""))
    media_type = str(payload.get("mediaType") or "image")
    if media_type in ("audio", "voice"):
        # Evolution shows "recording..." for ``delay`` ms, then sends the voice note.
        return SendRequest(
            "sendWhatsAppAudio", {"number": number, "audio": media.media, "delay": audio_presence_ms}
        )
    if media_type == "sticker":
        return SendRequest("sendSticker", {"number": number, "sticker": media.media})
    return _send_media(
        number, media_type, media, caption=payload.get("caption"), file_name=payload.get("fileName")
    )


def _send_media(
    number: str, media_type: str, media: Media, *, caption: str | None, file_name: str | None
) -> SendRequest:
    body: dict[str, Any] = {"number": number, "mediatype": media_type, "media": media.media}
    if media.mimetype:
        body["mimetype"] = media.mimetype
    if caption:
        body["caption"] = caption
    if not file_name and media.is_base64 and media_type == "document":
        file_name = "document" + document_extension(media.mimetype or "")
    if file_name:
        body["fileName"] = file_name
    return SendRequest("sendMedia", body)


def document_extension(mimetype: str) -> str:
    mimetype = mimetype.lower()
    return DOCUMENT_EXTENSIONS.get(mimetype) or mimetypes.guess_extension(mimetype) or ""


# -- templates -------------------------------------------------------------------------------


def _template(number: str, payload: dict[str, Any]) -> SendRequest:
    """Our templates rendered by us: Evolution (Baileys) has no template messages."""
    template = payload.get("template") or {}
    header = template.get("header") or {}
    header_type = str(header.get("type") or "").lower()
    media_url = payload.get("media") or (header.get("url") if header_type != "text" else None)
    ours: dict[str, Any] | None = None
    if media_url:
        media_type = payload.get("mediaType") or (
            header_type if header_type in ("image", "video", "document") else "image"
        )
        ours = {"type": media_type, "content": media_url}
    elif header_type == "text" and header.get("text"):
        ours = {"type": "text", "content": header["text"]}
    return _text_like(
        number,
        template.get("body") or "",
        buttons=[template_button(b) for b in template.get("buttons") or []],
        header=ours,
        footer=template.get("footer"),
    )


def template_button(button: dict[str, Any]) -> dict[str, Any]:
    """A template button (Meta-style) in our send-request button shape."""
    kind = TEMPLATE_BUTTON_TYPES.get(str(button.get("type")).upper(), "reply")
    out: dict[str, Any] = {"type": kind, "label": button.get("text") or "Copy code"}
    if kind == "reply":
        out["id"] = out["label"]
    elif kind == "url":
        out["url"] = button.get("url")
    elif kind == "call":
        out["phoneNumber"] = button.get("phone_number") or button.get("phoneNumber")
    else:
        out["copyCode"] = button.get("example") or button.get("copyCode")
    return out
