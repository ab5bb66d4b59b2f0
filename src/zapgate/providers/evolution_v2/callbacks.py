"""Evolution API v2 webhook bodies -> our events (pure, tolerant: odd input yields ``[]``).

Every body is the envelope ``{event, instance, data, destination, date_time, sender,
server_url, apikey}``; ``instance`` (the instance name) is the routing key. Handled events:

* ``messages.update``   receipts of our messages (``fromMe``): SERVER_ACK -> SENT,
                        DELIVERY_ACK -> DELIVERED, READ / PLAYED -> READ, ERROR -> FAILED
* ``messages.upsert``   a contact's message (``fromMe: false``) -> ``InboundMessage`` (a
                        media's ``id`` is the message's key id: ``download_media`` takes it)
* ``connection.update`` the session opened / is connecting / closed / was refused
* ``qrcode.updated``    a new QR code to scan (or the QR limit was reached)

``date_time`` is the server's local wall clock with a ``Z`` appended, so it is not used for
timestamps; receipts carry none (the receiver's clock is used).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from zapgate.providers.base import (
    ConnectionUpdate,
    InboundMedia,
    InboundMessage,
    ProviderEvent,
    StatusUpdate,
)

RECEIPTS = {
    "SERVER_ACK": "SENT",
    "DELIVERY_ACK": "DELIVERED",
    "READ": "READ",
    "PLAYED": "READ",
    "ERROR": "FAILED",
}
# Baileys numeric statuses (older payloads): 0 ERROR ... 5 PLAYED.
NUMERIC_RECEIPTS = {0: "ERROR", 2: "SERVER_ACK", 3: "DELIVERY_ACK", 4: "READ", 5: "PLAYED"}
MEDIA_KEYS = {
    "imageMessage": "image",
    "videoMessage": "video",
    "audioMessage": "audio",
    "documentMessage": "document",
    "stickerMessage": "sticker",
    "ptvMessage": "video",
}
# Wrappers whose ``message`` holds the real content.
WRAPPERS = (
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
    "editedMessage",
)
# Close reasons that end the session for good (Baileys DisconnectReason).
CLOSE_HEALTH = {401: "LOGGED_OUT", 402: "BANNED", 403: "BANNED", 406: "BANNED"}
SKIPPED_JIDS = ("status@broadcast",)
# Protocol noise, not something a person wrote (edits/deletes arrive as messages.edited).
SKIPPED_CONTENT = ("protocolMessage", "pollUpdateMessage", "senderKeyDistributionMessage")

Handler = Callable[[Any, str | None], list[ProviderEvent]]


def parse(body: Any) -> list[ProviderEvent]:
    if not isinstance(body, dict):
        return []
    event = str(body.get("event") or "").lower().replace("_", ".")
    route = body.get("instance") if isinstance(body.get("instance"), str) else None
    handler = HANDLERS.get(event)
    if handler is None:
        return []
    try:
        return handler(body.get("data"), route)
    except (TypeError, ValueError, AttributeError, KeyError):
        return []


def _items(data: Any) -> list[dict[str, Any]]:
    items = data if isinstance(data, list) else [data]
    return [i for i in items if isinstance(i, dict)]


def _each(parse_item: Callable[[dict[str, Any], str | None], ProviderEvent | None]) -> Handler:
    """A handler for ``data`` that is one item or a list of them: the events its items give."""

    def handler(data: Any, route: str | None) -> list[ProviderEvent]:
        events = (parse_item(item, route) for item in _items(data))
        return [event for event in events if event is not None]

    return handler


# -- receipts --------------------------------------------------------------------------------


def _receipt(item: dict[str, Any], route: str | None) -> StatusUpdate | None:
    key: dict[str, Any] = item["key"] if isinstance(item.get("key"), dict) else {}
    key_id = item.get("keyId") or key.get("id")
    from_me = item.get("fromMe", key.get("fromMe"))
    raw = item.get("status")
    raw = NUMERIC_RECEIPTS.get(raw, raw) if isinstance(raw, int) else raw
    status = RECEIPTS.get(str(raw).upper()) if raw is not None else None
    if not isinstance(key_id, str) or not key_id or from_me is not True or status is None:
        return None
    if status == "FAILED":
        return StatusUpdate(
            key_id,
            "FAILED",
            code="PROVIDER_REJECTED",
            route=route,
            detail="Evolution reported status ERROR (no reason given)",
        )
    return StatusUpdate(key_id, status, route=route)


# -- inbound messages ------------------------------------------------------------------------


def _inbound(item: dict[str, Any], route: str | None) -> InboundMessage | None:
    key = item.get("key")
    if not isinstance(key, dict) or key.get("fromMe") is True or not key.get("id"):
        return None
    remote = str(key.get("remoteJid") or "")
    if not remote or remote in SKIPPED_JIDS:
        return None
    content = _content(item)
    if content is None:
        return None
    if isinstance(content.get("media"), InboundMedia):
        # The key id is what ``getBase64FromMediaMessage`` takes (our ``mediaId``).
        content["media"] = dataclasses.replace(content["media"], id=str(key["id"]))
    chat_kind, chat_id, sender, lid = _who(key, remote)
    return InboundMessage(
        provider_message_id=str(key["id"]),
        sender=sender,
        sender_lid=lid,
        sender_name=item.get("pushName") or None,
        at_ms=_at_ms(item.get("messageTimestamp")),
        chat_kind=chat_kind,
        chat_id=chat_id,
        quoted_provider_id=_quoted(item),
        route=route,
        **content,
    )


def _who(key: dict[str, Any], remote: str) -> tuple[str, str | None, str, str | None]:
    """(chat_kind, chat_id, sender, sender_lid) from a Baileys message key."""
    if remote.endswith("@g.us"):
        sender, lid = _person(key.get("participant"), key.get("participantAlt"))
        return "group", remote, sender, lid
    if remote.endswith("@newsletter"):
        return "newsletter", remote, remote, None
    sender, lid = _person(remote, key.get("remoteJidAlt"))
    return "phone", None, sender, lid


def _person(jid: Any, alt: Any) -> tuple[str, str | None]:
    """``+<digits>`` for a phone JID; for an ``@lid`` JID its phone alternative when known,
    else the raw LID (returned as the second item too)."""
    jid = str(jid or "")
    if jid.endswith("@lid"):
        phone = _phone(str(alt or ""))
        return (phone or jid), jid
    return _phone(jid) or jid, None


def _phone(jid: str) -> str | None:
    if not jid.endswith(("@s.whatsapp.net", "@c.us")):
        return None
    user = jid.split("@", 1)[0].split(":", 1)[0]
    return "+" + user if user.isdigit() else None


def _at_ms(value: Any) -> int | None:
    if isinstance(value, dict):  # protobufjs Long
        value = (int(value.get("high") or 0) << 32) + int(value.get("low") or 0)
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return seconds * 1000 if seconds > 0 else None


def _unwrap(message: dict[str, Any]) -> dict[str, Any]:
    for _ in range(4):  # wrappers can nest (ephemeral -> viewOnce -> ...)
        inner = next(
            (
                message[w].get("message")
                for w in WRAPPERS
                if isinstance(message.get(w), dict) and isinstance(message[w].get("message"), dict)
            ),
            None,
        )
        if inner is None:
            return message
        message = {**inner, **{k: v for k, v in message.items() if k == "base64"}}
    return message


def _content(item: dict[str, Any]) -> dict[str, Any] | None:
    """message_type, text, reply_id, reaction_to, media — or None to skip the message."""
    message = item.get("message")
    if not isinstance(message, dict):
        return None
    message = _unwrap(message)
    for key, reader in CONTENT_READERS:
        if isinstance(message.get(key), dict) or (
            key == "conversation" and isinstance(message.get(key), str) and message[key]
        ):
            return reader(message, key)
    if any(k in message for k in SKIPPED_CONTENT):
        return None
    return {"message_type": "unsupported"}


def _conversation(message: dict[str, Any], _key: str) -> dict[str, Any]:
    return {"message_type": "text", "text": message["conversation"]}


def _extended_text(message: dict[str, Any], key: str) -> dict[str, Any]:
    return {"message_type": "text", "text": message[key].get("text")}


def _media(message: dict[str, Any], key: str) -> dict[str, Any]:
    part = message[key]
    caption = part.get("caption") or None
    media = InboundMedia(
        url=part.get("url"),
        mime_type=part.get("mimetype"),
        file_name=part.get("fileName"),
        caption=caption,
        base64=message.get("base64") if isinstance(message.get("base64"), str) else None,
    )
    return {"message_type": MEDIA_KEYS[key], "text": caption, "media": media}


def _buttons_response(message: dict[str, Any], key: str) -> dict[str, Any]:
    part = message[key]
    return {
        "message_type": "button",
        "text": part.get("selectedDisplayText"),
        "reply_id": part.get("selectedButtonId"),
    }


def _template_button_reply(message: dict[str, Any], key: str) -> dict[str, Any]:
    part = message[key]
    return {
        "message_type": "button",
        "text": part.get("selectedDisplayText"),
        "reply_id": part.get("selectedId"),
    }


def _list_response(message: dict[str, Any], key: str) -> dict[str, Any]:
    part = message[key]
    selected = part.get("singleSelectReply") or {}
    return {
        "message_type": "interactive",
        "text": part.get("title"),
        "reply_id": selected.get("selectedRowId"),
    }


def _interactive_response(message: dict[str, Any], key: str) -> dict[str, Any]:
    part = message[key]
    flow = part.get("nativeFlowResponseMessage") or {}
    params: Any = flow.get("paramsJson")
    try:
        params = json.loads(params) if isinstance(params, str) else params
    except ValueError:
        params = None
    reply_id = params.get("id") if isinstance(params, dict) else None
    text = (part.get("body") or {}).get("text")
    return {
        "message_type": "interactive",
        "text": text,
        "reply_id": str(reply_id) if reply_id is not None else None,
    }


def _reaction(message: dict[str, Any], key: str) -> dict[str, Any]:
    part = message[key]
    target = part.get("key") or {}
    return {"message_type": "reaction", "text": part.get("text"), "reaction_to": target.get("id")}


def _location(message: dict[str, Any], key: str) -> dict[str, Any]:
    part = message[key]
    text = part.get("name") or part.get("address")
    if not text and part.get("degreesLatitude") is not None:
        text = f"{part.get('degreesLatitude')},{part.get('degreesLongitude')}"
    return {"message_type": "location", "text": text}


def _contacts(message: dict[str, Any], key: str) -> dict[str, Any]:
    return {"message_type": "contacts", "text": message[key].get("displayName")}


CONTENT_READERS: tuple[tuple[str, Callable[[dict[str, Any], str], dict[str, Any]]], ...] = (
    ("conversation", _conversation),
    ("extendedTextMessage", _extended_text),
    *((k, _media) for k in MEDIA_KEYS),
    ("buttonsResponseMessage", _buttons_response),
    ("templateButtonReplyMessage", _template_button_reply),
    ("listResponseMessage", _list_response),
    ("interactiveResponseMessage", _interactive_response),
    ("reactionMessage", _reaction),
    ("locationMessage", _location),
    ("liveLocationMessage", _location),
    ("contactMessage", _contacts),
    ("contactsArrayMessage", _contacts),
)


def _quoted(item: dict[str, Any]) -> str | None:
    """The quoted message id: ``contextInfo.stanzaId`` at the top (Evolution lifts it there)
    or inside the content part."""
    candidates = [item.get("contextInfo")]
    message = item.get("message")
    if isinstance(message, dict):
        inner = _unwrap(message)
        candidates += [part.get("contextInfo") for part in inner.values() if isinstance(part, dict)]
    for info in candidates:
        if isinstance(info, dict) and isinstance(info.get("stanzaId"), str) and info["stanzaId"]:
            return str(info["stanzaId"])
    return None


# -- connection ------------------------------------------------------------------------------


def _connection(data: Any, route: str | None) -> list[ProviderEvent]:
    if not isinstance(data, dict):
        return []
    state = str(data.get("state") or "").lower()
    reason = data.get("statusReason")
    reason_text = str(reason) if reason is not None else None
    if state == "open":
        return [
            ConnectionUpdate(
                "OPEN",
                reason=reason_text,
                profile_name=data.get("profileName"),
                own_jid=data.get("wuid"),
                route=route,
            )
        ]
    if state == "connecting":
        return [ConnectionUpdate("CONNECTING", reason=reason_text, route=route)]
    if state == "close":
        health = CLOSE_HEALTH.get(_int(reason) or 0, "DISCONNECTED")
        return [ConnectionUpdate("CLOSE", reason=reason_text, health=health, route=route)]
    if state == "refused":
        return [
            ConnectionUpdate(
                "CLOSE", reason=reason_text or "QR code limit reached", health="QR_LIMIT", route=route
            )
        ]
    return []


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _qrcode(data: Any, route: str | None) -> list[ProviderEvent]:
    if not isinstance(data, dict):
        return []
    qrcode = data.get("qrcode")
    if isinstance(qrcode, dict) and (qrcode.get("base64") or qrcode.get("pairingCode")):
        return [
            ConnectionUpdate(
                "CONNECTING",
                qrcode_base64=qrcode.get("base64") or None,
                pairing_code=qrcode.get("pairingCode") or None,
                route=route,
            )
        ]
    if "limit" in str(data.get("message") or "").lower():
        return [ConnectionUpdate("CLOSE", reason=str(data["message"]), health="QR_LIMIT", route=route)]
    return []


HANDLERS: dict[str, Handler] = {
    "messages.update": _each(_receipt),
    "messages.upsert": _each(_inbound),
    "connection.update": _connection,
    "qrcode.updated": _qrcode,
}
