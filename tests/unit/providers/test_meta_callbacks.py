"""Meta webhook bodies -> our events: statuses, inbound messages, template updates, odd input."""

from __future__ import annotations

from typing import Any

import pytest

from zapgate.providers.base import InboundMedia, InboundMessage, StatusUpdate, TemplateUpdate
from zapgate.providers.meta import callbacks

PNID = "106540352242922"
METADATA = {"display_phone_number": "15550783881", "phone_number_id": PNID}


def envelope(
    *values: dict[str, Any], field: str = "messages", waba: str = "5467539754836534"
) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba, "changes": [{"field": field, "value": value} for value in values]}],
    }


def statuses(*items: dict[str, Any]) -> dict[str, Any]:
    return envelope({"messaging_product": "whatsapp", "metadata": METADATA, "statuses": list(items)})


def inbound(*items: dict[str, Any], name: str | None = "Sheena Nelson") -> dict[str, Any]:
    value: dict[str, Any] = {"messaging_product": "whatsapp", "metadata": METADATA, "messages": list(items)}
    if name is not None:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": "16505551234"}]
    return envelope(value)


SENT = {
    "id": "wamid.A",
    "status": "sent",
    "timestamp": "1698266945",
    "recipient_id": "972987654321",
    "biz_opaque_callback_data": "msg_01",
    "conversation": {"id": "7270432e", "expiration_timestamp": "1698339900", "origin": {"type": "service"}},
    "pricing": {"billable": True, "pricing_model": "PMP", "category": "utility", "type": "regular"},
}


def test_sent_status_with_pricing() -> None:
    assert callbacks.parse(statuses(SENT)) == [
        StatusUpdate(
            provider_message_id="wamid.A",
            status="SENT",
            at_ms=1698266945000,
            pricing={
                "conversationId": "7270432e",
                "originType": "service",
                "category": "utility",
                "type": "regular",
            },
            our_message_id="msg_01",
            route=PNID,
        )
    ]


@pytest.mark.parametrize(
    ("meta", "ours"), [("sent", "SENT"), ("delivered", "DELIVERED"), ("read", "READ"), ("played", "READ")]
)
def test_status_names(meta: str, ours: str) -> None:
    [event] = callbacks.parse(statuses({"id": "wamid.B", "status": meta, "timestamp": "1700000000"}))
    assert event == StatusUpdate(provider_message_id="wamid.B", status=ours, at_ms=1700000000000, route=PNID)


def test_failed_status_maps_the_error() -> None:
    [event] = callbacks.parse(
        statuses(
            {
                "id": "wamid.F",
                "status": "failed",
                "timestamp": "1700000001",
                "recipient_id": "16505551234",
                "biz_opaque_callback_data": "msg_09",
                "errors": [
                    {
                        "code": 131047,
                        "title": "Re-engagement message",
                        "message": "Re-engagement message",
                        "error_data": {"details": "More than 24 hours have passed."},
                        "href": "https://developers.facebook.com/docs/",
                    }
                ],
            }
        )
    )
    assert event == StatusUpdate(
        provider_message_id="wamid.F",
        status="FAILED",
        at_ms=1700000001000,
        code="META_OUTSIDE_24H_WINDOW",
        detail="Meta error 131047: Re-engagement message - More than 24 hours have passed.",
        retryable=False,
        our_message_id="msg_09",
        route=PNID,
    )


def test_failed_status_with_a_transient_error_is_retryable() -> None:
    [event] = callbacks.parse(
        statuses(
            {"id": "wamid.G", "status": "failed", "timestamp": "1700000002", "errors": [{"code": 131000}]}
        )
    )
    assert isinstance(event, StatusUpdate)
    assert (event.code, event.retryable) == ("DELIVERY_TIMEOUT", True)


def test_every_entry_change_and_status_is_read() -> None:
    body = statuses(
        {"id": "wamid.1", "status": "sent", "timestamp": "1"},
        {"id": "wamid.1", "status": "delivered", "timestamp": "2"},
    )
    second = statuses({"id": "wamid.2", "status": "read", "timestamp": "3"})
    body["entry"].append(second["entry"][0])
    body["entry"][0]["changes"].append(
        {
            "field": "messages",
            "value": {
                "metadata": {"phone_number_id": "999"},
                "statuses": [{"id": "wamid.3", "status": "sent", "timestamp": "4"}],
            },
        }
    )
    found = [
        (e.provider_message_id, e.status, e.route)
        for e in callbacks.parse(body)
        if isinstance(e, StatusUpdate)
    ]
    assert found == [
        ("wamid.1", "SENT", PNID),
        ("wamid.1", "DELIVERED", PNID),
        ("wamid.3", "SENT", "999"),
        ("wamid.2", "READ", PNID),
    ]


BASE = {"from": "16505551234", "id": "wamid.IN", "timestamp": "1749416383"}


def expected(message_type: str, **fields: Any) -> InboundMessage:
    values: dict[str, Any] = {
        "provider_message_id": "wamid.IN",
        "sender": "+16505551234",
        "message_type": message_type,
        "sender_name": "Sheena Nelson",
        "at_ms": 1749416383000,
        "route": PNID,
        **fields,
    }
    return InboundMessage(**values)


INBOUND: list[tuple[str, dict[str, Any], InboundMessage]] = [
    ("text", {"type": "text", "text": {"body": "Another color?"}}, expected("text", text="Another color?")),
    (
        "quoted text",
        {"type": "text", "text": {"body": "yes"}, "context": {"from": "15550783881", "id": "wamid.OURS"}},
        expected("text", text="yes", quoted_provider_id="wamid.OURS"),
    ),
    (
        "image",
        {
            "type": "image",
            "image": {"caption": "Taj", "mime_type": "image/jpeg", "sha256": "x", "id": "1003"},
        },
        expected("image", text="Taj", media=InboundMedia(id="1003", mime_type="image/jpeg", caption="Taj")),
    ),
    (
        "voice",
        {"type": "audio", "audio": {"mime_type": "audio/ogg; codecs=opus", "id": "2", "voice": True}},
        expected("audio", media=InboundMedia(id="2", mime_type="audio/ogg; codecs=opus")),
    ),
    (
        "video",
        {"type": "video", "video": {"mime_type": "video/mp4", "id": "3", "caption": "v"}},
        expected("video", text="v", media=InboundMedia(id="3", mime_type="video/mp4", caption="v")),
    ),
    (
        "document",
        {"type": "document", "document": {"filename": "r.pdf", "id": "4", "mime_type": "application/pdf"}},
        expected("document", media=InboundMedia(id="4", mime_type="application/pdf", file_name="r.pdf")),
    ),
    (
        "sticker",
        {"type": "sticker", "sticker": {"mime_type": "image/webp", "id": "5", "animated": False}},
        expected("sticker", media=InboundMedia(id="5", mime_type="image/webp")),
    ),
    (
        "template quick reply",
        {
            "type": "button",
            "context": {"id": "wamid.TPL"},
            "button": {"payload": "STOP_PROMO", "text": "Unsubscribe"},
        },
        expected("button", text="Unsubscribe", reply_id="STOP_PROMO", quoted_provider_id="wamid.TPL"),
    ),
    (
        "button reply",
        {
            "type": "interactive",
            "context": {"id": "wamid.Q"},
            "interactive": {
                "type": "button_reply",
                "button_reply": {"id": "cancel-button", "title": "Cancel"},
            },
        },
        expected("interactive", text="Cancel", reply_id="cancel-button", quoted_provider_id="wamid.Q"),
    ),
    (
        "list reply",
        {
            "type": "interactive",
            "interactive": {
                "type": "list_reply",
                "list_reply": {"id": "express", "title": "Express", "description": "Next day"},
            },
        },
        expected("interactive", text="Express", reply_id="express"),
    ),
    (
        "reaction",
        {"type": "reaction", "reaction": {"message_id": "wamid.R", "emoji": "👍"}},
        expected("reaction", text="👍", reaction_to="wamid.R"),
    ),
    (
        "reaction removed",
        {"type": "reaction", "reaction": {"message_id": "wamid.R", "emoji": ""}},
        expected("reaction", reaction_to="wamid.R"),
    ),
    (
        "location",
        {
            "type": "location",
            "location": {
                "address": "101 Forest Ave",
                "latitude": 37.44,
                "longitude": -122.16,
                "name": "Philz Coffee",
            },
        },
        expected("location", text="Philz Coffee, 101 Forest Ave"),
    ),
    (
        "bare location",
        {"type": "location", "location": {"latitude": 37.44, "longitude": -122.16}},
        expected("location", text="37.44,-122.16"),
    ),
    (
        "contacts",
        {
            "type": "contacts",
            "contacts": [
                {"name": {"formatted_name": "John Smith"}, "phones": [{"phone": "+1 650"}]},
                {"name": {"formatted_name": "Ana"}},
            ],
        },
        expected("contacts", text="John Smith, Ana"),
    ),
    ("unsupported", {"type": "unsupported", "errors": [{"code": 131051}]}, expected("unsupported")),
    (
        "completed flow",
        {
            "type": "interactive",
            "context": {"id": "wamid.FLOW"},
            "interactive": {
                "type": "nfm_reply",
                "nfm_reply": {
                    "response_json": '{"flow_token":"flt_1","a":1}',
                    "body": "Sent",
                    "name": "flow",
                },
            },
        },
        expected(
            "interactive",
            text='{"flow_token":"flt_1","a":1}',
            reply_id="flow",
            quoted_provider_id="wamid.FLOW",
        ),
    ),
    ("unknown type is unsupported", {"type": "order", "order": {"catalog_id": "1"}}, expected("unsupported")),
    (
        "referral is ignored, text kept",
        {"type": "text", "text": {"body": "Hi"}, "referral": {"source_type": "ad"}},
        expected("text", text="Hi"),
    ),
]


@pytest.mark.parametrize(("message", "event"), [c[1:] for c in INBOUND], ids=[c[0] for c in INBOUND])
def test_inbound_message(message: dict[str, Any], event: InboundMessage) -> None:
    assert callbacks.parse(inbound({**BASE, **message})) == [event]


def test_sender_name_is_looked_up_by_wa_id() -> None:
    body = inbound(
        {**BASE, "type": "text", "text": {"body": "a"}},
        {**BASE, "id": "wamid.2", "from": "5511988887777", "type": "text", "text": {"body": "b"}},
    )
    body["entry"][0]["changes"][0]["value"]["contacts"].append(
        {"profile": {"name": "Ana"}, "wa_id": "5511988887777"}
    )
    names = [(e.sender, e.sender_name) for e in callbacks.parse(body) if isinstance(e, InboundMessage)]
    assert names == [("+16505551234", "Sheena Nelson"), ("+5511988887777", "Ana")]


def test_inbound_without_contacts_has_no_name() -> None:
    [event] = callbacks.parse(inbound({**BASE, "type": "text", "text": {"body": "a"}}, name=None))
    assert isinstance(event, InboundMessage)
    assert event.sender_name is None


def test_template_status_update() -> None:
    body = envelope(
        {
            "event": "REJECTED",
            "message_template_id": 1689556908129835,
            "message_template_name": "abandoned_cart",
            "message_template_language": "en",
            "reason": "INVALID_FORMAT",
            "message_template_category": "MARKETING",
        },
        field="message_template_status_update",
        waba="102290129340398",
    )
    assert callbacks.parse(body) == [
        TemplateUpdate(
            name="abandoned_cart",
            status="REJECTED",
            provider_template_id="1689556908129835",
            language="en",
            reason="INVALID_FORMAT",
            route="102290129340398",
        )
    ]


def test_template_approval_has_no_reason() -> None:
    body = envelope(
        {
            "event": "APPROVED",
            "message_template_id": "77",
            "message_template_name": "pedido_saiu",
            "message_template_language": "pt_BR",
            "reason": "NONE",
        },
        field="message_template_status_update",
        waba="200",
    )
    assert callbacks.parse(body) == [
        TemplateUpdate(
            name="pedido_saiu", status="APPROVED", provider_template_id="77", language="pt_BR", route="200"
        )
    ]


@pytest.mark.parametrize(
    "body",
    [
        None,
        "text",
        42,
        [],
        {},
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": "x"},
        {"object": "whatsapp_business_account", "entry": [None, 1, {"changes": None}]},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]},
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "statuses": [None, {"status": "sent"}, {"id": "w", "status": "deleted"}],
                                "messages": [
                                    {"id": "w"},
                                    {"from": "1", "id": "w", "type": "system"},
                                    {
                                        "from": "1",
                                        "id": "w",
                                        "type": "interactive",
                                        "interactive": {"type": "call_reply"},
                                    },
                                ],
                                "errors": [{"code": 1}],
                            },
                        },
                        {"field": "account_update", "value": {"event": "X"}},
                        {"field": "message_template_status_update", "value": {"event": "APPROVED"}},
                    ]
                }
            ],
        },
    ],
    ids=[
        "none",
        "str",
        "int",
        "list",
        "empty",
        "other-object",
        "no-entry",
        "entry-str",
        "junk-entries",
        "no-value",
        "junk-items",
    ],
)
def test_odd_bodies_yield_nothing(body: Any) -> None:
    assert callbacks.parse(body) == []


def test_odd_field_types_do_not_raise() -> None:
    body = statuses(
        {
            "id": "wamid.Z",
            "status": "sent",
            "timestamp": "soon",
            "pricing": "free",
            "conversation": [],
            "biz_opaque_callback_data": {},
        }
    )
    assert callbacks.parse(body) == [StatusUpdate(provider_message_id="wamid.Z", status="SENT", route=PNID)]
