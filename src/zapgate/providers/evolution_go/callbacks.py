"""Evolution GO webhook bodies -> our events (pure; never raises).

Envelope: ``{"data", "event", "instanceId", "instanceName", "instanceToken"[, "state"]}``; the
``data`` shapes are whatsmeow's Go structs (capitalised fields) with WhatsApp protobuf messages
inside (lowerCamel, ``ID``/``JID``/``URL`` capitalised). ``route`` is the instance name.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import datetime
from typing import Any

from zapgate.providers.base import (
    ConnectionUpdate,
    InboundMedia,
    InboundMessage,
    ProviderEvent,
    StatusUpdate,
)

RECEIPT_STATES = {"Delivered": "DELIVERED", "Read": "READ"}
RECEIPT_TYPES = {"": "DELIVERED", "read": "READ"}  # data.Type, when ``state`` is missing
BAN_REASONS = {402, 403, 406}  # whatsmeow ConnectFailureReason: temp banned, locked, banned
MEDIA_KINDS = {
    "imageMessage": "image",
    "videoMessage": "video",
    "ptvMessage": "video",
    "audioMessage": "audio",
    "documentMessage": "document",
    "stickerMessage": "sticker",
}
_FRACTION = re.compile(r"(\.\d{1,9})")


def parse(body: Any) -> list[ProviderEvent]:
    if not isinstance(body, dict):
        return []
    try:
        return _parse(body)
    except (AttributeError, KeyError, TypeError, ValueError):
        return []


def _parse(body: dict[str, Any]) -> list[ProviderEvent]:
    event = body.get("event")
    data = _dict(body.get("data"))
    route = body.get("instanceName") if isinstance(body.get("instanceName"), str) else None
    if event == "Receipt":
        return list(_receipts(body, data, route))
    if event == "Message":
        inbound = _inbound(body, data, route)
        return [inbound] if inbound is not None else []
    update = _connection(str(event), data, route)
    return [update] if update is not None else []


# -- receipts -------------------------------------------------------------------------------


def _receipts(body: dict[str, Any], data: dict[str, Any], route: str | None) -> list[StatusUpdate]:
    state = body.get("state")
    status = (
        RECEIPT_STATES.get(state) if isinstance(state, str) else RECEIPT_TYPES.get(str(data.get("Type", "")))
    )
    ids = data.get("MessageIDs")
    if status is None or not isinstance(ids, list):
        return []  # ReadSelf (read on our own other device) and unknown kinds
    at_ms = time_ms(data.get("Timestamp"))
    return [
        StatusUpdate(provider_message_id=i, status=status, at_ms=at_ms, route=route)
        for i in ids
        if isinstance(i, str) and i
    ]


# -- connection -----------------------------------------------------------------------------


def _connection(event: str, data: dict[str, Any], route: str | None) -> ConnectionUpdate | None:
    reason = _text(data.get("reason")) or _text(data.get("Message"))
    if event in ("Connected", "PairSuccess"):
        return ConnectionUpdate(
            "OPEN",
            profile_name=_text(data.get("pushName")),
            own_jid=_text(data.get("jid")) or _text(data.get("ID")),
            route=route,
        )
    if event == "QRCode":
        return ConnectionUpdate("CONNECTING", qrcode_base64=_text(data.get("qrcode")), route=route)
    if event == "Disconnected":
        return ConnectionUpdate("CONNECTING", reason="disconnected; reconnecting", route=route)
    if event == "LoggedOut":
        return ConnectionUpdate("CLOSE", reason=reason, health="LOGGED_OUT", route=route)
    if event == "TemporaryBan":
        return ConnectionUpdate("CLOSE", reason=reason, health="BANNED", route=route)
    if event == "ConnectFailure":
        return ConnectionUpdate(
            "CLOSE", reason=reason, route=route, health=_failure_health(data.get("Reason"))
        )
    if event == "QRTimeout" and data.get("forceLogout") is True:
        return ConnectionUpdate("CLOSE", reason=reason, health="QR_LIMIT", route=route)
    return None


def _failure_health(code: Any) -> str:
    if code == 401:
        return "LOGGED_OUT"
    return "BANNED" if code in BAN_REASONS else "DISCONNECTED"


# -- inbound messages -----------------------------------------------------------------------


def _inbound(body: dict[str, Any], data: dict[str, Any], route: str | None) -> InboundMessage | None:
    info = _dict(data.get("Info"))
    message = _dict(data.get("Message"))
    message_id = _text(info.get("ID"))
    if info.get("IsFromMe") is True or not message_id:
        return None  # typed on our own phone, or nothing to key it by
    sender, sender_lid = _sender(info)
    chat = _text(info.get("Chat")) or ""
    kind, text, reply_id, reaction_to, media = _content(message)
    chat_kind, chat_id, chat_name = _chat(info, chat, data)
    return InboundMessage(
        provider_message_id=message_id,
        sender=sender,
        message_type=kind,
        text=text,
        sender_name=_text(info.get("PushName")),
        at_ms=time_ms(info.get("Timestamp")),
        chat_kind=chat_kind,
        chat_id=chat_id,
        chat_name=chat_name,
        quoted_provider_id=_quoted(message, data),
        reply_id=reply_id,
        reaction_to=reaction_to,
        media=media,
        sender_lid=sender_lid,
        route=route,
    )


def _sender(info: dict[str, Any]) -> tuple[str, str | None]:
    """The phone when one is known (Evolution GO already swaps a ``@lid`` sender with its phone
    alternative; we do the same when it did not), plus the LID when there is one."""
    sender = _text(info.get("Sender")) or _text(info.get("Chat")) or ""
    alt = _text(info.get("SenderAlt")) or ""
    if sender.endswith("@lid") and alt.endswith("@s.whatsapp.net"):
        sender, alt = alt, sender
    lid = _bare(alt) if alt.endswith("@lid") else None
    if sender.endswith("@s.whatsapp.net"):
        return "+" + _user(sender), lid
    bare = _bare(sender)
    return bare, (bare if bare.endswith("@lid") else lid)


def _chat(info: dict[str, Any], chat: str, data: dict[str, Any]) -> tuple[str, str | None, str | None]:
    if info.get("IsGroup") is True or chat.endswith("@g.us"):
        group = _dict(data.get("groupData"))
        return "group", chat, _text(group.get("Name"))
    if chat.endswith("@newsletter"):
        return "newsletter", chat, None
    return "phone", None, None


Content = tuple[str, str | None, str | None, str | None, InboundMedia | None]


def _content(message: dict[str, Any]) -> Content:
    if isinstance(message.get("conversation"), str):
        return "text", message["conversation"], None, None, None
    extended = _dict(message.get("extendedTextMessage"))
    if extended:
        return "text", _text(extended.get("text")), None, None, None
    wrapped = _dict(_dict(message.get("documentWithCaptionMessage")).get("message"))
    for key, kind in MEDIA_KINDS.items():
        part = _dict(message.get(key)) or _dict(wrapped.get(key))
        if part:
            media = _media(part, message)
            return kind, media.caption, None, None, media
    return _interactive(message)


def _media(part: dict[str, Any], message: dict[str, Any]) -> InboundMedia:
    return InboundMedia(
        url=_text(message.get("mediaUrl")),
        mime_type=_text(message.get("mimetype")) or _text(part.get("mimetype")),
        file_name=_text(part.get("fileName")),
        caption=_text(part.get("caption")),
        base64=_text(message.get("base64")),
    )


def _interactive(message: dict[str, Any]) -> Content:
    buttons = _dict(message.get("buttonsResponseMessage"))
    if buttons:
        shown = _text(_dict(buttons.get("Response")).get("SelectedDisplayText")) or _text(
            buttons.get("selectedDisplayText")
        )
        return "button", shown, _text(buttons.get("selectedButtonID")), None, None
    template = _dict(message.get("templateButtonReplyMessage"))
    if template:
        return (
            "button",
            _text(template.get("selectedDisplayText")),
            _text(template.get("selectedID")),
            None,
            None,
        )
    listed = _dict(message.get("listResponseMessage"))
    if listed:
        row = _text(_dict(listed.get("singleSelectReply")).get("selectedRowID"))
        return "interactive", _text(listed.get("title")), row, None, None
    native = _dict(message.get("interactiveResponseMessage"))
    if native:
        return _native_flow(native)
    reaction = _dict(message.get("reactionMessage"))
    if reaction:
        target = _text(_dict(reaction.get("key")).get("ID"))
        return "reaction", _text(reaction.get("text")), None, target, None
    return _other(message)


def _native_flow(native: dict[str, Any]) -> Content:
    """A reply to a native-flow message (what ``/send/button`` and ``/send/list`` send)."""
    flow = _dict(_dict(native.get("InteractiveResponseMessage")).get("NativeFlowResponseMessage"))
    flow = flow or _dict(native.get("nativeFlowResponseMessage"))
    params: Any = {}
    raw = flow.get("paramsJSON") or flow.get("paramsJson")
    if isinstance(raw, str):
        with contextlib.suppress(ValueError):
            params = json.loads(raw)
    reply_id = _text(params.get("id")) if isinstance(params, dict) else None
    kind = "button" if flow.get("name") == "quick_reply" else "interactive"
    return kind, _text(_dict(native.get("body")).get("text")), reply_id, None, None


def _other(message: dict[str, Any]) -> Content:
    location = _dict(message.get("locationMessage"))
    if location:
        return "location", _text(location.get("name")), None, None, None
    contact = _dict(message.get("contactMessage"))
    if contact or message.get("contactsArrayMessage"):
        return "contacts", _text(contact.get("displayName")), None, None, None
    return "unsupported", None, None, None, None


def _quoted(message: dict[str, Any], data: dict[str, Any]) -> str | None:
    for part in message.values():
        stanza = _text(_dict(_dict(part).get("contextInfo")).get("stanzaID"))
        if stanza:
            return stanza
    return _text(_dict(data.get("quoted")).get("stanzaID"))


# -- small helpers --------------------------------------------------------------------------


def time_ms(value: Any) -> int | None:
    """Go RFC 3339 (``2026-03-25T18:40:39.123456789-03:00``) -> epoch milliseconds."""
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    text = value.replace("Z", "+00:00")
    text = _FRACTION.sub(lambda m: m.group(1)[:7].ljust(7, "0"), text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return int(parsed.timestamp() * 1000)


def _bare(jid: str) -> str:
    """Drop the device suffix: ``5511...:23@s.whatsapp.net`` -> ``5511...@s.whatsapp.net``."""
    user, _, server = jid.partition("@")
    return f"{user.split(':')[0]}@{server}" if server else jid


def _user(jid: str) -> str:
    return jid.partition("@")[0].split(":")[0]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
