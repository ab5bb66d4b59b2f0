"""Message shapes of the Evolution API v2 simulator (pure): the Baileys message a send returns
and the ``messages.upsert`` data of an injected inbound message."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
from typing import Any

from zapgate.sim.common import new_hex_id
from zapgate.sim.evolution_v2.validate import BUTTON_FLOWS

CDN = "https://mmg.whatsapp.net/v/t62.7118-24/"
MEDIA_MIMES = {
    "image": "image/jpeg",
    "video": "video/mp4",
    "audio": "audio/mpeg",
    "document": "application/octet-stream",
}


def _long(value: int) -> dict[str, Any]:
    return {"low": value, "high": 0, "unsigned": True}


def _media_part(kind: str, mimetype: str, **extra: Any) -> dict[str, Any]:
    token = secrets.token_hex(8)
    part: dict[str, Any] = {
        "url": f"{CDN}{token}.enc",
        "mimetype": mimetype,
        "fileSha256": base64.b64encode(secrets.token_bytes(32)).decode(),
        "fileLength": _long(48213),
        "mediaKeyTimestamp": _long(int(time.time())),
        "directPath": f"/v/t62.7118-24/{token}.enc",
    }
    if kind == "image":
        part.update(height=1280, width=960)
    part.update({k: v for k, v in extra.items() if v not in (None, "")})
    return part


def sent_content(op: str, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The Baileys message Evolution returns for a send, flattened like ``prepareMessage``."""
    if op == "sendText":
        return {"conversation": body["text"]}, "conversation"
    if op == "sendMedia":
        return _sent_media(body)
    if op == "sendWhatsAppAudio":
        part = _media_part("audio", "audio/ogg; codecs=opus", ptt=True, seconds=3)
        return {"audioMessage": part}, "audioMessage"
    if op == "sendSticker":
        return {"stickerMessage": _media_part("sticker", "image/webp")}, "stickerMessage"
    if op == "sendButtons":
        return _sent_buttons(body), "viewOnceMessage"
    if op == "sendList":
        return {
            "listMessage": {
                "title": body["title"],
                "description": body.get("description"),
                "buttonText": body["buttonText"],
                "footerText": body["footerText"],
                "sections": body["sections"],
                "listType": 2,
            }
        }, "listMessage"
    if op == "sendReaction":
        return {"reactionMessage": {"key": body["key"], "text": body["reaction"]}}, "reactionMessage"
    return {
        "locationMessage": {
            "degreesLatitude": body["latitude"],
            "degreesLongitude": body["longitude"],
            "name": body["name"],
            "address": body["address"],
        }
    }, "locationMessage"


def _sent_media(body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    kind = body["mediatype"]
    file_name = body.get("fileName")
    if kind == "document" and not file_name:
        found = re.search(r".*/(.+?)\.", body["media"])  # Evolution: the URL's last segment
        file_name = found.group(1) if found else "file"
    mimetype = "image/jpeg" if kind == "image" else body.get("mimetype") or MEDIA_MIMES[kind]
    part = _media_part(
        kind, mimetype, caption=body.get("caption"), fileName=file_name if kind == "document" else None
    )
    return {f"{kind}Message": part}, f"{kind}Message"


def _button_params(button: dict[str, Any]) -> str:
    kind = button["type"]
    params: dict[str, Any] = {"display_text": button.get("displayText")}
    if kind == "reply":
        params["id"] = button.get("id")
    elif kind == "url":
        params.update(url=button.get("url"), merchant_url=button.get("url"))
    elif kind == "call":
        params["phone_number"] = button.get("phoneNumber")
    elif kind == "copy":
        params["copy_code"] = button.get("copyCode")
    return json.dumps({k: v for k, v in params.items() if v is not None}, ensure_ascii=False)


def _sent_buttons(body: dict[str, Any]) -> dict[str, Any]:
    # Evolution writes "*<title>*" then, with a description, "\n\n<description>\n".
    text = f"*{body.get('title')}*" if "title" in body else "*undefined*"
    if body.get("description"):
        text += "\n\n" + body["description"] + "\n"
    interactive: dict[str, Any] = {
        "body": {"text": text},
        "footer": {"text": body.get("footer")},
        "nativeFlowMessage": {
            "buttons": [
                {"name": BUTTON_FLOWS[b["type"]], "buttonParamsJson": _button_params(b)}
                for b in body["buttons"]
            ],
            "messageParamsJson": json.dumps({"from": "api", "templateId": str(uuid.uuid4())}),
        },
    }
    if body.get("thumbnailUrl"):
        interactive["header"] = {
            "hasMediaAttachment": True,
            "imageMessage": _media_part("image", "image/jpeg"),
        }
    return {"viewOnceMessage": {"message": {"interactiveMessage": interactive}}}


def inbound_key(spec: dict[str, Any]) -> dict[str, Any]:
    phone_jid = re.sub(r"\D", "", str(spec["from"])) + "@s.whatsapp.net"
    lid_jid = "".join(secrets.choice("0123456789") for _ in range(15)) + "@lid"
    key: dict[str, Any] = {"remoteJid": phone_jid, "fromMe": False, "id": new_hex_id("3A", 20)}
    group, lid = spec.get("group"), bool(spec.get("lid"))
    if group and lid:
        key.update(remoteJid=group, participant=lid_jid, participantAlt=phone_jid, addressingMode="lid")
    elif group:
        key.update(remoteJid=group, participant=phone_jid, addressingMode="pn")
    elif lid:
        key.update(remoteJid=lid_jid, remoteJidAlt=phone_jid, addressingMode="lid")
    return key


def inbound_content(
    spec: dict[str, Any],
    key: dict[str, Any],
    context: dict[str, Any] | None,
    base64_on: bool,
    *,
    ours: set[str],
) -> tuple[dict[str, Any], str]:
    kind = str(spec.get("type") or "text")
    text = spec.get("text")
    ctx = {"contextInfo": context} if context else {}
    if kind in ("image", "video", "audio", "document"):
        return _inbound_media(kind, spec.get("media") or {}, ctx, base64_on)
    if kind == "buttonReply":
        return _button_reply(spec, ctx)
    if kind == "listReply":
        row = str(spec.get("rowId") or "row-1")
        return {
            "listResponseMessage": {
                "title": text or row,
                "listType": 1,
                "singleSelectReply": {"selectedRowId": row},
                **ctx,
            }
        }, "listResponseMessage"
    if kind == "reaction":
        target = str(spec.get("reactTo") or "")
        return {
            "reactionMessage": {
                "key": {"remoteJid": key["remoteJid"], "fromMe": target in ours, "id": target},
                "text": str(spec.get("emoji") or "👍"),
                "senderTimestampMs": _long(int(time.time() * 1000)),
            }
        }, "reactionMessage"
    # extendedTextMessage (replies) is flattened to conversation; contextInfo is lifted.
    return {
        "conversation": str(text if text is not None else "Hello"),
        "messageContextInfo": {"deviceListMetadataVersion": 2},
    }, "conversation"


def _inbound_media(
    kind: str, media: dict[str, Any], ctx: dict[str, Any], base64_on: bool
) -> tuple[dict[str, Any], str]:
    extra: dict[str, Any] = {"caption": media.get("caption"), **ctx}
    if kind == "audio":
        extra.update(ptt=True, seconds=4)
    if kind == "document":
        extra.update(fileName=media.get("fileName") or "file.pdf", title=media.get("fileName") or "file.pdf")
    default_mime = {"audio": "audio/ogg; codecs=opus", "document": "application/pdf"}
    part = _media_part(
        kind, str(media.get("mimetype") or default_mime.get(kind) or MEDIA_MIMES[kind]), **extra
    )
    if media.get("url"):
        part["url"] = media["url"]
    message: dict[str, Any] = {f"{kind}Message": part}
    if base64_on:
        message["base64"] = inbound_base64(kind, media)
    return message, f"{kind}Message"


def inbound_base64(kind: str, media: dict[str, Any]) -> str:
    """The content of an injected inbound media (``media.base64``, else a few bytes)."""
    return str(media.get("base64") or base64.b64encode(b"simulated inbound " + kind.encode()).decode())


def _button_reply(spec: dict[str, Any], ctx: dict[str, Any]) -> tuple[dict[str, Any], str]:
    button_id = str(spec.get("buttonId") or "button-1")
    label = str(spec.get("text") or button_id)
    style = spec.get("buttonStyle") or "native"
    if style == "classic":
        return {
            "buttonsResponseMessage": {
                "selectedButtonId": button_id,
                "selectedDisplayText": label,
                "type": 1,
                **ctx,
            }
        }, "buttonsResponseMessage"
    if style == "template":
        return {
            "templateButtonReplyMessage": {
                "selectedId": button_id,
                "selectedDisplayText": label,
                "selectedIndex": 0,
                **ctx,
            }
        }, "templateButtonReplyMessage"
    return {
        "interactiveResponseMessage": {
            "body": {"text": label, "format": 1},
            "nativeFlowResponseMessage": {
                "name": "quick_reply",
                "paramsJson": json.dumps({"id": button_id}),
                "version": 3,
            },
            **ctx,
        }
    }, "interactiveResponseMessage"
