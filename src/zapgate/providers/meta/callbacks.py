"""Meta webhook bodies -> our events (pure; never raises on odd input).

Envelope: ``{"object": "whatsapp_business_account", "entry": [{"id": <WABA id>, "changes":
[{"field": ..., "value": {...}}]}]}``. One POST may batch several entries, changes, statuses and
messages: every one is read. Fields and events we do not know are ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from zapgate.providers.base import (
    InboundMedia,
    InboundMessage,
    ProviderEvent,
    StatusUpdate,
    TemplateUpdate,
)
from zapgate.providers.meta import errortable

JsonObject = dict[str, Any]

STATUSES = {"sent": "SENT", "delivered": "DELIVERED", "read": "READ", "played": "READ", "failed": "FAILED"}
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
# Not written by the contact (e.g. "user changed number" notices).
IGNORED_TYPES = {"", "system"}


def parse(body: Any) -> list[ProviderEvent]:
    if not isinstance(body, dict) or body.get("object") != "whatsapp_business_account":
        return []
    events: list[ProviderEvent] = []
    for entry in _objects(body.get("entry")):
        for change in _objects(entry.get("changes")):
            events += _change(entry, change)
    return events


def _objects(value: Any) -> Iterator[JsonObject]:
    """The dict items of a list (anything else: nothing)."""
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _str(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int)):
        return str(value) or None
    return None


def _ms(timestamp: Any) -> int | None:
    seconds = _str(timestamp)
    return int(seconds) * 1000 if seconds is not None and seconds.isdigit() else None


def _change(entry: JsonObject, change: JsonObject) -> list[ProviderEvent]:
    value = change.get("value")
    if not isinstance(value, dict):
        return []
    field = change.get("field")
    if field == "messages":
        return _messages_change(value)
    if field == "message_template_status_update":
        update = _template_update(entry, value)
        return [update] if update is not None else []
    return []


def _messages_change(value: JsonObject) -> list[ProviderEvent]:
    metadata = value.get("metadata")
    route = _str(metadata.get("phone_number_id")) if isinstance(metadata, dict) else None
    events: list[ProviderEvent] = []
    for status in _objects(value.get("statuses")):
        update = _status(status, route)
        if update is not None:
            events.append(update)
    names = _contact_names(value.get("contacts"))
    for message in _objects(value.get("messages")):
        inbound = _inbound(message, route, names)
        if inbound is not None:
            events.append(inbound)
    return events


# -- statuses --------------------------------------------------------------------------------


def _status(status: JsonObject, route: str | None) -> StatusUpdate | None:
    wamid = _str(status.get("id"))
    ours = STATUSES.get(str(status.get("status")))
    if wamid is None or ours is None:
        return None
    code = detail = None
    retryable, retry_after = False, None
    if ours == "FAILED":
        first = next(_objects(status.get("errors")), None)
        code, retryable, retry_after, detail = errortable.failed_status(first)
    return StatusUpdate(
        provider_message_id=wamid,
        status=ours,
        at_ms=_ms(status.get("timestamp")),
        code=code,
        detail=detail,
        retryable=retryable,
        retry_after=retry_after,
        pricing=_pricing(status.get("pricing"), status.get("conversation")),
        our_message_id=_str(status.get("biz_opaque_callback_data")),
        route=route,
    )


def _pricing(pricing: Any, conversation: Any) -> JsonObject | None:
    """Meta's billing verdict in our ``metaPricing`` shape."""
    if not isinstance(pricing, dict):
        return None
    conversation = conversation if isinstance(conversation, dict) else {}
    origin = conversation.get("origin")
    return {
        "conversationId": _str(conversation.get("id")),
        "originType": _str(origin.get("type")) if isinstance(origin, dict) else None,
        "category": _str(pricing.get("category")),
        "type": _str(pricing.get("type")),
    }


# -- inbound messages ------------------------------------------------------------------------


def _contact_names(contacts: Any) -> dict[str, str]:
    names = {}
    for contact in _objects(contacts):
        profile = contact.get("profile")
        name = _str(profile.get("name")) if isinstance(profile, dict) else None
        if name is not None:
            names[_str(contact.get("wa_id")) or ""] = name
    return names


def _inbound(message: JsonObject, route: str | None, names: dict[str, str]) -> InboundMessage | None:
    wamid, sender = _str(message.get("id")), _str(message.get("from"))
    kind = _str(message.get("type")) or ""
    if wamid is None or sender is None or kind in IGNORED_TYPES:
        return None
    # A type we do not know is still the contact writing to us (it opens the 24 h window).
    reader = _READERS.get(kind, _unsupported)
    fields = reader(message.get(kind))
    if fields is None:
        return None
    context = message.get("context")
    name = names.get(sender) or (next(iter(names.values())) if len(names) == 1 else None)
    return InboundMessage(
        provider_message_id=wamid,
        sender="+" + sender.lstrip("+"),
        message_type=kind if kind in _READERS else "unsupported",
        sender_name=name,
        at_ms=_ms(message.get("timestamp")),
        quoted_provider_id=_str(context.get("id")) if isinstance(context, dict) else None,
        route=route,
        **fields,
    )


# Each reader gets the message's object named after its ``type`` (any JSON value) and returns
# the InboundMessage fields it fills, or None to drop a message it cannot read.
Fields = dict[str, Any]


def _part(content: Any) -> JsonObject:
    return content if isinstance(content, dict) else {}


def _text(content: Any) -> Fields:
    return {"text": _str(_part(content).get("body"))}


def _media(content: Any) -> Fields:
    part = _part(content)
    media = InboundMedia(
        id=_str(part.get("id")),
        mime_type=_str(part.get("mime_type")),
        file_name=_str(part.get("filename")),
        caption=_str(part.get("caption")),
    )
    return {"text": media.caption, "media": media}


def _template_button(content: Any) -> Fields:
    part = _part(content)
    return {"text": _str(part.get("text")), "reply_id": _str(part.get("payload"))}


def _interactive(content: Any) -> Fields | None:
    part = _part(content)
    kind = part.get("type")
    reply = part.get(kind) if isinstance(kind, str) else None
    if not isinstance(reply, dict):
        return None
    if kind == "nfm_reply":
        # A completed flow: its answers are the JSON string ``response_json``.
        return {"text": _str(reply.get("response_json")), "reply_id": _str(reply.get("name"))}
    return {"text": _str(reply.get("title")), "reply_id": _str(reply.get("id"))}


def _reaction(content: Any) -> Fields:
    part = _part(content)
    # An empty emoji means the contact removed the reaction: text stays None.
    return {"text": _str(part.get("emoji")), "reaction_to": _str(part.get("message_id"))}


def _location(content: Any) -> Fields:
    part = _part(content)
    described = [_str(part.get(k)) for k in ("name", "address")]
    where = [str(part[k]) for k in ("latitude", "longitude") if part.get(k) is not None]
    return {"text": ", ".join(d for d in described if d) or ",".join(where) or None}


def _contacts(content: Any) -> Fields:
    names = []
    for contact in _objects(content):
        name = contact.get("name")
        formatted = _str(name.get("formatted_name")) if isinstance(name, dict) else None
        if formatted:
            names.append(formatted)
    return {"text": ", ".join(names) or None}


def _unsupported(_: Any) -> Fields:
    return {}


_READERS: dict[str, Callable[[Any], Fields | None]] = {
    "text": _text,
    **dict.fromkeys(MEDIA_TYPES, _media),
    "button": _template_button,
    "interactive": _interactive,
    "reaction": _reaction,
    "location": _location,
    "contacts": _contacts,
    "unsupported": _unsupported,
}


# -- templates -------------------------------------------------------------------------------


def _template_update(entry: JsonObject, value: JsonObject) -> TemplateUpdate | None:
    name, status = _str(value.get("message_template_name")), _str(value.get("event"))
    if name is None or status is None:
        return None
    reason = _str(value.get("reason"))
    return TemplateUpdate(
        name=name,
        status=status.upper(),
        provider_template_id=_str(value.get("message_template_id")),
        language=_str(value.get("message_template_language")),
        reason=None if reason == "NONE" else reason,
        route=_str(entry.get("id")),
    )
