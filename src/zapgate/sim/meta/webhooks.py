"""Webhook bodies of the Meta simulator (pure): ids, the ``whatsapp_business_account`` envelope,
status items, inbound messages, template status updates and the ``X-Hub-Signature-256``
signature (providers.md A.6)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
from typing import Any

from zapgate.sim.meta.errors import status_error

HEX = "0123456789ABCDEF"
INBOUND_TYPES = (
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "button",
    "interactive_button",
    "interactive_list",
    "reaction",
    "location",
    "unsupported",
    "system",
)
MEDIA_DEFAULTS = {
    "image": "image/jpeg",
    "audio": "audio/ogg; codecs=opus",
    "video": "video/mp4",
    "document": "application/pdf",
    "sticker": "image/webp",
}


def wamid(digits: str, *, inbound: bool = False) -> str:
    """An id shaped like Meta's: base64 of a small binary record holding the user's number."""
    raw = digits.encode()[:60]
    tail = "".join(random.choice(HEX) for _ in range(20 if inbound else 18)).encode()
    record = (
        b"\x1c\x18"
        + bytes([len(raw)])
        + raw
        + b"\x15\x02\x00"
        + (b"\x12\x18\x14" if inbound else b"\x11\x18\x12")
        + tail
        + b"\x00"
    )
    return "wamid." + base64.b64encode(record).decode()


def now_s() -> str:
    return str(int(time.time()))


def encode(payload: dict[str, Any]) -> bytes:
    """Compact JSON with non-ASCII escaped as ``\\uXXXX`` (lowercase hex), like Meta's bodies:
    a receiver that re-serialises before checking the signature breaks on emoji."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def envelope(waba_id: str, field: str, value: dict[str, Any], *, time_s: int | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": waba_id}
    if time_s is not None:
        entry["time"] = time_s
    entry["changes"] = [{"value": value, "field": field}]
    return {"object": "whatsapp_business_account", "entry": [entry]}


def messages_value(pnid: str, display: str, **parts: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display, "phone_number_id": pnid},
        **parts,
    }


# -- statuses --------------------------------------------------------------------------------


def status_item(
    *,
    wamid_: str,
    status: str,
    recipient: str,
    tracker: str | None,
    billing: dict[str, Any] | None,
    error: tuple[int, str | None] | None,
) -> dict[str, Any]:
    """One ``statuses[]`` item. ``billing`` (conversation + pricing) goes on sent/delivered."""
    item: dict[str, Any] = {"id": wamid_, "status": status, "timestamp": now_s(), "recipient_id": recipient}
    if tracker is not None:
        item["biz_opaque_callback_data"] = tracker
    if status == "failed" and error is not None:
        item["errors"] = [status_error(*error)]
    elif status in ("sent", "delivered") and billing is not None:
        conversation = dict(billing["conversation"])
        if status != "sent":
            conversation.pop("expiration_timestamp", None)
        item["conversation"] = conversation
        item["pricing"] = billing["pricing"]
    return item


def billing(conversation_id: str, *, category: str, billable: bool, expires_s: int) -> dict[str, Any]:
    return {
        "conversation": {
            "id": conversation_id,
            "expiration_timestamp": str(expires_s),
            "origin": {"type": category},
        },
        "pricing": {
            "billable": billable,
            "pricing_model": "PMP",
            "category": category,
            "type": "regular" if billable else "free_customer_service",
        },
    }


# -- inbound ---------------------------------------------------------------------------------


def inbound_message(
    spec: dict[str, Any], *, id_: str, sender: str, display: str, media_id: str | None, sha256_b64: str | None
) -> dict[str, Any]:
    """The ``messages[]`` item for an injected inbound message (``spec`` = control body)."""
    kind = str(spec["type"])
    message: dict[str, Any] = {}
    reply_to = spec.get("replyTo")
    if reply_to:
        message["context"] = {"from": display, "id": reply_to}
    if isinstance(spec.get("referral"), dict):
        message["referral"] = spec["referral"]
    message.update({"from": sender, "id": id_, "timestamp": now_s()})
    message.update(_inbound_body(kind, spec, media_id=media_id, sha256_b64=sha256_b64))
    return message


def _inbound_body(
    kind: str, spec: dict[str, Any], *, media_id: str | None, sha256_b64: str | None
) -> dict[str, Any]:
    if kind in MEDIA_DEFAULTS:
        return {
            "type": kind,
            kind: _inbound_media(kind, spec.get("media") or {}, media_id=media_id, sha256_b64=sha256_b64),
        }
    if kind == "button":
        title = spec.get("buttonTitle") or spec.get("text") or "OK"
        return {"type": "button", "button": {"payload": spec.get("buttonId") or title, "text": title}}
    if kind in ("interactive_button", "interactive_list"):
        return {"type": "interactive", "interactive": _interactive_reply(kind, spec)}
    if kind == "reaction":
        return {
            "type": "reaction",
            "reaction": {"message_id": spec.get("reactTo") or "", "emoji": spec.get("emoji", "\U0001f44d")},
        }
    if kind == "location":
        return {
            "type": "location",
            "location": {
                "latitude": 37.44221496582,
                "longitude": -122.16165924072,
                "name": "Philz Coffee",
                "address": "101 Forest Ave, Palo Alto, CA 94301",
                **(spec.get("location") or {}),
            },
        }
    if kind == "unsupported":
        return {
            "type": "unsupported",
            "errors": [
                {
                    "code": 131051,
                    "title": "Message type unknown",
                    "message": "Message type unknown",
                    "error_data": {"details": "Message type is currently not supported."},
                }
            ],
        }
    if kind == "system":
        new_id = str(spec.get("newWaId") or "")
        return {
            "type": "system",
            "system": {
                "body": f"User {spec.get('name') or 'Sim User'} changed from {spec['from']} to {new_id}",
                "wa_id": new_id,
                "type": "user_changed_number",
            },
        }
    return {"type": "text", "text": {"body": spec.get("text") or ""}}


def _inbound_media(
    kind: str, media: dict[str, Any], *, media_id: str | None, sha256_b64: str | None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if media.get("caption") and kind in ("image", "video", "document"):
        out["caption"] = media["caption"]
    if kind == "document":
        out["filename"] = media.get("filename") or "file.pdf"
    out.update(
        {"mime_type": media.get("mimeType") or MEDIA_DEFAULTS[kind], "sha256": sha256_b64, "id": media_id}
    )
    if kind == "audio":
        out["voice"] = bool(media.get("voice", True))
    if kind == "sticker":
        out["animated"] = bool(media.get("animated", False))
    return out


def _interactive_reply(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    title = spec.get("buttonTitle") or spec.get("text") or "OK"
    reply: dict[str, Any] = {"id": spec.get("buttonId") or title, "title": title}
    if kind == "interactive_button":
        return {"type": "button_reply", "button_reply": reply}
    if spec.get("description"):
        reply["description"] = spec["description"]
    return {"type": "list_reply", "list_reply": reply}


# -- templates -------------------------------------------------------------------------------


def template_status_value(
    *, event: str, template_id: str, name: str, language: str, category: str, reason: str | None
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "event": event,
        "message_template_id": int(template_id),
        "message_template_name": name,
        "message_template_language": language,
        "reason": reason
        or ("NONE" if event == "APPROVED" else "INVALID_FORMAT" if event == "REJECTED" else None),
        "message_template_category": category,
    }
    if value["reason"] is None:
        del value["reason"]
    if event == "REJECTED":
        value["rejection_info"] = {
            "reason": value["reason"],
            "recommendation": "Review the template guidelines.",
        }
    return value
