"""Webhook bodies as the official SDK's ``parse_customer_webhook`` accepts them (schema v3).

Body: ``{"id": "evt_...", "event": "...", "createdAt": "...", "data": {...}}``. ``id`` is stable
across retries (the receiver's dedupe key); ``data.internalMessageId`` repeats ``data.id`` for
legacy consumers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zapgate.clock import iso
from zapgate.domain.queue import LockedMessage

STATUS_EVENTS = {
    "SENT": "message.sent",
    "DELIVERED": "message.delivered",
    "READ": "message.read",
    "FAILED": "message.failed",
}

# Events an endpoint can subscribe to by name; number health events arrive only with "*".
SUBSCRIBABLE_EVENTS = (
    "message.sent",
    "message.delivered",
    "message.read",
    "message.failed",
    "message.received",
    "message.reply",
    "message.group",
    "message.newsletter",
    "number.created",
    "number.connected",
    "number.disconnected",
    "number.removed",
    "number.restored",
)
WILDCARD_ONLY_EVENTS = (
    "number.health_blocked",
    "number.health_degraded",
    "number.health_shadowban",
    "number.recovered",
)

_SDK_TYPES = {"text", "image", "audio", "video", "document", "location", "contacts", "sticker", "reaction"}


def envelope(event_id: str, event: str, created_at_ms: int, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "event": event, "createdAt": iso(created_at_ms), "data": data}


def message_status_data(
    message: LockedMessage,
    *,
    status: str,
    at_ms: int,
    from_number: str,
    error: str | None = None,
    error_code: str | None = None,
) -> dict[str, Any]:
    """``data`` of message.sent / delivered / read / failed for a ``messages`` row."""
    data: dict[str, Any] = {
        "numberId": message.number_id,
        "id": message.id,
        "internalMessageId": message.id,
        "messageId": message.provider_message_id,
        "correlationId": message.correlation_id,
        "fromMe": True,
        "from": "+" + from_number,
        "to": message.destination,
        "createdAt": iso(at_ms),
        "status": status,
    }
    if message.message_type in _SDK_TYPES:
        data["type"] = message.message_type
    if message.content is not None:
        data["content"] = message.content
    payload = message.payload or {}
    if payload.get("media"):
        media = str(payload["media"])
        if not media.startswith("data:"):
            data["mediaLink"] = media
        data["mediaType"] = str(payload.get("mediaType", "image"))
        if payload.get("caption"):
            data["mediaCaption"] = str(payload["caption"])
    if message.template_name:
        data["template"] = message.template_name
    if status == "FAILED":
        data["error"] = error or "Message failed"
        if error_code:
            data["errorCode"] = error_code
    return data


def inbound_data(
    *,
    number_id: str,
    inbound_id: str,
    provider_message_id: str | None,
    sender: str,
    to_number: str,
    text: str | None,
    sender_name: str | None,
    at_ms: int,
    message_type: str = "text",
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "numberId": number_id,
        "id": inbound_id,
        "messageId": provider_message_id,
        "fromMe": False,
        "from": sender,
        "to": "+" + to_number,
        "participantName": sender_name,
        "createdAt": iso(at_ms),
    }
    if message_type in _SDK_TYPES:
        data["type"] = message_type
    if text is not None:
        data["content"] = text
    return data


def inbound_media(media: Mapping[str, Any] | None, *, phone_number_id: str | None) -> dict[str, Any]:
    """The media fields of an inbound message's event (``media``: ``{id, url, mimeType,
    fileName, caption}`` as the provider adapter read them, ``id`` also when Zapgate keeps the
    media itself); ``mediaId`` with the ``phoneNumberId`` it is downloaded through
    (``GET /v1/media``): Meta's phone number id, or the Zapgate number id of other numbers."""
    media = media or {}
    fields = {
        "mediaLink": media.get("url"),
        "mediaType": media.get("mimeType"),
        "mediaCaption": media.get("caption"),
        "mediaFilename": media.get("fileName"),
    }
    out = {k: v for k, v in fields.items() if v}
    if media.get("id"):
        out["mediaId"] = media["id"]
        if phone_number_id:
            out["phoneNumberId"] = phone_number_id
    return out


def chat_fields(kind: str, chat_id: str | None, chat_name: str | None) -> dict[str, Any]:
    """Where a ``message.group`` / ``message.newsletter`` was written."""
    return {f"{kind}Id": chat_id, f"{kind}Name": chat_name}


def reply_fields(quoted_message_id: str | None, content_replied: str | None) -> dict[str, Any]:
    """A ``message.reply``: the message quoted and, when it is ours and stored, its content."""
    out: dict[str, Any] = {"quotedMessageId": quoted_message_id}
    if content_replied is not None:
        out["contentReplied"] = content_replied
    return out


def number_data(
    number: Any,
    *,
    at_ms: int,
    error: str | None = None,
    error_code: str | None = None,
    profile_name: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "numberId": number.id,
        "phone": "+" + number.number,
        "displayName": number.name,
        "createdAt": iso(at_ms),
    }
    if error:
        data["error"] = error
    if error_code:
        data["errorCode"] = error_code
    if profile_name:
        data["profileName"] = profile_name
    return data


def test_data(*, webhook_id: str, number_id: str, at_ms: int) -> dict[str, Any]:
    """``webhook.test``'s data."""
    return {
        "webhookId": webhook_id,
        "numberId": number_id,
        "createdAt": iso(at_ms),
        "message": "Test event from Zapgate: your endpoint is reachable.",
    }
