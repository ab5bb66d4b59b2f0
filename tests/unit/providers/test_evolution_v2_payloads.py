"""OutboundMessage -> Evolution API v2 send requests (pure), table-driven."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from zapgate import errors
from zapgate.providers.base import NumberRef, OutboundMessage
from zapgate.providers.evolution_v2 import payloads

PDF_B64 = base64.b64encode(b"%PDF-1.4 fake").decode()
JPG_B64 = base64.b64encode(b"\xff\xd8\xff fake jpeg").decode()
NUMBER = NumberRef(
    id="num_1",
    number="5511900001111",
    provider="evolution-v2",
    official=False,
    credentials={"instanceName": "zapgate-num_1"},
)
TEMPLATE = {
    "id": "tp_1",
    "name": "pedido_saiu",
    "language": "pt_BR",
    "category": "UTILITY",
    "parameters": {"pedido": "42"},
    "body": "Olá Ana, seu pedido 42 saiu",
    "header": {"type": "TEXT", "text": "Pedido 42"},
    "footer": "Loja",
    "buttons": [],
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


def build(payload: dict[str, Any], **kw: Any) -> payloads.SendRequest:
    return payloads.build(message(payload, **kw), audio_presence_ms=1500)


def template(**changes: Any) -> dict[str, Any]:
    return {"mode": "template", "template": {**TEMPLATE, **changes}}


CASES: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    ("plain text", {"mode": "text", "text": "hi"}, "sendText", {"number": "5511988887777", "text": "hi"}),
    (
        "text with a link asks for a preview",
        {"mode": "text", "text": "see https://x.com"},
        "sendText",
        {"number": "5511988887777", "text": "see https://x.com", "linkPreview": True},
    ),
    (
        "reply buttons, header and footer",
        {
            "mode": "text",
            "text": "Confirm?",
            "header": {"type": "text", "content": "Order"},
            "footer": "Reply today",
            "buttons": [{"type": "reply", "label": "Yes", "id": "yes"}, {"type": "reply", "label": "No"}],
        },
        "sendButtons",
        {
            "number": "5511988887777",
            "title": "Order",
            "description": "Confirm?",
            "footer": "Reply today",
            "buttons": [
                {"type": "reply", "displayText": "Yes", "id": "yes"},
                {"type": "reply", "displayText": "No", "id": "No"},
            ],
        },
    ),
    (
        "call-to-action buttons without header",
        {
            "mode": "text",
            "text": "Help",
            "buttons": [
                {"type": "url", "label": "Site", "url": "https://x.com"},
                {"type": "call", "label": "Call", "phoneNumber": "+5511999990000"},
                {"type": "copy", "label": "Code", "copyCode": "ABC123"},
            ],
        },
        "sendButtons",
        {
            "number": "5511988887777",
            "title": "",
            "description": "Help",
            "buttons": [
                {"type": "url", "displayText": "Site", "url": "https://x.com"},
                {"type": "call", "displayText": "Call", "phoneNumber": "+5511999990000"},
                {"type": "copy", "displayText": "Code", "copyCode": "ABC123"},
            ],
        },
    ),
    (
        "image header becomes the buttons thumbnail",
        {
            "mode": "text",
            "text": "Look",
            "header": {"type": "image", "content": "https://x/h.jpg"},
            "buttons": [{"type": "reply", "label": "Ok", "id": "ok"}],
        },
        "sendButtons",
        {
            "number": "5511988887777",
            "title": "",
            "description": "Look",
            "thumbnailUrl": "https://x/h.jpg",
            "buttons": [{"type": "reply", "displayText": "Ok", "id": "ok"}],
        },
    ),
    (
        "mixed reply and url buttons fall back to text",
        {
            "mode": "text",
            "text": "Pick",
            "footer": "f",
            "buttons": [
                {"type": "reply", "label": "Ok", "id": "ok"},
                {"type": "url", "label": "Site", "url": "https://x.com"},
            ],
        },
        "sendText",
        {
            "number": "5511988887777",
            "linkPreview": True,
            "text": "Pick\n\n• Ok\n• Site: https://x.com\n\n_f_",
        },
    ),
    (
        "document header with buttons falls back to a captioned document",
        {
            "mode": "text",
            "text": "Invoice",
            "header": {"type": "document", "content": "https://x/i.pdf"},
            "buttons": [{"type": "reply", "label": "Paid", "id": "paid"}],
        },
        "sendMedia",
        {
            "number": "5511988887777",
            "mediatype": "document",
            "media": "https://x/i.pdf",
            "caption": "Invoice\n\n• Paid",
        },
    ),
    (
        "list",
        {
            "mode": "list",
            "text": "Choose",
            "footer": "Shop",
            "list": {
                "buttonText": "Options",
                "sections": [
                    {
                        "title": "Fast",
                        "rows": [
                            {"rowId": "r1", "title": "R1", "description": "d"},
                            {"id": "r2", "title": "R2"},
                        ],
                    }
                ],
            },
        },
        "sendList",
        {
            "number": "5511988887777",
            "title": "",
            "description": "Choose",
            "footerText": "Shop",
            "buttonText": "Options",
            "sections": [
                {
                    "title": "Fast",
                    "rows": [
                        {"title": "R1", "rowId": "r1", "description": "d"},
                        {"title": "R2", "rowId": "r2"},
                    ],
                }
            ],
        },
    ),
    (
        "list without footer or section title",
        {
            "mode": "list",
            "text": "Choose",
            "list": {"buttonText": "Options", "sections": [{"rows": [{"title": "R1", "description": ""}]}]},
        },
        "sendList",
        {
            "number": "5511988887777",
            "title": "",
            "description": "Choose",
            "footerText": "",
            "buttonText": "Options",
            "sections": [{"title": "Options", "rows": [{"title": "R1", "rowId": "R1"}]}],
        },
    ),
    (
        "image by URL",
        {"mode": "media", "media": "https://x/a.jpg", "mediaType": "image", "caption": "c"},
        "sendMedia",
        {"number": "5511988887777", "mediatype": "image", "media": "https://x/a.jpg", "caption": "c"},
    ),
    (
        "image as data URI becomes raw base64 + mimetype",
        {"mode": "media", "media": "data:image/jpeg;base64," + JPG_B64, "mediaType": "image"},
        "sendMedia",
        {"number": "5511988887777", "mediatype": "image", "media": JPG_B64, "mimetype": "image/jpeg"},
    ),
    (
        "base64 document gets a default file name",
        {"mode": "media", "media": "data:application/pdf;base64," + PDF_B64, "mediaType": "document"},
        "sendMedia",
        {
            "number": "5511988887777",
            "mediatype": "document",
            "media": PDF_B64,
            "mimetype": "application/pdf",
            "fileName": "document.pdf",
        },
    ),
    (
        "document keeps its file name",
        {
            "mode": "media",
            "media": "https://x/r.pdf",
            "mediaType": "document",
            "fileName": "report.pdf",
            "caption": "r",
        },
        "sendMedia",
        {
            "number": "5511988887777",
            "mediatype": "document",
            "media": "https://x/r.pdf",
            "caption": "r",
            "fileName": "report.pdf",
        },
    ),
    (
        "voice note",
        {"mode": "media", "media": "https://x/a.ogg", "mediaType": "voice"},
        "sendWhatsAppAudio",
        {"number": "5511988887777", "audio": "https://x/a.ogg", "delay": 1500},
    ),
    (
        "audio is a voice note too",
        {"mode": "media", "media": "data:audio/ogg;base64," + PDF_B64, "mediaType": "audio"},
        "sendWhatsAppAudio",
        {"number": "5511988887777", "audio": PDF_B64, "delay": 1500},
    ),
    (
        "sticker",
        {"mode": "media", "media": "https://x/s.webp", "mediaType": "sticker"},
        "sendSticker",
        {"number": "5511988887777", "sticker": "https://x/s.webp"},
    ),
    (
        "text template",
        template(),
        "sendText",
        {"number": "5511988887777", "text": "*Pedido 42*\n\nOlá Ana, seu pedido 42 saiu\n\n_Loja_"},
    ),
    (
        "template without header and footer",
        template(header=None, footer=None),
        "sendText",
        {"number": "5511988887777", "text": "Olá Ana, seu pedido 42 saiu"},
    ),
    (
        "image template",
        template(header={"type": "IMAGE", "url": "https://x/h.jpg"}),
        "sendMedia",
        {
            "number": "5511988887777",
            "mediatype": "image",
            "media": "https://x/h.jpg",
            "caption": "Olá Ana, seu pedido 42 saiu\n\n_Loja_",
        },
    ),
    (
        "template media override wins",
        {
            **template(header={"type": "IMAGE", "url": "https://x/h.jpg"}),
            "media": "https://x/other.jpg",
            "mediaType": "image",
        },
        "sendMedia",
        {
            "number": "5511988887777",
            "mediatype": "image",
            "media": "https://x/other.jpg",
            "caption": "Olá Ana, seu pedido 42 saiu\n\n_Loja_",
        },
    ),
    (
        "template with quick replies",
        template(buttons=[{"type": "QUICK_REPLY", "text": "Ok"}, {"type": "QUICK_REPLY", "text": "Não"}]),
        "sendButtons",
        {
            "number": "5511988887777",
            "title": "Pedido 42",
            "description": "Olá Ana, seu pedido 42 saiu",
            "footer": "Loja",
            "buttons": [
                {"type": "reply", "displayText": "Ok", "id": "Ok"},
                {"type": "reply", "displayText": "Não", "id": "Não"},
            ],
        },
    ),
    (
        "template with url, phone and copy buttons",
        template(
            header=None,
            buttons=[
                {"type": "URL", "text": "Abrir", "url": "https://x/abc"},
                {"type": "PHONE_NUMBER", "text": "Ligar", "phone_number": "+5511999990000"},
                {"type": "COPY_CODE", "example": "CUPOM10"},
            ],
        ),
        "sendButtons",
        {
            "number": "5511988887777",
            "title": "",
            "description": "Olá Ana, seu pedido 42 saiu",
            "footer": "Loja",
            "buttons": [
                {"type": "url", "displayText": "Abrir", "url": "https://x/abc"},
                {"type": "call", "displayText": "Ligar", "phoneNumber": "+5511999990000"},
                {"type": "copy", "displayText": "Copy code", "copyCode": "CUPOM10"},
            ],
        },
    ),
    (
        "template mixing quick reply and url falls back to text",
        template(
            buttons=[
                {"type": "QUICK_REPLY", "text": "Ok"},
                {"type": "URL", "text": "Abrir", "url": "https://x/abc"},
            ]
        ),
        "sendText",
        {
            "number": "5511988887777",
            "linkPreview": True,
            "text": "*Pedido 42*\n\nOlá Ana, seu pedido 42 saiu\n\n• Ok\n• Abrir: https://x/abc\n\n_Loja_",
        },
    ),
]


@pytest.mark.parametrize(("payload", "endpoint", "body"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_build(payload: dict[str, Any], endpoint: str, body: dict[str, Any]) -> None:
    request = build(payload)
    assert request.endpoint == endpoint
    assert request.body == body


@pytest.mark.parametrize(
    ("destination", "kind", "number"),
    [
        ("+5511988887777", "phone", "5511988887777"),
        ("120363025246125486@g.us", "group", "120363025246125486@g.us"),
        ("120363198765432101@newsletter", "newsletter", "120363198765432101@newsletter"),
    ],
)
def test_recipient(destination: str, kind: str, number: str) -> None:
    request = build({"mode": "text", "text": "hi"}, destination=destination, kind=kind)
    assert request.body["number"] == number


def test_audio_presence_comes_from_the_adapter_setting() -> None:
    request = payloads.build(
        message({"mode": "media", "media": "https://x/a.ogg", "mediaType": "voice"}), audio_presence_ms=20
    )
    assert request.body["delay"] == 20


@pytest.mark.parametrize("mode", ["carousel", "flow"])
def test_unsupported_modes_are_permanent_errors(mode: str) -> None:
    with pytest.raises(errors.ProviderPermanentError) as caught:
        build({"mode": mode, "text": "x"})
    assert caught.value.code == "PROVIDER_REJECTED"


@pytest.mark.parametrize(
    ("mimetype", "extension"),
    [
        ("application/pdf", ".pdf"),
        ("text/csv", ".csv"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
        ("application/x-unknown-thing", ""),
    ],
)
def test_document_extension(mimetype: str, extension: str) -> None:
    assert payloads.document_extension(mimetype) == extension


@pytest.mark.parametrize(
    ("buttons", "ok"),
    [
        ([{"type": "reply", "label": str(i)} for i in range(3)], True),
        ([{"type": "reply", "label": str(i)} for i in range(4)], False),
        (
            [
                {"type": "url", "label": "a", "url": "https://x"},
                {"type": "call", "label": "b", "phoneNumber": "+1"},
            ],
            True,
        ),
        ([{"type": "reply", "label": "a"}, {"type": "copy", "label": "b", "copyCode": "C"}], False),
    ],
)
def test_evolution_buttons_refuses_what_evolution_refuses(buttons: list[dict[str, Any]], ok: bool) -> None:
    assert (payloads.evolution_buttons(buttons) is not None) is ok
