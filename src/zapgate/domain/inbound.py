"""Inbound messages from contacts, and what the inbox reads to authenticate callbacks (pure)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field, replace
from typing import Any

NAME_MAX = 200  # a contact's, group's or channel's name (inbound_messages.sender_name, contacts.name)
ID_MAX = 128  # a provider's message or chat id (provider_message_id, quoted_message_id, chat_id)
MEDIA_NAME_MAX = 255  # a kept media's mime type and file name (inbound_media)
OCTET_STREAM = "application/octet-stream"


@dataclass(frozen=True)
class Inbound:
    number_id: str
    sender: str  # E.164, or the provider's id (…@lid) when no phone is known
    text: str | None
    sender_name: str | None = None
    provider_message_id: str | None = None
    quoted_message_id: str | None = None
    message_type: str = "text"
    provider_timestamp: int | None = None
    chat_kind: str = "phone"  # phone | group | newsletter
    chat_id: str | None = None
    chat_name: str | None = None
    reply_id: str | None = None  # the button / list row chosen
    media: dict[str, Any] | None = None  # {id, url, mimeType, fileName, caption}
    provider: str | None = None
    # Sent as ``phoneNumberId`` with a ``mediaId``: Meta's phone number id, else the number's id.
    phone_number_id: str | None = None
    # What the provider handed over with the media, for Zapgate's own store (``KeptMedia``):
    # its bytes as raw base64 (Evolution GO's webhook, the sandbox), or the link to read them
    # from later (Evolution GO with S3/MinIO; set only for kinds that read such links).
    media_base64: str | None = field(default=None, repr=False)
    media_link: str | None = field(default=None, repr=False)
    # A simulated provider (the sandbox): a reply may quote any id.
    simulated: bool = False


@dataclass(frozen=True)
class Received:
    """An inbound message stored: its id, the provider's id, and the event it emitted."""

    id: str
    provider_message_id: str | None
    event: str


@dataclass(frozen=True)
class KeptMedia:
    """An inbound media Zapgate keeps for ``GET /v1/media/{id}``: its bytes, or the provider's
    link to them, or neither when it was larger than the download limit (``size`` says how
    large; the download then answers 413)."""

    number_id: str
    media_id: str  # the ``mediaId`` of the message's webhook
    mime_type: str | None = None
    file_name: str | None = None
    content: bytes | None = field(default=None, repr=False)
    link: str | None = field(default=None, repr=False)
    size: int | None = None


def kept_media(inbound: Inbound, *, max_bytes: int) -> KeptMedia | None:
    """What to keep of an inbound message's media, under the id its webhook will carry (the
    provider's media id, else the message's): its bytes up to ``max_bytes`` (their size alone
    past it), else its link; None when the provider handed neither over, or bad base64."""
    media = inbound.media or {}
    media_id = media.get("id") or inbound.provider_message_id
    if not media_id or (inbound.media_base64 is None and inbound.media_link is None):
        return None
    kept = KeptMedia(
        number_id=inbound.number_id,
        media_id=str(media_id)[:ID_MAX],
        mime_type=_name(media.get("mimeType")),
        file_name=_name(media.get("fileName")),
    )
    encoded = _bare_base64(inbound.media_base64)
    if encoded is None:
        return replace(kept, link=inbound.media_link) if inbound.media_link else None
    size = len(encoded.rstrip("=")) * 3 // 4  # judged before decoding: no copy of a huge one
    if size > max_bytes:
        return replace(kept, link=inbound.media_link, size=None if inbound.media_link else size)
    try:
        content = base64.b64decode(encoded)
    except (binascii.Error, ValueError):
        return replace(kept, link=inbound.media_link) if inbound.media_link else None
    return replace(kept, content=content, size=len(content))


def _bare_base64(value: str | None) -> str | None:
    """Raw base64 (a ``data:…;base64,`` prefix dropped, whitespace too); None when empty."""
    if not value:
        return None
    if value.startswith("data:"):
        value = value.partition(",")[2]
    return "".join(value.split()) or None


def _name(value: Any) -> str | None:
    return value[:MEDIA_NAME_MAX] if isinstance(value, str) and value else None


@dataclass(frozen=True)
class SimulatedMedia:
    """A sandbox contact's media: its bytes (base64, raw or a data URI) and how they are named."""

    base64: str = field(repr=False)
    mime_type: str = OCTET_STREAM
    file_name: str | None = None

    @property
    def kind(self) -> str:
        """The message type a real provider would report for it."""
        family = self.mime_type.partition("/")[0]
        return family if family in ("image", "video", "audio") else "document"


@dataclass(frozen=True)
class SimulatedInbound:
    """A contact writing to a sandbox number (``POST /v1/sandbox/inbound``), checked: ``sender``
    is E.164; ``chat_kind`` phone, group (``chat_id`` …@g.us) or newsletter (…@newsletter)."""

    sender: str
    text: str
    name: str | None = None
    quoted_message_id: str | None = None
    chat_kind: str = "phone"
    chat_id: str | None = None
    chat_name: str | None = None
    media: SimulatedMedia | None = None  # ``text`` is then its caption


@dataclass(frozen=True)
class QuotedMessage:
    """Our outbound message a contact quoted."""

    content: str | None


@dataclass(frozen=True)
class SealedCallbackNumber:
    """A live number as callback authentication reads it: credentials still sealed."""

    id: str
    route: str | None  # the provider's reference (Meta phone_number_id, Evolution instance)
    credentials_enc: str | None = field(default=None, repr=False)
    # A dual number's second link (its own instance and secret): None for one link.
    secondary_credentials_enc: str | None = field(default=None, repr=False)
