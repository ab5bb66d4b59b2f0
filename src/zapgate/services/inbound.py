"""Inbound messages from contacts: stored, open the 24 h window, emit ``message.received``."""

from __future__ import annotations

import secrets
from typing import Any

from zapgate import errors
from zapgate.container import Container
from zapgate.domain import ids, phones
from zapgate.domain.inbound import Inbound as Inbound
from zapgate.domain.inbound import QuotedMessage
from zapgate.domain.numbers import Number
from zapgate.services import events, redaction
from zapgate.storage.database import Connection
from zapgate.storage.repositories.inbox import ID_MAX, NAME_MAX, InboxRepository, fitted
from zapgate.webhooks import payloads

# Types the SDK knows; button and interactive replies are text for the customer.
_EVENT_TYPES = {"button": "text", "interactive": "text", "unsupported": "text"}


async def receive(conn: Connection, inbound: Inbound, *, now_ms: int) -> dict[str, Any] | None:
    """Store an inbound message and emit its event. ``None`` when the provider delivered the
    same message before (callbacks are at-least-once)."""
    inbound = fitted(inbound)
    if inbound.provider_message_id and await InboxRepository.inbound_seen(
        conn, inbound.number_id, inbound.provider_message_id
    ):
        return None
    number = await InboxRepository.number(conn, inbound.number_id)
    inbound_id = ids.new_id("cm")
    at = inbound.provider_timestamp or now_ms
    keep = redaction.stores_inbound_content(number.pii_mode)
    await InboxRepository.insert_inbound(
        conn, inbound, inbound_id=inbound_id, at=at, keep_content=keep, now_ms=now_ms
    )
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
    return {"id": inbound_id, "messageId": inbound.provider_message_id, "event": event}


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


async def _quoted(conn: Connection, inbound: Inbound) -> QuotedMessage | None:
    """Our outbound message the contact quoted (``message.reply`` is only for those)."""
    if not inbound.quoted_message_id:
        return None
    found = await InboxRepository.quoted(conn, inbound.number_id, inbound.quoted_message_id)
    if found is None and inbound.simulated:
        return QuotedMessage(None)  # the sandbox simulates replies to arbitrary ids
    return found


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
        provider = await InboxRepository.number_provider(conn, number_id)
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
        chat_kind, chat_id, chat_name = _simulated_chat(body)
        result = await receive(
            conn,
            Inbound(
                number_id=number_id,
                sender=sender,
                text=text,
                sender_name=name if isinstance(name, str) else None,
                provider_message_id="sbx_in_" + secrets.token_hex(10),
                quoted_message_id=quoted if isinstance(quoted, str) else None,
                chat_kind=chat_kind,
                chat_id=chat_id,
                chat_name=chat_name,
                provider=provider,
                simulated=True,
            ),
            now_ms=container.clock.now_ms(),
        )
    container.wake.webhooks.set()
    assert result is not None  # a fresh provider id is never a duplicate
    return {"ok": True, **result}


_CHATS = (
    ("groupId", "groupName", "group", "@g.us"),
    ("newsletterId", "newsletterName", "newsletter", "@newsletter"),
)


def _simulated_chat(body: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """A simulated message in a group (``groupId`` …@g.us, ``groupName``) or a channel
    (``newsletterId`` …@newsletter, ``newsletterName``); a direct chat otherwise."""
    found = [chat for chat in _CHATS if body.get(chat[0]) is not None]
    if len(found) > 1:
        raise errors.ValidationFailed("Give groupId or newsletterId, not both")
    if not found:
        return "phone", None, None
    id_field, name_field, kind, suffix = found[0]
    chat_id, chat_name = body.get(id_field), body.get(name_field)
    if not isinstance(chat_id, str) or not chat_id.endswith(suffix) or len(chat_id) > ID_MAX:
        raise errors.ValidationFailed(
            f"{id_field} must be a {kind} id ending in {suffix}",
            details=[{"field": id_field, "message": f"…{suffix}, at most {ID_MAX} characters"}],
        )
    if chat_name is not None and (not isinstance(chat_name, str) or len(chat_name) > NAME_MAX):
        raise errors.ValidationFailed(
            f"{name_field} must be a string of at most {NAME_MAX} characters",
            details=[{"field": name_field, "message": f"at most {NAME_MAX} characters"}],
        )
    return kind, chat_id, chat_name
