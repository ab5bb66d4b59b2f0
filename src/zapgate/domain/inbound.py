"""Inbound messages from contacts, and what the inbox reads to authenticate callbacks (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NAME_MAX = 200  # a contact's, group's or channel's name (inbound_messages.sender_name, contacts.name)
ID_MAX = 128  # a provider's message or chat id (provider_message_id, quoted_message_id, chat_id)


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
    provider: str | None = None  # for Meta media ids (phoneNumberId is exposed with them)
    phone_number_id: str | None = None
    # A simulated provider (the sandbox): a reply may quote any id.
    simulated: bool = False


@dataclass(frozen=True)
class Received:
    """An inbound message stored: its id, the provider's id, and the event it emitted."""

    id: str
    provider_message_id: str | None
    event: str


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
