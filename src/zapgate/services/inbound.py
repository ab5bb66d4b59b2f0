"""Inbound messages from contacts: stored, open the 24 h window, emit ``message.received``."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from zapgate import errors
from zapgate.container import Container
from zapgate.domain import ids
from zapgate.domain.inbound import Inbound as Inbound
from zapgate.domain.inbound import QuotedMessage, Received, SimulatedInbound, kept_media
from zapgate.domain.numbers import Number
from zapgate.services import events, redaction
from zapgate.storage.database import Connection
from zapgate.storage.repositories.inbox import InboxRepository, fitted
from zapgate.storage.repositories.media import MediaRepository
from zapgate.webhooks import payloads

# Types the SDK knows; button and interactive replies are text for the customer.
_EVENT_TYPES = {"button": "text", "interactive": "text", "unsupported": "text"}


async def receive(
    conn: Connection, inbound: Inbound, *, now_ms: int, media_max_bytes: int = 0
) -> Received | None:
    """Store an inbound message and emit its event. ``None`` when the provider delivered the
    same message before (callbacks are at-least-once). Media the provider handed over
    (``media_base64`` / ``media_link``) is kept for ``GET /v1/media`` when the number's PII mode
    stores inbound content: its bytes up to ``media_max_bytes`` (past it, only its size, and
    the download answers 413)."""
    inbound = fitted(inbound)
    if inbound.provider_message_id and await InboxRepository.inbound_seen(
        conn, inbound.number_id, inbound.provider_message_id
    ):
        return None
    number = await InboxRepository.number(conn, inbound.number_id)
    inbound_id = ids.new_id("cm")
    at = inbound.provider_timestamp or now_ms
    keep = redaction.stores_inbound_content(number.pii_mode)
    kept = kept_media(inbound, max_bytes=media_max_bytes) if keep else None
    if kept is not None:
        # The webhook (and the stored message) name the kept media by its id.
        inbound = replace(inbound, media={**(inbound.media or {}), "id": kept.media_id})
    await InboxRepository.insert_inbound(
        conn, inbound, inbound_id=inbound_id, at=at, keep_content=keep, now_ms=now_ms
    )
    if kept is not None:
        await MediaRepository.insert(conn, kept, now_ms=now_ms)
    if inbound.chat_kind == "phone":
        await InboxRepository.touch_contact(
            conn,
            number_id=inbound.number_id,
            contact=inbound.sender,
            at=at,
            provider_message_id=inbound.provider_message_id,
            name=inbound.sender_name if keep else None,
        )
    # The event is built from what the provider sent, not from the row: a RELAY_ONLY number
    # still hands the customer everything.
    event, data = await _event(conn, inbound, inbound_id, number, at)
    await events.emit(
        conn, number_id=inbound.number_id, event=event, data=data, order_key=inbound_id, seq=0, now_ms=now_ms
    )
    return Received(inbound_id, inbound.provider_message_id, event)


async def _event(
    conn: Connection, inbound: Inbound, inbound_id: str, number: Number, at: int
) -> tuple[str, dict[str, Any]]:
    data = payloads.inbound_data(
        number_id=inbound.number_id,
        inbound_id=inbound_id,
        provider_message_id=inbound.provider_message_id,
        sender=inbound.sender,
        to_number=number.number,
        text=inbound.text,
        sender_name=inbound.sender_name,
        at_ms=at,
        message_type=_EVENT_TYPES.get(inbound.message_type, inbound.message_type),
    )
    data.update(payloads.inbound_media(inbound.media, phone_number_id=inbound.phone_number_id))
    if inbound.reply_id:
        data["replyId"] = inbound.reply_id  # additive: the button / row id chosen
    if inbound.chat_kind in ("group", "newsletter"):
        data.update(payloads.chat_fields(inbound.chat_kind, inbound.chat_id, inbound.chat_name))
        return f"message.{inbound.chat_kind}", data
    quoted = await _quoted(conn, inbound)
    if quoted is not None:
        data.update(payloads.reply_fields(inbound.quoted_message_id, quoted.content))
        return "message.reply", data
    return "message.received", data


async def _quoted(conn: Connection, inbound: Inbound) -> QuotedMessage | None:
    """Our outbound message the contact quoted (``message.reply`` is only for those)."""
    if not inbound.quoted_message_id:
        return None
    found = await InboxRepository.quoted(conn, inbound.number_id, inbound.quoted_message_id)
    if found is None and inbound.simulated:
        return QuotedMessage(None)  # the sandbox simulates replies to arbitrary ids
    return found


async def simulate(container: Container, *, number_id: str, inbound: SimulatedInbound) -> Received:
    """``POST /v1/sandbox/inbound``: a contact writes to a sandbox number."""
    async with container.db.write() as conn:
        provider = await InboxRepository.number_provider(conn, number_id)
        if not container.providers.features(provider).simulated:
            raise errors.ValidationFailed(
                "Only sandbox numbers can simulate inbound messages", code="NOT_A_SANDBOX_NUMBER"
            )
        result = await receive(
            conn,
            _simulated(number_id, provider, inbound),
            now_ms=container.clock.now_ms(),
            media_max_bytes=container.settings.media_max_bytes,
        )
    container.wake.webhooks.set()
    assert result is not None  # a fresh provider id is never a duplicate
    return result


def _simulated(number_id: str, provider: str, inbound: SimulatedInbound) -> Inbound:
    """A sandbox contact's message as a provider would have delivered it (its media's bytes
    handed over, as Evolution GO's webhook does)."""
    media = inbound.media
    return Inbound(
        number_id=number_id,
        sender=inbound.sender,
        text=inbound.text,
        sender_name=inbound.name,
        provider_message_id="sbx_in_" + secrets.token_hex(10),
        quoted_message_id=inbound.quoted_message_id,
        message_type=media.kind if media is not None else "text",
        chat_kind=inbound.chat_kind,
        chat_id=inbound.chat_id,
        chat_name=inbound.chat_name,
        media=None
        if media is None
        else _fields(mimeType=media.mime_type, fileName=media.file_name, caption=inbound.text),
        media_base64=None if media is None else media.base64,
        provider=provider,
        phone_number_id=number_id,
        simulated=True,
    )


def _fields(**fields: str | None) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value}
