"""Evolution API v2 webhook bodies -> our events (pure), with the shapes of providers.md B.6."""

from __future__ import annotations

import json
from typing import Any

import pytest

from zapgate.providers.base import ConnectionUpdate, InboundMedia, InboundMessage, StatusUpdate
from zapgate.providers.evolution_v2 import callbacks

PHONE = "5511988887777@s.whatsapp.net"


def body(event: str, data: Any, instance: str = "zapgate-num_1") -> dict[str, Any]:
    return {
        "event": event,
        "instance": instance,
        "data": data,
        "destination": "http://z/cb",
        "date_time": "2025-10-21T11:40:39.123Z",
        "sender": "5511900001111@s.whatsapp.net",
        "server_url": "http://evo",
        "apikey": None,
    }


def update(status: Any, **extra: Any) -> dict[str, Any]:
    return body(
        "messages.update",
        {
            "keyId": "3EB0C431D2A1B0E9F6A7",
            "remoteJid": PHONE,
            "fromMe": True,
            "status": status,
            "instanceId": "i-1",
            **extra,
        },
    )


@pytest.mark.parametrize(
    ("status", "ours"),
    [
        ("SERVER_ACK", "SENT"),
        ("DELIVERY_ACK", "DELIVERED"),
        ("READ", "READ"),
        ("PLAYED", "READ"),
        (3, "DELIVERED"),
    ],
)
def test_receipts(status: Any, ours: str) -> None:
    assert callbacks.parse(update(status)) == [
        StatusUpdate("3EB0C431D2A1B0E9F6A7", ours, route="zapgate-num_1")
    ]


def test_error_receipt_fails_with_provider_rejected() -> None:
    [event] = callbacks.parse(update("ERROR"))
    assert isinstance(event, StatusUpdate)
    assert (event.status, event.code) == ("FAILED", "PROVIDER_REJECTED")
    assert event.detail and "ERROR" in event.detail


@pytest.mark.parametrize(
    "raw",
    [
        update("DELETED"),
        update("PENDING"),
        update("READ", fromMe=False),
        body("messages.update", {"status": "READ", "fromMe": True}),
        body("send.message", {"key": {"id": "3EB0", "fromMe": True}, "status": "PENDING"}),
        body("contacts.upsert", [{"remoteJid": PHONE}]),
        body("chats.upsert", []),
        {"event": "messages.update"},
        {"data": {}},
        [],
        "text",
        None,
        42,
        body("messages.upsert", "odd"),
        body("messages.upsert", {"key": "odd"}),
        body("connection.update", ["odd"]),
        body("qrcode.updated", {"qrcode": "odd"}),
    ],
)
def test_irrelevant_or_odd_bodies_yield_nothing(raw: Any) -> None:
    assert callbacks.parse(raw) == []


def test_uppercase_event_names_are_accepted() -> None:
    raw = update("READ")
    raw["event"] = "MESSAGES_UPDATE"
    assert [e.status for e in callbacks.parse(raw) if isinstance(e, StatusUpdate)] == ["READ"]


def upsert(
    message: dict[str, Any], message_type: str, *, key: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return body(
        "messages.upsert",
        {
            "key": key or {"remoteJid": PHONE, "fromMe": False, "id": "3A0000000000000000AA"},
            "pushName": "Maria",
            "status": "DELIVERY_ACK",
            "message": message,
            "messageType": message_type,
            "messageTimestamp": 1761057600,
            "instanceId": "i-1",
            "source": "android",
            **extra,
        },
    )


def inbound(raw: dict[str, Any]) -> InboundMessage:
    [event] = callbacks.parse(raw)
    assert isinstance(event, InboundMessage)
    return event


def test_inbound_text() -> None:
    event = inbound(
        upsert(
            {"conversation": "Cadê meu pedido?", "messageContextInfo": {"deviceListMetadataVersion": 2}},
            "conversation",
        )
    )
    assert event == InboundMessage(
        provider_message_id="3A0000000000000000AA",
        sender="+5511988887777",
        message_type="text",
        text="Cadê meu pedido?",
        sender_name="Maria",
        at_ms=1761057600000,
        route="zapgate-num_1",
    )


def test_inbound_reply_reads_the_lifted_context_info() -> None:
    event = inbound(
        upsert(
            {"conversation": "sim"},
            "conversation",
            contextInfo={
                "stanzaId": "3EB0C431D2A1B0E9F6A7",
                "participant": "5511900001111@s.whatsapp.net",
                "quotedMessage": {"conversation": "Olá!"},
            },
        )
    )
    assert event.quoted_provider_id == "3EB0C431D2A1B0E9F6A7"


def test_inbound_extended_text_with_nested_context() -> None:
    event = inbound(
        upsert(
            {"extendedTextMessage": {"text": "veja", "contextInfo": {"stanzaId": "3EB0Q"}}},
            "extendedTextMessage",
        )
    )
    assert (event.message_type, event.text, event.quoted_provider_id) == ("text", "veja", "3EB0Q")


@pytest.mark.parametrize(
    ("key", "part", "kind"),
    [
        (
            "imageMessage",
            {
                "url": "https://mmg/x.enc",
                "mimetype": "image/jpeg",
                "caption": "foto",
                "fileLength": {"low": 48213, "high": 0, "unsigned": True},
            },
            "image",
        ),
        ("videoMessage", {"url": "https://mmg/v.enc", "mimetype": "video/mp4"}, "video"),
        (
            "audioMessage",
            {"url": "https://mmg/a.enc", "mimetype": "audio/ogg; codecs=opus", "ptt": True},
            "audio",
        ),
        (
            "documentMessage",
            {
                "url": "https://mmg/d.enc",
                "mimetype": "application/pdf",
                "fileName": "nota.pdf",
                "caption": "nota",
            },
            "document",
        ),
        ("stickerMessage", {"url": "https://mmg/s.enc", "mimetype": "image/webp"}, "sticker"),
    ],
)
def test_inbound_media(key: str, part: dict[str, Any], kind: str) -> None:
    event = inbound(upsert({key: part, "base64": "/9j/4AAQ"}, key))
    assert event.message_type == kind
    assert event.text == (part.get("caption") or None)
    assert event.media == InboundMedia(
        id=event.provider_message_id,
        url=part["url"],
        mime_type=part["mimetype"],
        file_name=part.get("fileName"),
        caption=part.get("caption"),
        base64="/9j/4AAQ",
    )


def test_document_with_caption_wrapper_is_unwrapped() -> None:
    event = inbound(
        upsert(
            {
                "documentWithCaptionMessage": {
                    "message": {
                        "documentMessage": {
                            "url": "https://mmg/d.enc",
                            "mimetype": "application/pdf",
                            "fileName": "a.pdf",
                            "caption": "c",
                        }
                    }
                }
            },
            "documentWithCaptionMessage",
        )
    )
    assert event.message_type == "document" and event.media is not None
    assert event.media.file_name == "a.pdf"


@pytest.mark.parametrize(
    ("message", "kind", "text", "reply_id"),
    [
        (
            {
                "buttonsResponseMessage": {
                    "selectedButtonId": "confirm",
                    "selectedDisplayText": "Confirm",
                    "contextInfo": {"stanzaId": "3EB0B"},
                }
            },
            "button",
            "Confirm",
            "confirm",
        ),
        (
            {
                "templateButtonReplyMessage": {
                    "selectedId": "ok",
                    "selectedDisplayText": "Ok",
                    "selectedIndex": 0,
                }
            },
            "button",
            "Ok",
            "ok",
        ),
        (
            {
                "listResponseMessage": {
                    "title": "Ground",
                    "listType": 1,
                    "singleSelectReply": {"selectedRowId": "ground"},
                }
            },
            "interactive",
            "Ground",
            "ground",
        ),
        (
            {
                "interactiveResponseMessage": {
                    "body": {"text": "Yes"},
                    "nativeFlowResponseMessage": {
                        "name": "quick_reply",
                        "paramsJson": json.dumps({"id": "yes"}),
                        "version": 3,
                    },
                }
            },
            "interactive",
            "Yes",
            "yes",
        ),
        (
            {
                "interactiveResponseMessage": {
                    "body": {"text": "Yes"},
                    "nativeFlowResponseMessage": {"paramsJson": "{not json"},
                }
            },
            "interactive",
            "Yes",
            None,
        ),
    ],
)
def test_button_and_list_replies(message: dict[str, Any], kind: str, text: str, reply_id: str | None) -> None:
    event = inbound(upsert(message, next(iter(message))))
    assert (event.message_type, event.text, event.reply_id) == (kind, text, reply_id)


def test_button_reply_quotes_the_buttons_message() -> None:
    event = inbound(
        upsert(
            {"buttonsResponseMessage": {"selectedButtonId": "confirm", "contextInfo": {"stanzaId": "3EB0B"}}},
            "buttonsResponseMessage",
        )
    )
    assert event.quoted_provider_id == "3EB0B"


def test_reaction() -> None:
    event = inbound(
        upsert(
            {
                "reactionMessage": {
                    "key": {"remoteJid": PHONE, "fromMe": True, "id": "3EB0R"},
                    "text": "👍",
                    "senderTimestampMs": {"low": 1, "high": 0},
                }
            },
            "reactionMessage",
        )
    )
    assert (event.message_type, event.text, event.reaction_to) == ("reaction", "👍", "3EB0R")


def test_location_contacts_and_unknown_types() -> None:
    location = inbound(
        upsert({"locationMessage": {"degreesLatitude": -23.5, "degreesLongitude": -46.6}}, "locationMessage")
    )
    assert (location.message_type, location.text) == ("location", "-23.5,-46.6")
    contact = inbound(upsert({"contactMessage": {"displayName": "Ana", "vcard": "..."}}, "contactMessage"))
    assert (contact.message_type, contact.text) == ("contacts", "Ana")
    poll = inbound(upsert({"pollCreationMessage": {"name": "?"}}, "pollCreationMessage"))
    assert poll.message_type == "unsupported"


def test_groups_use_the_participant() -> None:
    event = inbound(
        upsert(
            {"conversation": "oi"},
            "conversation",
            key={
                "remoteJid": "120363025246125486@g.us",
                "fromMe": False,
                "id": "3A1",
                "participant": "5511977776666@s.whatsapp.net",
            },
        )
    )
    assert (event.chat_kind, event.chat_id, event.sender) == (
        "group",
        "120363025246125486@g.us",
        "+5511977776666",
    )


@pytest.mark.parametrize(
    ("key", "sender", "lid"),
    [
        (
            {"remoteJid": "123456789012345@lid", "remoteJidAlt": PHONE, "addressingMode": "lid"},
            "+5511988887777",
            "123456789012345@lid",
        ),
        (
            {"remoteJid": "123456789012345@lid", "addressingMode": "lid"},
            "123456789012345@lid",
            "123456789012345@lid",
        ),
        ({"remoteJid": "5511988887777:12@s.whatsapp.net"}, "+5511988887777", None),
    ],
)
def test_lid_and_device_senders(key: dict[str, Any], sender: str, lid: str | None) -> None:
    event = inbound(upsert({"conversation": "oi"}, "conversation", key={"fromMe": False, "id": "3A2", **key}))
    assert (event.sender, event.sender_lid, event.chat_kind) == (sender, lid, "phone")


def test_group_lid_participant_uses_its_phone_alternative() -> None:
    event = inbound(
        upsert(
            {"conversation": "oi"},
            "conversation",
            key={
                "remoteJid": "120363025246125486@g.us",
                "fromMe": False,
                "id": "3A3",
                "participant": "99887766554433@lid",
                "participantAlt": "5511977776666@s.whatsapp.net",
                "addressingMode": "lid",
            },
        )
    )
    assert (event.sender, event.sender_lid) == ("+5511977776666", "99887766554433@lid")


@pytest.mark.parametrize(
    "raw",
    [
        upsert(
            {"conversation": "typed on the phone"},
            "conversation",
            key={"remoteJid": PHONE, "fromMe": True, "id": "3A4"},
        ),
        upsert(
            {"conversation": "status"},
            "conversation",
            key={"remoteJid": "status@broadcast", "fromMe": False, "id": "3A5"},
        ),
        upsert({"protocolMessage": {"type": 0}}, "protocolMessage"),
    ],
)
def test_skipped_upserts(raw: dict[str, Any]) -> None:
    assert callbacks.parse(raw) == []


def test_long_timestamp() -> None:
    event = inbound(
        upsert(
            {"conversation": "x"},
            "conversation",
            messageTimestamp={"low": 1761057600, "high": 0, "unsigned": False},
        )
    )
    assert event.at_ms == 1761057600000


def connection(data: dict[str, Any]) -> ConnectionUpdate:
    [event] = callbacks.parse(body("connection.update", {"instance": "zapgate-num_1", **data}))
    assert isinstance(event, ConnectionUpdate)
    return event


def test_connection_open() -> None:
    assert connection(
        {
            "wuid": "5511900001111@s.whatsapp.net",
            "profileName": "Loja 1",
            "profilePictureUrl": None,
            "state": "open",
            "statusReason": 200,
        }
    ) == ConnectionUpdate(
        "OPEN",
        reason="200",
        profile_name="Loja 1",
        own_jid="5511900001111@s.whatsapp.net",
        route="zapgate-num_1",
    )


@pytest.mark.parametrize(
    ("data", "state", "health"),
    [
        ({"state": "connecting", "statusReason": 200}, "CONNECTING", None),
        ({"state": "close", "statusReason": 401}, "CLOSE", "LOGGED_OUT"),
        ({"state": "close", "statusReason": 403}, "CLOSE", "BANNED"),
        ({"state": "close", "statusReason": 402}, "CLOSE", "BANNED"),
        ({"state": "close", "statusReason": 406}, "CLOSE", "BANNED"),
        ({"state": "close", "statusReason": 428}, "CLOSE", "DISCONNECTED"),
        ({"state": "close"}, "CLOSE", "DISCONNECTED"),
        ({"state": "refused", "statusReason": 428, "wuid": None}, "CLOSE", "QR_LIMIT"),
    ],
)
def test_connection_states(data: dict[str, Any], state: str, health: str | None) -> None:
    event = connection(data)
    assert (event.state, event.health) == (state, health)


def test_qrcode_updated() -> None:
    [event] = callbacks.parse(
        body(
            "qrcode.updated",
            {
                "qrcode": {
                    "instance": "zapgate-num_1",
                    "pairingCode": "WZYEH1YY",
                    "code": "2@abc",
                    "base64": "data:image/png;base64,iVBORw0KGgo",
                }
            },
        )
    )
    assert event == ConnectionUpdate(
        "CONNECTING",
        qrcode_base64="data:image/png;base64,iVBORw0KGgo",
        pairing_code="WZYEH1YY",
        route="zapgate-num_1",
    )


def test_qrcode_limit() -> None:
    [event] = callbacks.parse(
        body("qrcode.updated", {"message": "QR code limit reached, please login again", "statusCode": 500})
    )
    assert isinstance(event, ConnectionUpdate)
    assert (event.state, event.health) == ("CLOSE", "QR_LIMIT")


def test_data_lists_are_read_item_by_item() -> None:
    raw = update("READ")
    raw["data"] = [raw["data"], {**raw["data"], "keyId": "3EB0OTHER", "status": "DELIVERY_ACK"}]
    events = callbacks.parse(raw)
    assert all(isinstance(e, StatusUpdate) for e in events)
    assert [(e.provider_message_id, e.status) for e in events if isinstance(e, StatusUpdate)] == [
        ("3EB0C431D2A1B0E9F6A7", "READ"),
        ("3EB0OTHER", "DELIVERED"),
    ]
