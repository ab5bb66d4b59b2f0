"""Evolution GO webhook bodies -> our events (pure), from the wire shapes of providers.md C.5."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from zapgate.providers.base import ConnectionUpdate, InboundMessage, StatusUpdate
from zapgate.providers.evolution_go import callbacks

PHONE_JID = "5511988887777@s.whatsapp.net"
LID = "190458723456789@lid"
GROUP = "120363025246125888@g.us"
T_MS = int(datetime(2026, 3, 25, 21, 40, tzinfo=UTC).timestamp() * 1000)


def envelope(event: str, data: Any, **extra: Any) -> dict[str, Any]:
    return {
        "data": data,
        "event": event,
        "instanceId": "0b6f",
        "instanceName": "zapgate-wn_1",
        "instanceToken": "tok",
        **extra,
    }


def receipt(state: str, type_: str, ids: list[str]) -> dict[str, Any]:
    return envelope(
        "Receipt",
        {
            "Chat": PHONE_JID,
            "Sender": PHONE_JID,
            "IsFromMe": False,
            "IsGroup": False,
            "AddressingMode": "",
            "SenderAlt": "",
            "RecipientAlt": "",
            "BroadcastListOwner": "",
            "BroadcastRecipients": None,
            "MessageIDs": ids,
            "Timestamp": "2026-03-25T18:40:00-03:00",
            "Type": type_,
            "MessageSender": "",
        },
        state=state,
    )


def inbound(message: dict[str, Any], **info: Any) -> dict[str, Any]:
    base = {
        "Chat": PHONE_JID,
        "Sender": PHONE_JID,
        "IsFromMe": False,
        "IsGroup": False,
        "AddressingMode": "pn",
        "SenderAlt": LID,
        "RecipientAlt": "",
        "ID": "3A0A1B2C3D4E5F607182",
        "ServerID": 0,
        "Type": "text",
        "PushName": "Maria",
        "Timestamp": "2026-03-25T18:40:00-03:00",
        "Category": "",
        "Multicast": False,
        "MediaType": "",
        "Edit": "",
    }
    extra = info.pop("data_extra", {})
    return envelope(
        "Message",
        {"Info": {**base, **info}, "Message": message, "IsEphemeral": False, "IsViewOnce": False, **extra},
    )


def one(body: dict[str, Any]) -> Any:
    events = callbacks.parse(body)
    assert len(events) == 1, events
    return events[0]


# -- receipts -------------------------------------------------------------------------------


def test_delivered_receipt() -> None:
    assert callbacks.parse(receipt("Delivered", "", ["3EB0C431D2A1B0E9F6A7"])) == [
        StatusUpdate(
            provider_message_id="3EB0C431D2A1B0E9F6A7", status="DELIVERED", at_ms=T_MS, route="zapgate-wn_1"
        )
    ]


def test_read_receipt_lists_every_id() -> None:
    events = callbacks.parse(receipt("Read", "read", ["3EB0A", "3EB0B"]))
    assert [(e.provider_message_id, e.status) for e in events] == [("3EB0A", "READ"), ("3EB0B", "READ")]


def test_read_self_is_our_own_device_not_the_recipient() -> None:
    assert callbacks.parse(receipt("ReadSelf", "read-self", ["3EB0A"])) == []


def test_receipt_without_state_falls_back_to_data_type() -> None:
    body = receipt("Read", "read", ["3EB0A"])
    del body["state"]
    assert one(body).status == "READ"


@pytest.mark.parametrize("state", ["played", "Played", "retry", "sender"])
def test_other_receipts_are_ignored(state: str) -> None:
    assert callbacks.parse(receipt(state, state, ["3EB0A"])) == []


def test_send_message_adds_nothing_the_send_answer_did_not_say() -> None:
    body = envelope(
        "SendMessage",
        {"Info": {"ID": "3EB0A", "IsFromMe": True}, "Message": {"extendedTextMessage": {"text": "hi"}}},
    )
    assert callbacks.parse(body) == []


# -- connection -----------------------------------------------------------------------------


CONNECTION_CASES: list[tuple[str, str, dict[str, Any], ConnectionUpdate | None]] = [
    (
        "connected",
        "Connected",
        {"status": "open", "jid": "5511900001111:23@s.whatsapp.net", "pushName": "Loja Vendas"},
        ConnectionUpdate(
            "OPEN",
            profile_name="Loja Vendas",
            own_jid="5511900001111:23@s.whatsapp.net",
            route="zapgate-wn_1",
        ),
    ),
    (
        "pair success",
        "PairSuccess",
        {
            "ID": "5511900001111:23@s.whatsapp.net",
            "LID": LID,
            "BusinessName": "",
            "Platform": "android",
            "status": "open",
            "jid": "5511900001111:23@s.whatsapp.net",
        },
        ConnectionUpdate("OPEN", own_jid="5511900001111:23@s.whatsapp.net", route="zapgate-wn_1"),
    ),
    (
        "qr code",
        "QRCode",
        {"qrcode": "data:image/png;base64,iVBOR", "code": "2@x", "count": 1, "maxCount": 5},
        ConnectionUpdate("CONNECTING", qrcode_base64="data:image/png;base64,iVBOR", route="zapgate-wn_1"),
    ),
    (
        "disconnected: reconnects by itself",
        "Disconnected",
        {},
        ConnectionUpdate("CONNECTING", reason="disconnected; reconnecting", route="zapgate-wn_1"),
    ),
    (
        "logged out from the phone",
        "LoggedOut",
        {"OnConnect": False, "Reason": 401, "reason": "logged out from another device"},
        ConnectionUpdate(
            "CLOSE", reason="logged out from another device", health="LOGGED_OUT", route="zapgate-wn_1"
        ),
    ),
    (
        "logged out by the API",
        "LoggedOut",
        {"reason": "Logged out"},
        ConnectionUpdate("CLOSE", reason="Logged out", health="LOGGED_OUT", route="zapgate-wn_1"),
    ),
    (
        "temporary ban",
        "TemporaryBan",
        {"Code": 101, "Expire": 3600000000000, "reason": "spam", "expire": 3600000000000},
        ConnectionUpdate("CLOSE", reason="spam", health="BANNED", route="zapgate-wn_1"),
    ),
    (
        "connect failure 403",
        "ConnectFailure",
        {"Reason": 403, "Message": "locked", "Raw": {}},
        ConnectionUpdate("CLOSE", reason="locked", health="BANNED", route="zapgate-wn_1"),
    ),
    (
        "connect failure 406",
        "ConnectFailure",
        {"Reason": 406, "Message": "banned"},
        ConnectionUpdate("CLOSE", reason="banned", health="BANNED", route="zapgate-wn_1"),
    ),
    (
        "connect failure 402",
        "ConnectFailure",
        {"Reason": 402, "Message": "temp banned"},
        ConnectionUpdate("CLOSE", reason="temp banned", health="BANNED", route="zapgate-wn_1"),
    ),
    (
        "connect failure 401",
        "ConnectFailure",
        {"Reason": 401, "Message": "logged out"},
        ConnectionUpdate("CLOSE", reason="logged out", health="LOGGED_OUT", route="zapgate-wn_1"),
    ),
    (
        "connect failure 503",
        "ConnectFailure",
        {"Reason": 503, "Message": "unavailable"},
        ConnectionUpdate("CLOSE", reason="unavailable", health="DISCONNECTED", route="zapgate-wn_1"),
    ),
    (
        "QR limit",
        "QRTimeout",
        {"reason": "Maximum QR code count (5) reached", "qrcount": 5, "maxCount": 5, "forceLogout": True},
        ConnectionUpdate(
            "CLOSE", reason="Maximum QR code count (5) reached", health="QR_LIMIT", route="zapgate-wn_1"
        ),
    ),
    ("QR channel timeout", "QRTimeout", {}, None),
    ("presence", "Presence", {"From": PHONE_JID, "Unavailable": False}, None),
    ("unknown", "LabelEdit", {"Action": {}}, None),
]


@pytest.mark.parametrize(
    ("event", "data", "expected"), [c[1:] for c in CONNECTION_CASES], ids=[c[0] for c in CONNECTION_CASES]
)
def test_connection_events(event: str, data: dict[str, Any], expected: ConnectionUpdate | None) -> None:
    assert callbacks.parse(envelope(event, data)) == ([expected] if expected else [])


# -- inbound --------------------------------------------------------------------------------


def test_inbound_text() -> None:
    event = one(
        inbound({"conversation": "Cadê meu pedido?", "messageContextInfo": {"deviceListMetadataVersion": 2}})
    )
    assert event == InboundMessage(
        provider_message_id="3A0A1B2C3D4E5F607182",
        sender="+5511988887777",
        message_type="text",
        text="Cadê meu pedido?",
        sender_name="Maria",
        at_ms=T_MS,
        sender_lid=LID,
        route="zapgate-wn_1",
    )


def test_inbound_reply_quotes_the_stanza_id() -> None:
    event = one(
        inbound(
            {
                "extendedTextMessage": {
                    "text": "sim",
                    "contextInfo": {
                        "stanzaID": "3EB0QUOTED",
                        "participant": PHONE_JID,
                        "quotedMessage": {"conversation": "Confirma?"},
                    },
                }
            }
        )
    )
    assert (event.text, event.quoted_provider_id) == ("sim", "3EB0QUOTED")


def test_inbound_quoted_helper_is_enough() -> None:
    event = one(
        inbound(
            {
                "documentWithCaptionMessage": {
                    "message": {
                        "documentMessage": {
                            "fileName": "a.pdf",
                            "caption": "nota",
                            "mimetype": "application/pdf",
                        }
                    }
                }
            },
            data_extra={"quoted": {"stanzaID": "3EB0Q"}, "isQuoted": True},
        )
    )
    assert (event.message_type, event.quoted_provider_id) == ("document", "3EB0Q")
    assert event.media.file_name == "a.pdf" and event.text == "nota"


def test_inbound_image_with_base64() -> None:
    event = one(
        inbound(
            {
                "imageMessage": {
                    "URL": "https://mmg.whatsapp.net/v/x.enc",
                    "mimetype": "image/jpeg",
                    "caption": "foto",
                    "fileLength": 48213,
                },
                "base64": "/9j/4AAQ",
            },
            Type="media",
            MediaType="image",
        )
    )
    assert event.message_type == "image" and event.text == "foto"
    assert (event.media.mime_type, event.media.base64, event.media.url) == ("image/jpeg", "/9j/4AAQ", None)


def test_inbound_media_by_link_when_storage_is_on() -> None:
    event = one(
        inbound(
            {
                "audioMessage": {"mimetype": "audio/ogg; codecs=opus", "PTT": True},
                "mediaUrl": "https://minio/x.ogg",
                "mimetype": "audio/ogg",
            }
        )
    )
    assert event.message_type == "audio"
    assert (event.media.url, event.media.mime_type) == ("https://minio/x.ogg", "audio/ogg")


@pytest.mark.parametrize(
    ("message", "kind", "text", "reply_id"),
    [
        (
            {
                "buttonsResponseMessage": {
                    "selectedButtonID": "confirm",
                    "type": 1,
                    "Response": {"SelectedDisplayText": "Confirm"},
                }
            },
            "button",
            "Confirm",
            "confirm",
        ),
        (
            {"templateButtonReplyMessage": {"selectedID": "ok", "selectedDisplayText": "Ok"}},
            "button",
            "Ok",
            "ok",
        ),
        (
            {
                "listResponseMessage": {
                    "title": "Ground",
                    "listType": 1,
                    "singleSelectReply": {"selectedRowID": "ground"},
                }
            },
            "interactive",
            "Ground",
            "ground",
        ),
        (
            {
                "interactiveResponseMessage": {
                    "body": {"text": "Confirm"},
                    "InteractiveResponseMessage": {
                        "NativeFlowResponseMessage": {
                            "name": "quick_reply",
                            "paramsJSON": '{"id":"confirm"}',
                            "version": 3,
                        }
                    },
                }
            },
            "button",
            "Confirm",
            "confirm",
        ),
        (
            {
                "interactiveResponseMessage": {
                    "body": {"text": "R1"},
                    "InteractiveResponseMessage": {
                        "NativeFlowResponseMessage": {"name": "single_select", "paramsJSON": '{"id":"r1"}'}
                    },
                }
            },
            "interactive",
            "R1",
            "r1",
        ),
        (
            {"locationMessage": {"degreesLatitude": -23.5, "degreesLongitude": -46.6, "name": "Loja"}},
            "location",
            "Loja",
            None,
        ),
        ({"contactMessage": {"displayName": "Ana", "vcard": "BEGIN:VCARD"}}, "contacts", "Ana", None),
        ({"pollUpdateMessage": {}}, "unsupported", None, None),
    ],
)
def test_inbound_kinds(message: dict[str, Any], kind: str, text: str | None, reply_id: str | None) -> None:
    event = one(inbound(message))
    assert (event.message_type, event.text, event.reply_id) == (kind, text, reply_id)


def test_inbound_reaction_points_at_the_message() -> None:
    event = one(
        inbound(
            {
                "reactionMessage": {
                    "key": {"remoteJID": PHONE_JID, "fromMe": True, "ID": "3EB0MINE"},
                    "text": "👍",
                }
            },
            Type="reaction",
        )
    )
    assert (event.message_type, event.text, event.reaction_to) == ("reaction", "👍", "3EB0MINE")


def test_inbound_group_message() -> None:
    event = one(
        inbound(
            {"conversation": "oi"},
            Chat=GROUP,
            IsGroup=True,
            data_extra={"groupData": {"JID": GROUP, "Name": "Clientes VIP"}},
        )
    )
    assert (event.chat_kind, event.chat_id, event.chat_name, event.sender) == (
        "group",
        GROUP,
        "Clientes VIP",
        "+5511988887777",
    )


def test_inbound_newsletter_message() -> None:
    event = one(inbound({"conversation": "news"}, Chat="1203630@newsletter"))
    assert (event.chat_kind, event.chat_id) == ("newsletter", "1203630@newsletter")


def test_lid_sender_swapped_by_evolution_go() -> None:
    event = one(inbound({"conversation": "oi"}, AddressingMode="lid"))
    assert (event.sender, event.sender_lid) == ("+5511988887777", LID)


def test_lid_sender_not_swapped_uses_the_phone_alternative() -> None:
    event = one(inbound({"conversation": "oi"}, Sender=LID, Chat=LID, SenderAlt=PHONE_JID))
    assert (event.sender, event.sender_lid) == ("+5511988887777", LID)


def test_lid_sender_without_a_phone() -> None:
    event = one(inbound({"conversation": "oi"}, Sender=LID, Chat=LID, SenderAlt=""))
    assert (event.sender, event.sender_lid) == (LID, LID)


def test_device_suffix_is_dropped() -> None:
    event = one(
        inbound(
            {"conversation": "oi"},
            Sender="5511988887777:12@s.whatsapp.net",
            SenderAlt="190458723456789:12@lid",
        )
    )
    assert (event.sender, event.sender_lid) == ("+5511988887777", LID)


def test_messages_typed_on_our_own_phone_are_not_inbound() -> None:
    assert callbacks.parse(inbound({"conversation": "oi"}, IsFromMe=True)) == []


# -- timestamps and odd input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        ("2026-03-25T18:40:00-03:00", T_MS),
        ("2026-03-25T18:40:00.123456789-03:00", T_MS + 123),
        ("2026-03-25T18:40:00.5-03:00", T_MS + 500),
        ("2026-03-25T21:40:00Z", T_MS),
        ("0001-01-01T00:00:00Z", None),
        ("yesterday", None),
        ("2026-03-25T18:40:00", None),
        (1774474800, None),
    ],
)
def test_time_ms(value: Any, ms: int | None) -> None:
    assert callbacks.time_ms(value) == ms


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "Message",
        42,
        {},
        {"event": "Message"},
        {"event": "Message", "data": []},
        {"event": "Message", "data": {"Info": "x", "Message": None}},
        {"event": "Receipt", "data": {"MessageIDs": "3EB0"}, "state": "Read"},
        {"event": "Receipt", "data": None, "state": 5},
        {"event": "Connected", "data": "open"},
    ],
)
def test_odd_bodies_never_raise(body: Any) -> None:
    for event in callbacks.parse(body):
        assert isinstance(event, InboundMessage | ConnectionUpdate | StatusUpdate)


def test_a_broken_native_flow_reply_is_still_a_message() -> None:
    event = one(
        inbound(
            {
                "interactiveResponseMessage": {
                    "body": {"text": "Ok"},
                    "InteractiveResponseMessage": {
                        "NativeFlowResponseMessage": {"name": "quick_reply", "paramsJSON": "{not json"}
                    },
                }
            }
        )
    )
    assert (event.message_type, event.text, event.reply_id) == ("button", "Ok", None)
