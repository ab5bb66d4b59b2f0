"""Inbound messages from contacts: stored, open the 24 h window, emit ``message.received``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate import errors
from zapgate.container import Container
from zapgate.domain import ids, phones
from zapgate.services import events, redaction
from zapgate.storage import tables as t
from zapgate.webhooks import payloads


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


NAME_MAX = 200  # inbound_messages.sender_name, contacts.name
ID_MAX = 128  # inbound_messages.provider_message_id, quoted_message_id, chat_id
_SIZES = {
    "sender_name": NAME_MAX,
    "provider_message_id": ID_MAX,
    "quoted_message_id": ID_MAX,
    "chat_id": ID_MAX,
    "reply_id": 256,
    "sender": 80,
}
# Types the SDK knows; button and interactive replies are text for the customer.
_EVENT_TYPES = {"button": "text", "interactive": "text", "unsupported": "text"}


async def receive(conn: AsyncConnection, inbound: Inbound, *, now_ms: int) -> dict[str, Any] | None:
    """Store an inbound message and emit its event. ``None`` when the provider delivered the
    same message before (callbacks are at-least-once)."""
    inbound = _fitted(inbound)
    if inbound.provider_message_id and await _seen(conn, inbound):
        return None
    number = (await conn.execute(sa.select(t.numbers).where(t.numbers.c.id == inbound.number_id))).one()
    inbound_id = ids.new_id("cm")
    at = inbound.provider_timestamp or now_ms
    keep = redaction.stores_inbound_content(number.pii_mode)
    await conn.execute(
        sa.insert(t.inbound_messages).values(
            id=inbound_id,
            number_id=inbound.number_id,
            sender=inbound.sender,
            message_type=inbound.message_type,
            provider_message_id=inbound.provider_message_id,
            quoted_message_id=inbound.quoted_message_id,
            chat_kind=inbound.chat_kind,
            chat_id=inbound.chat_id,
            reply_id=inbound.reply_id,
            provider_timestamp=at,
            created_at=now_ms,
            **_content_columns(inbound, keep, now_ms),
        )
    )
    if inbound.chat_kind == "phone":
        await _touch_contact(conn, inbound, at, keep_name=keep)
    # The event is built from what the provider sent, not from the row: a RELAY_ONLY number
    # still hands the customer everything.
    event, data = await _event(conn, inbound, inbound_id, number, at)
    await events.emit(
        conn, number_id=inbound.number_id, event=event, data=data, order_key=inbound_id, seq=0, now_ms=now_ms
    )
    return {"id": inbound_id, "messageId": inbound.provider_message_id, "event": event}


def _content_columns(inbound: Inbound, keep: bool, now_ms: int) -> dict[str, Any]:
    if keep:
        return {"text": inbound.text, "sender_name": inbound.sender_name, "media": inbound.media}
    return {"text": None, "sender_name": None, "media": sa.null(), "redacted_at": now_ms}


def _fitted(inbound: Inbound) -> Inbound:
    """What a provider sent, cut to the columns' sizes rather than refused, so one odd callback
    cannot stall the inbox (PostgreSQL refuses a longer value; WhatsApp's names have at most 25
    characters and its ids about 60)."""
    cut: dict[str, Any] = {
        name: value[:size]
        for name, size in _SIZES.items()
        if isinstance(value := getattr(inbound, name), str) and len(value) > size
    }
    return replace(inbound, **cut) if cut else inbound


async def _seen(conn: AsyncConnection, inbound: Inbound) -> bool:
    c = t.inbound_messages.c
    return (
        await conn.execute(
            sa.select(c.id).where(
                c.number_id == inbound.number_id, c.provider_message_id == inbound.provider_message_id
            )
        )
    ).first() is not None


async def _event(
    conn: AsyncConnection, inbound: Inbound, inbound_id: str, number: Any, at: int
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
    data.update(_media_fields(inbound))
    if inbound.reply_id:
        data["replyId"] = inbound.reply_id  # additive: the button / row id chosen
    if inbound.chat_kind == "group":
        data.update(groupId=inbound.chat_id, groupName=inbound.chat_name)
        return "message.group", data
    if inbound.chat_kind == "newsletter":
        data.update(newsletterId=inbound.chat_id, newsletterName=inbound.chat_name)
        return "message.newsletter", data
    quoted = await _quoted(conn, inbound)
    if quoted is not None:
        data["quotedMessageId"] = inbound.quoted_message_id
        if quoted.content is not None:
            data["contentReplied"] = quoted.content
        return "message.reply", data
    return "message.received", data


async def _quoted(conn: AsyncConnection, inbound: Inbound) -> Any:
    """Our outbound message the contact quoted (``message.reply`` is only for those)."""
    if not inbound.quoted_message_id:
        return None
    m = t.messages.c
    found = (
        await conn.execute(
            sa.select(m.id, m.content).where(
                m.number_id == inbound.number_id, m.provider_message_id == inbound.quoted_message_id
            )
        )
    ).first()
    if found is None and inbound.simulated:
        return _Quoted(None)  # the sandbox simulates replies to arbitrary ids
    return found


@dataclass(frozen=True)
class _Quoted:
    content: str | None


def _media_fields(inbound: Inbound) -> dict[str, Any]:
    media = inbound.media or {}
    fields = {
        "mediaLink": media.get("url"),
        "mediaType": media.get("mimeType"),
        "mediaCaption": media.get("caption"),
        "mediaFilename": media.get("fileName"),
    }
    out = {k: v for k, v in fields.items() if v}
    if media.get("id"):
        out["mediaId"] = media["id"]
        if inbound.phone_number_id:
            out["phoneNumberId"] = inbound.phone_number_id
    return out


async def _touch_contact(conn: AsyncConnection, inbound: Inbound, at: int, *, keep_name: bool) -> None:
    c = t.contacts.c
    found = (
        await conn.execute(
            sa.select(c.last_inbound_at).where(c.number_id == inbound.number_id, c.contact == inbound.sender)
        )
    ).first()
    values = {"last_inbound_at": at, "last_inbound_provider_id": inbound.provider_message_id}
    if inbound.sender_name and keep_name:
        values["name"] = inbound.sender_name
    if found is None:
        await conn.execute(
            sa.insert(t.contacts).values(number_id=inbound.number_id, contact=inbound.sender, **values)
        )
    elif found.last_inbound_at is None or found.last_inbound_at <= at:
        await conn.execute(
            sa.update(t.contacts)
            .where(c.number_id == inbound.number_id, c.contact == inbound.sender)
            .values(**values)
        )


async def simulate(container: Container, *, number_id: str, body: Any) -> dict[str, Any]:
    """``POST /v1/sandbox/inbound``: a contact writes to a sandbox number."""
    if not isinstance(body, dict):
        raise errors.ValidationFailed("Body must be a JSON object")
    sender = phones.normalize_e164(str(body.get("from", "")))
    text = body.get("text")
    if sender is None or not isinstance(text, str) or not text:
        raise errors.ValidationFailed(
            "from (E.164) and text are required",
            details=[{"field": "from", "message": "E.164 phone"}, {"field": "text", "message": "required"}],
        )
    async with container.db.write() as conn:
        provider = (
            await conn.execute(sa.select(t.numbers.c.provider).where(t.numbers.c.id == number_id))
        ).scalar_one()
        if not container.providers.features(provider).simulated:
            raise errors.ValidationFailed(
                "Only sandbox numbers can simulate inbound messages", code="NOT_A_SANDBOX_NUMBER"
            )
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > NAME_MAX):
            raise errors.ValidationFailed(
                f"name must be a string of at most {NAME_MAX} characters",
                details=[{"field": "name", "message": f"at most {NAME_MAX} characters"}],
            )
        quoted = body.get("quotedMessageId")
        if isinstance(quoted, str) and len(quoted) > ID_MAX:
            raise errors.ValidationFailed(
                f"quotedMessageId must be a message id of at most {ID_MAX} characters",
                details=[{"field": "quotedMessageId", "message": f"at most {ID_MAX} characters"}],
            )
        result = await receive(
            conn,
            Inbound(
                number_id=number_id,
                sender=sender,
                text=text,
                sender_name=name if isinstance(name, str) else None,
                provider_message_id="sbx_in_" + secrets.token_hex(10),
                quoted_message_id=quoted if isinstance(quoted, str) else None,
                provider=provider,
                simulated=True,
            ),
            now_ms=container.clock.now_ms(),
        )
    container.wake.webhooks.set()
    assert result is not None  # a fresh provider id is never a duplicate
    return {"ok": True, **result}
