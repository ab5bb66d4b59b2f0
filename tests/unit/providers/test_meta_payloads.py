"""Meta send bodies: one row per mode and variant, each checked against the whole body."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from zapgate import errors
from zapgate.providers.base import NumberRef, OutboundMessage
from zapgate.providers.meta import payloads, templates

NUMBER = NumberRef(
    id="num_1",
    number="5511900000000",
    provider="meta",
    official=True,
    credentials={"phoneNumberId": "100", "accessToken": "t"},
)
ENVELOPE = {
    "messaging_product": "whatsapp",
    "recipient_type": "individual",
    "to": "5511988887777",
    "biz_opaque_callback_data": "msg_1",
}
JPEG = "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xffjpeg").decode()

TEMPLATE: dict[str, Any] = {
    "id": "tp_1",
    "name": "pedido_saiu",
    "language": "pt_BR",
    "category": "UTILITY",
    "parameters": {"pedido": "42", "nome": "Ana", "link": "abc"},
    "body": "Olá Ana, seu pedido 42 saiu",
    "header": {"type": "TEXT", "text": "Pedido 42"},
    "footer": "Loja",
    "buttons": [
        {"type": "QUICK_REPLY", "text": "Ok"},
        {"type": "URL", "text": "Abrir", "url": "https://x/abc"},
    ],
    "placement": {"header": ["pedido"], "body": ["nome", "pedido"], "buttons": {"1": ["link"]}},
}


def message(
    payload: dict[str, Any], *, destination: str = "+5511988887777", kind: str = "phone"
) -> OutboundMessage:
    return OutboundMessage(
        message_id="msg_1",
        number=NUMBER,
        destination=destination,
        destination_kind=kind,
        mode=payload["mode"],
        payload=payload,
        attempt=1,
        mark_read=False,
    )


def body_of(kind: str, content: dict[str, Any]) -> dict[str, Any]:
    return {**ENVELOPE, "type": kind, kind: content}


CASES: list[tuple[str, dict[str, Any], str | None, dict[str, Any]]] = [
    ("plain text", {"mode": "text", "text": "hello"}, None, body_of("text", {"body": "hello"})),
    (
        "text with a link gets a preview",
        {"mode": "text", "text": "see https://x.com/a"},
        None,
        body_of("text", {"body": "see https://x.com/a", "preview_url": True}),
    ),
    (
        "http links count too",
        {"mode": "text", "text": "HTTP://x.com"},
        None,
        body_of("text", {"body": "HTTP://x.com", "preview_url": True}),
    ),
    (
        "reply buttons, id defaults to label",
        {
            "mode": "text",
            "text": "Confirm?",
            "buttons": [{"type": "reply", "label": "Yes", "id": "yes"}, {"type": "reply", "label": "No"}],
        },
        None,
        body_of(
            "interactive",
            {
                "type": "button",
                "body": {"text": "Confirm?"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                        {"type": "reply", "reply": {"id": "No", "title": "No"}},
                    ]
                },
            },
        ),
    ),
    (
        "reply buttons with text header and footer",
        {
            "mode": "text",
            "text": "Confirm?",
            "buttons": [{"type": "reply", "label": "Yes"}],
            "header": {"type": "text", "content": "Order 7"},
            "footer": "Reply within 24h",
        },
        None,
        body_of(
            "interactive",
            {
                "type": "button",
                "header": {"type": "text", "text": "Order 7"},
                "body": {"text": "Confirm?"},
                "footer": {"text": "Reply within 24h"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "Yes", "title": "Yes"}}]},
            },
        ),
    ),
    (
        "reply buttons with image header",
        {
            "mode": "text",
            "text": "Pick",
            "buttons": [{"type": "reply", "label": "A"}],
            "header": {"type": "image", "content": "https://x/h.jpg"},
        },
        None,
        body_of(
            "interactive",
            {
                "type": "button",
                "header": {"type": "image", "image": {"link": "https://x/h.jpg"}},
                "body": {"text": "Pick"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "A", "title": "A"}}]},
            },
        ),
    ),
    (
        "reply buttons with uploaded document header",
        {
            "mode": "text",
            "text": "Pick",
            "buttons": [{"type": "reply", "label": "A"}],
            "header": {"type": "document", "content": JPEG},
        },
        "555",
        body_of(
            "interactive",
            {
                "type": "button",
                "header": {"type": "document", "document": {"id": "555"}},
                "body": {"text": "Pick"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "A", "title": "A"}}]},
            },
        ),
    ),
    (
        "a single url button is a cta_url",
        {
            "mode": "text",
            "text": "Track it",
            "buttons": [{"type": "url", "label": "Open", "url": "https://x/t/1"}],
            "footer": "f",
        },
        None,
        body_of(
            "interactive",
            {
                "type": "cta_url",
                "body": {"text": "Track it"},
                "footer": {"text": "f"},
                "action": {"name": "cta_url", "parameters": {"display_text": "Open", "url": "https://x/t/1"}},
            },
        ),
    ),
    (
        "list, rows take rowId or id",
        {
            "mode": "list",
            "text": "Choose",
            "footer": "tax incl.",
            "list": {
                "buttonText": "Options",
                "sections": [
                    {"title": "Fast", "rows": [{"rowId": "r1", "title": "R1", "description": "d"}]},
                    {"title": "Cheap", "rows": [{"id": "r2", "title": "R2"}]},
                ],
            },
        },
        None,
        body_of(
            "interactive",
            {
                "type": "list",
                "body": {"text": "Choose"},
                "footer": {"text": "tax incl."},
                "action": {
                    "button": "Options",
                    "sections": [
                        {"title": "Fast", "rows": [{"id": "r1", "title": "R1", "description": "d"}]},
                        {"title": "Cheap", "rows": [{"id": "r2", "title": "R2"}]},
                    ],
                },
            },
        ),
    ),
    (
        "image link with caption",
        {"mode": "media", "media": "https://x/a.jpg", "mediaType": "image", "caption": "c"},
        None,
        body_of("image", {"link": "https://x/a.jpg", "caption": "c"}),
    ),
    (
        "video link",
        {"mode": "media", "media": "https://x/v.mp4", "mediaType": "video"},
        None,
        body_of("video", {"link": "https://x/v.mp4"}),
    ),
    (
        "document with filename and caption",
        {
            "mode": "media",
            "media": "https://x/a.pdf",
            "mediaType": "document",
            "caption": "inv",
            "fileName": "a.pdf",
        },
        None,
        body_of("document", {"link": "https://x/a.pdf", "caption": "inv", "filename": "a.pdf"}),
    ),
    (
        "audio is a voice note",
        {"mode": "media", "media": "https://x/a.ogg", "mediaType": "audio"},
        None,
        body_of("audio", {"link": "https://x/a.ogg", "voice": True}),
    ),
    (
        "voice is a voice note",
        {"mode": "media", "media": "https://x/a.ogg", "mediaType": "voice"},
        None,
        body_of("audio", {"link": "https://x/a.ogg", "voice": True}),
    ),
    (
        "sticker",
        {"mode": "media", "media": "https://x/s.webp", "mediaType": "sticker"},
        None,
        body_of("sticker", {"link": "https://x/s.webp"}),
    ),
    (
        "uploaded base64 image is sent by id",
        {"mode": "media", "media": JPEG, "mediaType": "image", "caption": "c"},
        "777",
        body_of("image", {"id": "777", "caption": "c"}),
    ),
    (
        "template with text header, body and url button",
        {"mode": "template", "template": TEMPLATE},
        None,
        body_of(
            "template",
            {
                "name": "pedido_saiu",
                "language": {"code": "pt_BR"},
                "components": [
                    {
                        "type": "header",
                        "parameters": [{"type": "text", "parameter_name": "pedido", "text": "42"}],
                    },
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "parameter_name": "nome", "text": "Ana"},
                            {"type": "text", "parameter_name": "pedido", "text": "42"},
                        ],
                    },
                    {
                        "type": "button",
                        "sub_type": "url",
                        "index": "1",
                        "parameters": [{"type": "text", "text": "abc"}],
                    },
                ],
            },
        ),
    ),
    (
        "template copy-code button sends its code",
        {
            "mode": "template",
            "template": {
                **TEMPLATE,
                "buttons": [
                    {"type": "QUICK_REPLY", "text": "Ok"},
                    {"type": "COPY_CODE", "example": "CUPOM10"},
                ],
                "placement": {"header": [], "body": ["nome"], "buttons": {}},
            },
        },
        None,
        body_of(
            "template",
            {
                "name": "pedido_saiu",
                "language": {"code": "pt_BR"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [{"type": "text", "parameter_name": "nome", "text": "Ana"}],
                    },
                    {
                        "type": "button",
                        "sub_type": "copy_code",
                        "index": "1",
                        "parameters": [{"type": "coupon_code", "coupon_code": "CUPOM10"}],
                    },
                ],
            },
        ),
    ),
    (
        "template without parameters has no components",
        {
            "mode": "template",
            "template": {
                "name": "hello_world",
                "language": "en_US",
                "parameters": {},
                "header": None,
                "placement": {"header": [], "body": [], "buttons": {}},
            },
        },
        None,
        body_of("template", {"name": "hello_world", "language": {"code": "en_US"}}),
    ),
    (
        "template image header from the template",
        {
            "mode": "template",
            "template": {
                **TEMPLATE,
                "header": {"type": "IMAGE", "url": "https://x/t.jpg"},
                "placement": {"header": [], "body": ["nome"], "buttons": {}},
            },
        },
        None,
        body_of(
            "template",
            {
                "name": "pedido_saiu",
                "language": {"code": "pt_BR"},
                "components": [
                    {
                        "type": "header",
                        "parameters": [{"type": "image", "image": {"link": "https://x/t.jpg"}}],
                    },
                    {
                        "type": "body",
                        "parameters": [{"type": "text", "parameter_name": "nome", "text": "Ana"}],
                    },
                ],
            },
        ),
    ),
    (
        "template document header overridden by the payload's media",
        {
            "mode": "template",
            "media": "https://x/o.pdf",
            "template": {
                **TEMPLATE,
                "header": {"type": "DOCUMENT", "url": "https://x/t.pdf"},
                "placement": {"header": [], "body": [], "buttons": {}},
            },
        },
        None,
        body_of(
            "template",
            {
                "name": "pedido_saiu",
                "language": {"code": "pt_BR"},
                "components": [
                    {
                        "type": "header",
                        "parameters": [{"type": "document", "document": {"link": "https://x/o.pdf"}}],
                    }
                ],
            },
        ),
    ),
    (
        "template video header from an uploaded override",
        {
            "mode": "template",
            "media": "data:video/mp4;base64,AAAA",
            "template": {
                **TEMPLATE,
                "header": {"type": "VIDEO", "url": "https://x/t.mp4"},
                "placement": {"header": [], "body": [], "buttons": {}},
            },
        },
        "v1",
        body_of(
            "template",
            {
                "name": "pedido_saiu",
                "language": {"code": "pt_BR"},
                "components": [{"type": "header", "parameters": [{"type": "video", "video": {"id": "v1"}}]}],
            },
        ),
    ),
    (
        "flow with navigate screen and data",
        {
            "mode": "flow",
            "text": "Book now",
            "flow": {
                "flowId": "1234",
                "cta": "Book",
                "action": "navigate",
                "screen": "START",
                "data": {"x": 1},
                "mode": "draft",
            },
        },
        None,
        body_of(
            "interactive",
            {
                "type": "flow",
                "body": {"text": "Book now"},
                "action": {
                    "name": "flow",
                    "parameters": {
                        "flow_message_version": "3",
                        "flow_id": "1234",
                        "flow_cta": "Book",
                        "flow_action": "navigate",
                        "flow_action_payload": {"screen": "START", "data": {"x": 1}},
                        "mode": "draft",
                    },
                },
            },
        ),
    ),
    (
        "flow data_exchange, body defaults to the cta, token passed on",
        {
            "mode": "flow",
            "flowToken": "flt_1",
            "flow": {"flowId": "99", "cta": "Open", "action": "data_exchange"},
        },
        None,
        body_of(
            "interactive",
            {
                "type": "flow",
                "body": {"text": "Open"},
                "action": {
                    "name": "flow",
                    "parameters": {
                        "flow_message_version": "3",
                        "flow_id": "99",
                        "flow_cta": "Open",
                        "flow_action": "data_exchange",
                        "flow_token": "flt_1",
                    },
                },
            },
        ),
    ),
]


@pytest.mark.parametrize(
    ("payload", "media_id", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_send_body(payload: dict[str, Any], media_id: str | None, expected: dict[str, Any]) -> None:
    assert payloads.build(message(payload), media_id=media_id) == expected


REJECTED = [
    (
        "reply and url mixed",
        {
            "mode": "text",
            "text": "x",
            "buttons": [{"type": "reply", "label": "A"}, {"type": "url", "label": "B", "url": "https://x"}],
        },
        "either 1-3 reply buttons or a single url button",
    ),
    (
        "two url buttons",
        {
            "mode": "text",
            "text": "x",
            "buttons": [
                {"type": "url", "label": "A", "url": "https://a"},
                {"type": "url", "label": "B", "url": "https://b"},
            ],
        },
        "url, url",
    ),
    (
        "call button",
        {
            "mode": "text",
            "text": "x",
            "buttons": [{"type": "call", "label": "Call", "phoneNumber": "+551100"}],
        },
        "call",
    ),
    (
        "copy button",
        {"mode": "text", "text": "x", "buttons": [{"type": "copy", "label": "Code", "copyCode": "ABC"}]},
        "copy",
    ),
    (
        "four reply buttons",
        {"mode": "text", "text": "x", "buttons": [{"type": "reply", "label": str(i)} for i in range(4)]},
        "at most 3",
    ),
    ("carousel", {"mode": "carousel", "carousel": {"cards": []}}, "carousel"),
    ("base64 not uploaded", {"mode": "media", "media": JPEG, "mediaType": "image"}, "uploaded"),
    (
        "template variable without value",
        {"mode": "template", "template": {**TEMPLATE, "parameters": {"nome": "Ana"}}},
        "'pedido'",
    ),
]


@pytest.mark.parametrize(("payload", "needle"), [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED])
def test_rejected_payloads(payload: dict[str, Any], needle: str) -> None:
    with pytest.raises(errors.ProviderPermanentError) as caught:
        payloads.build(message(payload))
    assert caught.value.code == "PROVIDER_REJECTED"
    assert needle in caught.value.message


def test_groups_are_refused() -> None:
    with pytest.raises(errors.ProviderPermanentError, match="group"):
        payloads.build(message({"mode": "text", "text": "x"}, destination="1203@g.us", kind="group"))


def test_mark_read_body_carries_the_typing_indicator() -> None:
    assert payloads.mark_read("wamid.IN") == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.IN",
        "typing_indicator": {"type": "text"},
    }


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"mode": "media", "media": JPEG, "mediaType": "image"}, JPEG),
        ({"mode": "media", "media": "https://x/a.jpg", "mediaType": "image"}, None),
        (
            {
                "mode": "text",
                "text": "x",
                "buttons": [{"type": "reply", "label": "A"}],
                "header": {"type": "image", "content": JPEG},
            },
            JPEG,
        ),
        ({"mode": "template", "template": TEMPLATE, "media": JPEG}, JPEG),
        ({"mode": "text", "text": "data:no"}, None),
    ],
)
def test_upload_source(payload: dict[str, Any], expected: str | None) -> None:
    assert payloads.upload_source(message(payload)) == expected


def test_decode_data_uri() -> None:
    upload = payloads.decode_data_uri(JPEG)
    assert (upload.mime_type, upload.content, upload.file_name) == (
        "image/jpeg",
        b"\xff\xd8\xffjpeg",
        "media.jpg",
    )
    named = payloads.decode_data_uri("data:application/pdf;base64,JVBERg==", file_name="a.pdf")
    assert (named.mime_type, named.content, named.file_name) == ("application/pdf", b"%PDF", "a.pdf")
    voice = payloads.decode_data_uri("data:audio/ogg; codecs=opus;base64,T2dnUw==")
    assert voice.content == b"OggS"


@pytest.mark.parametrize("uri", ["data:image/png,notbase64", "data:image/png;base64,@@@", "data:nothing"])
def test_decode_data_uri_rejects_garbage(uri: str) -> None:
    with pytest.raises(errors.ProviderPermanentError):
        payloads.decode_data_uri(uri)


# -- template create body (templates.py) -----------------------------------------------------

OUR_TEMPLATE: dict[str, Any] = {
    "name": "pedido_saiu",
    "language": "pt_BR",
    "category": "utility",
    "content": {
        "header": {"type": "TEXT", "text": "Pedido {{pedido}}"},
        "body": "Olá {{nome}}, seu pedido {{pedido}} saiu",
        "footer": "Loja",
        "buttons": [
            {"type": "QUICK_REPLY", "text": "Ok"},
            {"type": "URL", "text": "Abrir", "url": "https://x/{{link}}"},
            {"type": "URL", "text": "Site", "url": "https://x/home"},
            {"type": "PHONE_NUMBER", "text": "Ligar", "phone_number": "5511999999999"},
            {"type": "COPY_CODE", "example": "CUPOM10"},
        ],
        "examples": {"nome": "Ana", "pedido": "42", "link": "abc"},
    },
}


def test_template_create_body() -> None:
    assert templates.create_body(OUR_TEMPLATE) == {
        "name": "pedido_saiu",
        "language": "pt_BR",
        "category": "UTILITY",
        "parameter_format": "NAMED",
        "components": [
            {
                "type": "HEADER",
                "format": "TEXT",
                "text": "Pedido {{pedido}}",
                "example": {"header_text_named_params": [{"param_name": "pedido", "example": "42"}]},
            },
            {
                "type": "BODY",
                "text": "Olá {{nome}}, seu pedido {{pedido}} saiu",
                "example": {
                    "body_text_named_params": [
                        {"param_name": "nome", "example": "Ana"},
                        {"param_name": "pedido", "example": "42"},
                    ]
                },
            },
            {"type": "FOOTER", "text": "Loja"},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "QUICK_REPLY", "text": "Ok"},
                    {"type": "URL", "text": "Abrir", "url": "https://x/{{1}}", "example": ["abc"]},
                    {"type": "URL", "text": "Site", "url": "https://x/home"},
                    {"type": "PHONE_NUMBER", "text": "Ligar", "phone_number": "5511999999999"},
                    {"type": "COPY_CODE", "example": "CUPOM10"},
                ],
            },
        ],
    }


def test_template_create_body_minimal_with_media_header() -> None:
    body = templates.create_body(
        {
            "name": "promo",
            "language": "en_US",
            "category": "MARKETING",
            "content": {
                "header": {"type": "IMAGE", "url": "https://x/h.jpg"},
                "body": "Sale today",
                "footer": None,
                "buttons": [],
            },
        }
    )
    assert body["components"] == [
        {"type": "HEADER", "format": "IMAGE"},
        {"type": "BODY", "text": "Sale today"},
    ]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"name": "Pedido-Saiu"}, "lowercase letters, digits and underscores"),
        ({"name": ""}, "does not fit"),
        ({"category": "PROMO"}, "category"),
        ({"content": {**OUR_TEMPLATE["content"], "examples": {"nome": "Ana"}}}, "'pedido'"),
        ({"content": {"body": "Oi {{Nome}}", "examples": {"Nome": "A"}}}, "'Nome'"),
        ({"content": {"body": ""}}, "needs a body"),
        (
            {
                "content": {
                    "body": "x",
                    "buttons": [{"type": "URL", "text": "A", "url": "https://x/{{a}}/y"}],
                    "examples": {"a": "1"},
                }
            },
            "at the end",
        ),
        ({"content": {"body": "x", "buttons": [{"type": "FLOW", "text": "A"}]}}, "FLOW"),
        ({"content": {"body": "x", "header": {"type": "LOCATION"}}}, "LOCATION"),
    ],
    ids=[
        "uppercase-name",
        "empty-name",
        "bad-category",
        "missing-example",
        "uppercase-var",
        "no-body",
        "url-var-not-last",
        "flow-button",
        "location-header",
    ],
)
def test_template_create_body_refuses(change: dict[str, Any], needle: str) -> None:
    with pytest.raises(errors.ValidationFailed) as caught:
        templates.create_body({**OUR_TEMPLATE, **change})
    assert caught.value.code == "VALIDATION_ERROR"
    assert needle in caught.value.message
