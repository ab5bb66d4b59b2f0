"""Webhook bodies as the official SDK's ``parse_customer_webhook`` accepts them (schema v3).

Body: ``{"id": "evt_...", "event": "...", "createdAt": "...", "data": {...}}``. ``id`` is stable
across retries (the receiver's dedupe key); ``data.internalMessageId`` repeats ``data.id`` for
legacy consumers.
"""

from __future__ import annotations

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


def number_data(
    number: Any, *, at_ms: int, error: str | None = None, error_code: str | None = None
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
    return data
