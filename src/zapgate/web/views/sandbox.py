"""The sandbox's inbound simulation on the wire: its request body, checked into a
:class:`SimulatedInbound`, and its answer."""

from __future__ import annotations

from typing import Any

from zapgate import errors
from zapgate.domain import phones
from zapgate.domain.inbound import (
    ID_MAX,
    MEDIA_NAME_MAX,
    NAME_MAX,
    OCTET_STREAM,
    Received,
    SimulatedInbound,
    SimulatedMedia,
)

_CHATS = (
    ("groupId", "groupName", "group", "@g.us"),
    ("newsletterId", "newsletterName", "newsletter", "@newsletter"),
)


def simulated_inbound(body: Any) -> SimulatedInbound:
    """``{from, text, name?, quotedMessageId?, groupId? | newsletterId?, groupName? |
    newsletterName?, media?: {base64, mimeType?, fileName?}}`` (with ``media``, ``text`` is its
    caption and may be left out)."""
    if not isinstance(body, dict):
        raise errors.ValidationFailed("Body must be a JSON object")
    sender = phones.normalize_e164(str(body.get("from", "")))
    text = body.get("text")
    media = _media(body.get("media"))
    if media is not None and text is None:
        text = ""
    if sender is None or not isinstance(text, str) or (not text and media is None):
        raise errors.ValidationFailed(
            "from (E.164) and text are required",
            details=[{"field": "from", "message": "E.164 phone"}, {"field": "text", "message": "required"}],
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
    chat_kind, chat_id, chat_name = _chat(body)
    return SimulatedInbound(
        sender=sender,
        text=text,
        name=name,
        quoted_message_id=quoted if isinstance(quoted, str) else None,
        chat_kind=chat_kind,
        chat_id=chat_id,
        chat_name=chat_name,
        media=media,
    )


def _media(raw: Any) -> SimulatedMedia | None:
    """A simulated contact's media: ``{base64 (raw or a data URI), mimeType?, fileName?}``."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("base64"), str) or not raw["base64"]:
        raise errors.ValidationFailed(
            "media.base64 is required (the media's bytes, base64 or a data URI)",
            details=[{"field": "media.base64", "message": "required"}],
        )
    mime, name = raw.get("mimeType"), raw.get("fileName")
    for field, value in (("mimeType", mime), ("fileName", name)):
        if value is not None and (not isinstance(value, str) or len(value) > MEDIA_NAME_MAX):
            raise errors.ValidationFailed(
                f"media.{field} must be a string of at most {MEDIA_NAME_MAX} characters",
                details=[{"field": f"media.{field}", "message": f"at most {MEDIA_NAME_MAX} characters"}],
            )
    return SimulatedMedia(base64=raw["base64"], mime_type=mime or OCTET_STREAM, file_name=name)


def _chat(body: dict[str, Any]) -> tuple[str, str | None, str | None]:
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


def received(r: Received) -> dict[str, Any]:
    return {"ok": True, "id": r.id, "messageId": r.provider_message_id, "event": r.event}
