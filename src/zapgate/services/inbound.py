"""Inbound messages from contacts: stored, open the 24 h window, emit ``message.received``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate import errors
from zapgate.container import Container
from zapgate.domain import ids, phones
from zapgate.services import events
from zapgate.storage import tables as t
from zapgate.webhooks import payloads


@dataclass(frozen=True)
class Inbound:
    number_id: str
    sender: str  # E.164
    text: str | None
    sender_name: str | None = None
    provider_message_id: str | None = None
    quoted_message_id: str | None = None
    message_type: str = "text"
    provider_timestamp: int | None = None


async def receive(conn: AsyncConnection, inbound: Inbound, *, now_ms: int) -> dict[str, Any]:
    number = (await conn.execute(sa.select(t.numbers).where(
        t.numbers.c.id == inbound.number_id))).one()
    inbound_id = ids.new_id("cm")
    at = inbound.provider_timestamp or now_ms
    await conn.execute(sa.insert(t.inbound_messages).values(
        id=inbound_id, number_id=inbound.number_id, sender=inbound.sender,
        sender_name=inbound.sender_name, message_type=inbound.message_type, text=inbound.text,
        provider_message_id=inbound.provider_message_id,
        quoted_message_id=inbound.quoted_message_id, provider_timestamp=at, created_at=now_ms))
    await _touch_contact(conn, inbound, at)
    data = payloads.inbound_data(
        number_id=inbound.number_id, inbound_id=inbound_id,
        provider_message_id=inbound.provider_message_id, sender=inbound.sender,
        to_number=number.number, text=inbound.text, sender_name=inbound.sender_name, at_ms=at,
        message_type=inbound.message_type)
    event = "message.received"
    if inbound.quoted_message_id:
        event = "message.reply"
        data["quotedMessageId"] = inbound.quoted_message_id
    await events.emit(conn, number_id=inbound.number_id, event=event, data=data,
                      order_key=inbound_id, seq=0, now_ms=now_ms)
    return {"id": inbound_id, "messageId": inbound.provider_message_id, "event": event}


async def _touch_contact(conn: AsyncConnection, inbound: Inbound, at: int) -> None:
    c = t.contacts.c
    found = (await conn.execute(sa.select(c.last_inbound_at).where(
        c.number_id == inbound.number_id, c.contact == inbound.sender))).first()
    values = {"last_inbound_at": at, "last_inbound_provider_id": inbound.provider_message_id}
    if inbound.sender_name:
        values["name"] = inbound.sender_name
    if found is None:
        await conn.execute(sa.insert(t.contacts).values(
            number_id=inbound.number_id, contact=inbound.sender, **values))
    elif found.last_inbound_at is None or found.last_inbound_at <= at:
        await conn.execute(sa.update(t.contacts).where(
            c.number_id == inbound.number_id, c.contact == inbound.sender).values(**values))


async def simulate(container: Container, *, number_id: str, body: Any) -> dict[str, Any]:
    """``POST /v1/sandbox/inbound``: a contact writes to a sandbox number."""
    if not isinstance(body, dict):
        raise errors.ValidationFailed("Body must be a JSON object")
    sender = phones.normalize_e164(str(body.get("from", "")))
    text = body.get("text")
    if sender is None or not isinstance(text, str) or not text:
        raise errors.ValidationFailed("from (E.164) and text are required", details=[
            {"field": "from", "message": "E.164 phone"}, {"field": "text", "message": "required"}])
    async with container.db.write() as conn:
        provider = (await conn.execute(sa.select(t.numbers.c.provider).where(
            t.numbers.c.id == number_id))).scalar_one()
        if provider != "sandbox":
            raise errors.ValidationFailed("Only sandbox numbers can simulate inbound messages",
                                          code="NOT_A_SANDBOX_NUMBER")
        name = body.get("name")
        quoted = body.get("quotedMessageId")
        result = await receive(conn, Inbound(
            number_id=number_id, sender=sender, text=text,
            sender_name=name if isinstance(name, str) else None,
            provider_message_id="sbx_in_" + secrets.token_hex(10),
            quoted_message_id=quoted if isinstance(quoted, str) else None,
        ), now_ms=container.clock.now_ms())
    container.wake.webhooks.set()
    return {"ok": True, **result}
