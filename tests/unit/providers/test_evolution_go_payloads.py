"""OutboundMessage -> Evolution GO calls (pure), one row per shape."""

from __future__ import annotations

from typing import Any

import pytest

from zapgate import errors
from zapgate.providers.base import NumberRef, OutboundMessage
from zapgate.providers.evolution_go import payloads
from zapgate.providers.evolution_go.payloads import BLANK

NUMBER = NumberRef(
    id="wn_1",
    number="5511900001111",
    provider="evolution-go",
    official=False,
    credentials={"instanceToken": "t"},
)
PHONE = "+5511988887777"
DIGITS = "5511988887777"
GROUP = "120363025246125888@g.us"
CHANNEL = "120363025246125999@newsletter"


def message(payload: dict[str, Any], *, destination: str = PHONE, kind: str = "phone") -> OutboundMessage:
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


def calls(payload: dict[str, Any], **kw: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(c.path, c.body) for c in payloads.build(message(payload, **kw)).calls]


TEMPLATE = {
    "id": "tp_1",
    "name": "pedido_saiu",
    "language": "pt_BR",
    "category": "UTILITY",
    "parameters": {"pedido": "42"},
    "body": "Olá Ana, seu pedido 42 saiu",
    "footer": "Loja",
    "buttons": [],
    "header": None,
}

CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[tuple[str, dict[str, Any]]]]] = [
    (
        "text to a phone: digits, no plus",
        {"mode": "text", "text": "hi https://x.com"},
        {},
        [("/send/text", {"number": DIGITS, "text": "hi https://x.com"})],
    ),
    (
        "text to a group: the JID as is",
        {"mode": "text", "text": "hi"},
        {"destination": GROUP, "kind": "group"},
        [("/send/text", {"number": GROUP, "text": "hi"})],
    ),
    (
        "text to a channel",
        {"mode": "text", "text": "hi"},
        {"destination": CHANNEL, "kind": "newsletter"},
        [("/send/text", {"number": CHANNEL, "text": "hi"})],
    ),
    (
        "reply buttons with header and footer",
        {
            "mode": "text",
            "text": "Confirm?",
            "footer": "Reply within 24h",
            "header": {"type": "text", "content": "Pedido 42"},
            "buttons": [{"type": "reply", "label": "Yes", "id": "yes"}, {"type": "reply", "label": "No"}],
        },
        {},
        [
            (
                "/send/button",
                {
                    "number": DIGITS,
                    "title": "Pedido 42",
                    "description": "Confirm?",
                    "footer": "Reply within 24h",
                    "buttons": [
                        {"type": "reply", "displayText": "Yes", "id": "yes"},
                        {"type": "reply", "displayText": "No", "id": "No"},
                    ],
                },
            )
        ],
    ),
    (
        "buttons without header/footer: invisible but non-empty title and footer",
        {
            "mode": "text",
            "text": "Pick",
            "buttons": [
                {"type": "url", "label": "Open", "url": "https://x/a"},
                {"type": "call", "label": "Call", "phoneNumber": "+5511999990000"},
                {"type": "copy", "label": "Code", "copyCode": "ABC123"},
            ],
        },
        {},
        [
            (
                "/send/button",
                {
                    "number": DIGITS,
                    "title": BLANK,
                    "description": "Pick",
                    "footer": BLANK,
                    "buttons": [
                        {"type": "url", "displayText": "Open", "url": "https://x/a"},
                        {"type": "call", "displayText": "Call", "phoneNumber": "+5511999990000"},
                        {"type": "copy", "displayText": "Code", "copyCode": "ABC123"},
                    ],
                },
            )
        ],
    ),
    (
        "a media header cannot ride on /send/button: dropped",
        {
            "mode": "text",
            "text": "Pick",
            "header": {"type": "image", "content": "https://x/h.jpg"},
            "buttons": [{"type": "reply", "label": "Ok"}],
        },
        {},
        [
            (
                "/send/button",
                {
                    "number": DIGITS,
                    "title": BLANK,
                    "description": "Pick",
                    "footer": BLANK,
                    "buttons": [{"type": "reply", "displayText": "Ok", "id": "Ok"}],
                },
            )
        ],
    ),
    (
        "list: rowId or id, footer, blank title",
        {
            "mode": "list",
            "text": "Choose",
            "footer": "Loja",
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
        {},
        [
            (
                "/send/list",
                {
                    "number": DIGITS,
                    "title": BLANK,
                    "description": "Choose",
                    "footerText": "Loja",
                    "buttonText": "Options",
                    "sections": [
                        {
                            "title": "Fast",
                            "rows": [
                                {"title": "R1", "description": "d", "rowId": "r1"},
                                {"title": "R2", "description": "", "rowId": "r2"},
                            ],
                        }
                    ],
                },
            )
        ],
    ),
    (
        "image with caption",
        {"mode": "media", "media": "https://x/a.jpg", "mediaType": "image", "caption": "c"},
        {},
        [("/send/media", {"number": DIGITS, "url": "https://x/a.jpg", "type": "image", "caption": "c"})],
    ),
    (
        "video",
        {"mode": "media", "media": "https://x/v.mp4", "mediaType": "video"},
        {},
        [("/send/media", {"number": DIGITS, "url": "https://x/v.mp4", "type": "video"})],
    ),
    (
        "document: fileName -> filename",
        {"mode": "media", "media": "https://x/d", "mediaType": "document", "fileName": "nota.pdf"},
        {},
        [
            (
                "/send/media",
                {"number": DIGITS, "url": "https://x/d", "type": "document", "filename": "nota.pdf"},
            )
        ],
    ),
    (
        "document without a name: taken from the URL",
        {"mode": "media", "media": "https://x/files/Nota%20Fiscal.pdf?sig=1", "mediaType": "document"},
        {},
        [
            (
                "/send/media",
                {
                    "number": DIGITS,
                    "url": "https://x/files/Nota%20Fiscal.pdf?sig=1",
                    "type": "document",
                    "filename": "Nota Fiscal.pdf",
                },
            )
        ],
    ),
    (
        "audio: recording presence first, then a voice note",
        {"mode": "media", "media": "https://x/a.mp3", "mediaType": "audio"},
        {},
        [
            ("/message/presence", {"number": DIGITS, "state": "composing", "isAudio": True}),
            ("/send/media", {"number": DIGITS, "url": "https://x/a.mp3", "type": "audio"}),
        ],
    ),
    (
        "voice is audio too",
        {"mode": "media", "media": "https://x/a.ogg", "mediaType": "voice"},
        {},
        [
            ("/message/presence", {"number": DIGITS, "state": "composing", "isAudio": True}),
            ("/send/media", {"number": DIGITS, "url": "https://x/a.ogg", "type": "audio"}),
        ],
    ),
    (
        "sticker",
        {"mode": "media", "media": "https://x/s.webp", "mediaType": "sticker"},
        {},
        [("/send/sticker", {"number": DIGITS, "sticker": "https://x/s.webp"})],
    ),
    (
        "template, text header: rendered text",
        {"mode": "template", "template": {**TEMPLATE, "header": {"type": "TEXT", "text": "Pedido 42"}}},
        {},
        [("/send/text", {"number": DIGITS, "text": "*Pedido 42*\n\nOlá Ana, seu pedido 42 saiu\n\n_Loja_"})],
    ),
    (
        "template without header and footer: just the body",
        {"mode": "template", "template": {**TEMPLATE, "footer": None}},
        {},
        [("/send/text", {"number": DIGITS, "text": "Olá Ana, seu pedido 42 saiu"})],
    ),
    (
        "template, image header: media with the rendered caption",
        {"mode": "template", "template": {**TEMPLATE, "header": {"type": "IMAGE", "url": "https://x/h.jpg"}}},
        {},
        [
            (
                "/send/media",
                {
                    "number": DIGITS,
                    "url": "https://x/h.jpg",
                    "type": "image",
                    "caption": "Olá Ana, seu pedido 42 saiu\n\n_Loja_",
                },
            )
        ],
    ),
    (
        "template, header media overridden by the send",
        {
            "mode": "template",
            "media": "https://x/other.pdf",
            "template": {**TEMPLATE, "header": {"type": "DOCUMENT", "url": "https://x/h.pdf"}},
        },
        {},
        [
            (
                "/send/media",
                {
                    "number": DIGITS,
                    "url": "https://x/other.pdf",
                    "type": "document",
                    "caption": "Olá Ana, seu pedido 42 saiu\n\n_Loja_",
                    "filename": "other.pdf",
                },
            )
        ],
    ),
    (
        "template with buttons: /send/button in the template spelling",
        {
            "mode": "template",
            "template": {
                **TEMPLATE,
                "header": {"type": "TEXT", "text": "Pedido 42"},
                "buttons": [
                    {"type": "QUICK_REPLY", "text": "Ok"},
                    {"type": "URL", "text": "Abrir", "url": "https://x/abc"},
                    {"type": "PHONE_NUMBER", "text": "Ligar", "phone_number": "+551130000000"},
                    {"type": "COPY_CODE", "text": "Copiar", "example": "CUPOM10"},
                ],
            },
        },
        {},
        [
            (
                "/send/button",
                {
                    "number": DIGITS,
                    "title": "Pedido 42",
                    "description": "Olá Ana, seu pedido 42 saiu",
                    "footer": "Loja",
                    "buttons": [
                        {"type": "reply", "displayText": "Ok", "id": "Ok"},
                        {"type": "url", "displayText": "Abrir", "url": "https://x/abc"},
                        {"type": "call", "displayText": "Ligar", "phoneNumber": "+551130000000"},
                        {"type": "copy", "displayText": "Copiar", "copyCode": "CUPOM10"},
                    ],
                },
            )
        ],
    ),
]


@pytest.mark.parametrize(("payload", "kw", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_build(
    payload: dict[str, Any], kw: dict[str, Any], expected: list[tuple[str, dict[str, Any]]]
) -> None:
    assert calls(payload, **kw) == expected


@pytest.mark.parametrize(
    "media", ["data:image/jpeg;base64,/9j/4AAQSkZJRg==", "/9j/4AAQSkZJRgABAQ", "ftp://x/a.jpg", ""]
)
def test_media_must_be_an_http_url(media: str) -> None:
    with pytest.raises(errors.ProviderPermanentError) as caught:
        calls({"mode": "media", "media": media, "mediaType": "image"})
    assert caught.value.code == "MEDIA_UNSUPPORTED"


def test_template_media_header_must_be_an_http_url() -> None:
    payload = {
        "mode": "template",
        "media": "data:image/png;base64,iVBOR",
        "template": {**TEMPLATE, "header": {"type": "IMAGE", "url": "https://x/h.jpg"}},
    }
    with pytest.raises(errors.ProviderPermanentError) as caught:
        calls(payload)
    assert caught.value.code == "MEDIA_UNSUPPORTED"


@pytest.mark.parametrize("mode", ["carousel", "flow"])
def test_modes_evolution_go_cannot_carry_fail_permanently(mode: str) -> None:
    with pytest.raises(errors.ProviderPermanentError) as caught:
        calls({"mode": mode})
    assert caught.value.code == "PROVIDER_REJECTED"


def test_audio_never_carries_a_caption_and_the_send_is_the_last_call() -> None:
    plan = payloads.build(
        message({"mode": "media", "media": "https://x/a.mp3", "mediaType": "audio", "caption": "ignored"})
    )
    assert plan.send.path == "/send/media"
    assert "caption" not in plan.send.body


@pytest.mark.parametrize(
    ("header", "body", "footer", "text"),
    [
        ("H", "B", "F", "*H*\n\nB\n\n_F_"),
        (None, "B", "F", "B\n\n_F_"),
        ("H", "B", None, "*H*\n\nB"),
        (None, "B", None, "B"),
    ],
)
def test_render_text(header: str | None, body: str, footer: str | None, text: str) -> None:
    assert payloads.render_text(header=header, body=body, footer=footer) == text
