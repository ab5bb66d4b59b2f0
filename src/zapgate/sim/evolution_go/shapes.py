"""Message shapes of the Evolution GO simulator (pure): whatsmeow's ``MessageSendStruct``
parts, the native-flow buttons and lists, the disconnect events, and the ``events.Message`` of an
injected inbound message."""

from __future__ import annotations

import base64
import json
import mimetypes
import random
import secrets
import time
from typing import Any
from urllib.parse import urlparse

from zapgate.sim.common import new_hex_id
from zapgate.sim.evolution_go.state import GoError, Instance, b64, go_time, jid_user, lid_for

MEDIA_LABELS = {
    "image": "ImageMessage",
    "video": "VideoMessage",
    "ptv": "PtvMessage",
    "audio": "AudioMessage",
    "document": "DocumentMessage",
}
DEFAULT_MIME = {
    "image": "image/jpeg",
    "video": "video/mp4",
    "ptv": "video/mp4",
    "audio": "audio/mpeg",
    "document": "application/octet-stream",
}

# Button type -> native-flow name and its params (param <- request field).
BUTTON_FLOWS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "reply": ("quick_reply", (("display_text", "displayText"), ("id", "id"))),
    "copy": ("cta_copy", (("display_text", "displayText"), ("copy_code", "copyCode"))),
    "url": ("cta_url", (("display_text", "displayText"), ("url", "url"), ("merchant_url", "url"))),
    "call": ("cta_call", (("display_text", "displayText"), ("phone_number", "phoneNumber"))),
}


def upload(mimetype: str, size: int) -> dict[str, Any]:
    path = f"/v/t62.7118-24/{random.randint(10**7, 10**8)}_{secrets.token_hex(8)}.enc"
    return {
        "URL": f"https://mmg.whatsapp.net{path}?ccb=11-4",
        "mimetype": mimetype,
        "fileSHA256": b64(),
        "fileLength": size,
        "mediaKey": b64(),
        "fileEncSHA256": b64(),
        "directPath": path,
        "mediaKeyTimestamp": int(time.time()),
    }


def send_info(chat: str, sender: str, message_id: str, label: str) -> dict[str, Any]:
    return {
        "Chat": chat,
        "Sender": sender,
        "IsFromMe": True,
        "IsGroup": chat.endswith("@g.us"),
        "AddressingMode": "",
        "SenderAlt": "",
        "RecipientAlt": "",
        "BroadcastListOwner": "",
        "BroadcastRecipients": None,
        "ID": message_id,
        "ServerID": 0,
        "Type": label,
        "PushName": "",
        "Timestamp": go_time(),
        "Category": "",
        "Multicast": False,
        "MediaType": "",
        "Edit": "",
        "MsgBotInfo": {"EditType": "", "EditTargetID": "", "EditSenderTimestampMS": "0001-01-01T00:00:00Z"},
        "MsgMetaInfo": {
            "TargetID": "",
            "TargetSender": "",
            "TargetChat": "",
            "DeprecatedLIDSession": None,
            "ThreadMessageID": "",
            "ThreadMessageSenderJID": "",
        },
        "VerifiedName": None,
        "DeviceSentMeta": None,
    }


def quoted_context(quoted: Any) -> dict[str, Any]:
    quoted = quoted if isinstance(quoted, dict) else {}
    return {
        "stanzaID": str(quoted.get("messageId") or ""),
        "participant": str(quoted.get("participant") or ""),
        "quotedMessage": {"conversation": ""},
    }


def sniff_mime(url: str, media_type: str) -> str:
    """The MIME type the server would detect (here: from the file extension) and its rules."""
    path = urlparse(url).path.lower()
    mimetype = (
        "video/mp4" if path.endswith(".mp4") else mimetypes.guess_type(path)[0] or DEFAULT_MIME[media_type]
    )
    if media_type == "image" and mimetype not in ("image/jpeg", "image/png", "image/webp"):
        raise GoError(
            500,
            f"Invalid file format: '{mimetype}'. Only 'image/jpeg', "
            "'image/png' and 'image/webp' are accepted",
        )
    if media_type in ("video", "ptv") and mimetype != "video/mp4":
        raise GoError(500, f"Invalid file format: '{mimetype}'. Only 'video/mp4' are accepted")
    return "image/jpeg" if mimetype == "image/webp" else mimetype


def vcard(card: dict[str, Any]) -> dict[str, Any]:
    name, phone = str(card["fullName"]), "".join(c for c in str(card["phone"]) if c.isdigit())
    vcard = (
        f"BEGIN:VCARD\nVERSION:3.0\nN:;{name};;;\nFN:{name}\n"
        f"ORG:{card.get('organization') or ''};\n"
        f"TEL;type=CELL;type=VOICE;waid={phone}:+{phone}\nEND:VCARD"
    )
    return {"displayName": name, "vcard": vcard, "contextInfo": {}}


def buttons(body: dict[str, Any]) -> list[dict[str, Any]]:
    buttons = [b for b in body.get("buttons") or [] if isinstance(b, dict)]
    kinds = [str(b.get("type")) for b in buttons]
    replies = kinds.count("reply")
    if replies > 3:
        raise GoError(500, "máximo de 3 botões do tipo 'reply' permitidos")
    if replies and any(k not in ("reply", "pix") for k in kinds):
        raise GoError(500, "botões do tipo 'reply' não podem ser misturados com outros tipos")
    if "pix" in kinds and len(buttons) > 1:
        raise GoError(500, "botão do tipo 'pix' não pode ser combinado com outros botões")
    out: list[dict[str, Any]] = []
    for button, kind in zip(buttons, kinds, strict=True):
        flow = BUTTON_FLOWS.get(kind)
        if flow is None:  # pix and unknown types: not simulated
            out.append({"name": None, "buttonParamsJSON": None})
            continue
        name, params = flow
        fields = {param: str(button.get(source) or "") for param, source in params}
        out.append({"name": name, "buttonParamsJSON": json.dumps(fields, ensure_ascii=False)})
    return out


def list_button(body: dict[str, Any]) -> list[dict[str, Any]]:
    sections = [
        {
            "title": str(s.get("title") or ""),
            "rows": [
                {
                    "title": str(r.get("title") or ""),
                    "description": str(r.get("description") or ""),
                    "id": str(r.get("rowId") or ""),
                }
                for r in s.get("rows") or []
            ],
        }
        for s in body.get("sections") or []
        if isinstance(s, dict)
    ]
    spec = {"title": body["buttonText"], "sections": sections}
    return [{"name": "single_select", "buttonParamsJSON": json.dumps(spec, ensure_ascii=False)}]


def native_flow(body: dict[str, Any], buttons: list[dict[str, Any]], footer: str) -> dict[str, Any]:
    text = f"*{body['title']}*\n\n{body['description']}\n"
    params = json.dumps({"from": "api", "templateId": int(time.time() * 1000)})
    return {
        "viewOnceMessage": {
            "message": {
                "interactiveMessage": {
                    "body": {"text": text},
                    "footer": {"text": footer},
                    "nativeFlowMessage": {"buttons": buttons, "messageParamsJSON": params},
                }
            }
        }
    }


def disconnect_event(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    event, reason = str(body.get("event") or ""), body.get("reason")
    if event == "LoggedOut":
        return event, {
            "OnConnect": False,
            "Reason": int(body.get("code") or 401),
            "reason": reason or "logged out from another device",
        }
    if event == "Disconnected":
        return event, {}
    if event == "TemporaryBan":
        expire = 3_600_000_000_000
        return event, {
            "Code": int(body.get("code") or 101),
            "Expire": expire,
            "expire": expire,
            "reason": reason
            or "you sent too many messages to people who don't have you in their address books",
        }
    if event == "ConnectFailure":
        code = int(body.get("code") or 403)
        return event, {
            "Reason": code,
            "Message": reason or "connect failure",
            "Raw": {"Tag": "failure", "Attrs": {"reason": str(code)}},
        }
    raise GoError(400, "event must be LoggedOut, Disconnected, TemporaryBan or ConnectFailure")


def inbound_event(inst: Instance, spec: dict[str, Any], message_id: str, *, files: bool) -> dict[str, Any]:
    """A whatsmeow ``events.Message`` as Evolution GO forwards it (LID already swapped)."""
    phone = "".join(c for c in jid_user(str(spec.get("from") or "")) if c.isdigit())
    sender, lid = f"{phone}@s.whatsapp.net", f"{lid_for(phone)}@lid"
    group = spec.get("group")
    chat = str(group) if group else sender
    kind = str(spec.get("type") or "text")
    message, info_type, media_type = _inbound_message(inst, spec, kind, chat, files=files)
    info = send_info(chat, sender, message_id, info_type)
    info.update(
        IsFromMe=False,
        AddressingMode="lid" if spec.get("lid") else "pn",
        SenderAlt=lid,
        PushName=str(spec.get("name") or ""),
        MediaType=media_type,
        Timestamp=go_time(whole_seconds=True),
    )
    data: dict[str, Any] = {
        "Info": info,
        "Message": message,
        "IsEphemeral": False,
        "IsViewOnce": False,
        "IsViewOnceV2": False,
        "IsViewOnceV2Extension": False,
        "IsDocumentWithCaption": False,
        "IsLottieSticker": False,
        "IsBotInvoke": False,
        "IsEdit": False,
        "SourceWebMsg": None,
        "UnavailableRequestID": "",
        "RetryCount": 0,
        "NewsletterMeta": None,
    }
    if spec.get("replyTo") and kind in ("text", "image", "audio", "document", "video"):
        data["quoted"] = {"stanzaID": str(spec["replyTo"]), "quotedMessage": {"conversation": ""}}
        data["isQuoted"] = True
    if group:
        data["groupData"] = _group_info(chat, sender, lid, spec)
    return data


def _inbound_message(
    inst: Instance, spec: dict[str, Any], kind: str, chat: str, *, files: bool
) -> tuple[dict[str, Any], str, str]:
    """(Message, Info.Type, Info.MediaType)."""
    text = str(spec.get("text") or "")
    context = (
        {
            "stanzaID": str(spec["replyTo"]),
            "participant": _bare(inst.jid),
            "quotedMessage": {"conversation": ""},
        }
        if spec.get("replyTo")
        else None
    )
    if kind == "text":
        if context is None:
            return {"conversation": text}, "text", ""
        return {"extendedTextMessage": {"text": text, "contextInfo": context}}, "text", ""
    if kind in ("image", "video", "audio", "document"):
        return _inbound_media(spec, kind, context, files=files), "media", ("ptt" if kind == "audio" else kind)
    context = context or {
        "stanzaID": new_hex_id("3EB0"),
        "participant": _bare(inst.jid),
        "quotedMessage": {"conversation": ""},
    }
    if kind == "buttonReply":
        return (
            {
                "buttonsResponseMessage": {
                    "selectedButtonID": str(spec.get("buttonId") or ""),
                    "Response": {"SelectedDisplayText": text or str(spec.get("buttonId") or "")},
                    "contextInfo": context,
                    "type": 1,
                }
            },
            "text",
            "",
        )
    if kind == "listReply":
        return (
            {
                "listResponseMessage": {
                    "title": text or str(spec.get("rowId") or ""),
                    "listType": 1,
                    "singleSelectReply": {"selectedRowID": str(spec.get("rowId") or "")},
                    "contextInfo": context,
                }
            },
            "text",
            "",
        )
    if kind == "reaction":
        return (
            {
                "reactionMessage": {
                    "key": {"remoteJID": chat, "fromMe": True, "ID": str(spec.get("reactTo") or "")},
                    "text": str(spec.get("emoji") or ""),
                    "senderTimestampMS": int(time.time() * 1000),
                }
            },
            "reaction",
            "",
        )
    raise GoError(400, f"unknown inbound type {kind!r}")


def _inbound_media(
    spec: dict[str, Any], kind: str, context: dict[str, Any] | None, *, files: bool
) -> dict[str, Any]:
    given = spec.get("media")
    media: dict[str, Any] = given if isinstance(given, dict) else {}
    default = {
        "image": "image/jpeg",
        "video": "video/mp4",
        "audio": "audio/ogg; codecs=opus",
        "document": "application/pdf",
    }[kind]
    mimetype = str(media.get("mimetype") or default)
    part = upload(mimetype, 48_213)
    caption = media.get("caption") or spec.get("text")
    if caption and kind != "audio":
        part["caption"] = str(caption)
    if kind == "audio":
        part.update(PTT=True, seconds=7)
    if kind == "document":
        name = str(media.get("fileName") or "document.pdf")
        part.update(fileName=name, title=name, pageCount=1)
    if kind in ("image", "video"):
        part.update(height=1280, width=960)
    if context is not None:
        part["contextInfo"] = context
    message: dict[str, Any] = {f"{kind}Message": part}
    if media.get("url"):  # MinIO/S3 enabled: a link instead of the bytes
        message.update(mediaUrl=str(media["url"]), mimetype=mimetype)
    elif files:
        given_bytes = media.get("base64")
        default_bytes = base64.b64encode(b"simulated inbound media").decode()
        message["base64"] = str(given_bytes) if isinstance(given_bytes, str) else default_bytes
    return message


def _group_info(chat: str, sender: str, lid: str, spec: dict[str, Any]) -> dict[str, Any]:
    created = go_time(time.time() - 86_400, whole_seconds=True)
    return {
        "JID": chat,
        "OwnerJID": "",
        "OwnerPN": "",
        "Name": str(spec.get("groupName") or "Grupo Simulado"),
        "NameSetAt": created,
        "NameSetBy": "",
        "Topic": "",
        "IsLocked": False,
        "IsAnnounce": False,
        "IsEphemeral": False,
        "GroupCreated": created,
        "ParticipantVersionID": "",
        "Participants": [
            {
                "JID": sender,
                "PhoneNumber": sender,
                "LID": lid,
                "IsAdmin": False,
                "IsSuperAdmin": False,
                "DisplayName": "",
                "Error": 0,
                "AddRequest": None,
            }
        ],
    }


def _bare(jid: str) -> str:
    user, _, server = jid.partition("@")
    return f"{user.split(':')[0]}@{server}" if server else jid
