from __future__ import annotations

from typing import Any

import pytest

from zapgate import errors
from zapgate.clock import parse_iso
from zapgate.domain import sendrequest

NOW = parse_iso("2026-06-20T10:00:00.000Z")
DEST = {"destinationNumber": "+5511988887777"}


def parse(body: Any) -> sendrequest.SendRequest:
    return sendrequest.parse(body, now_ms=NOW)


def code_of(body: Any) -> str:
    with pytest.raises(errors.ZapgateError) as info:
        parse(body)
    return info.value.code


def test_text_mode_normalises_destination() -> None:
    req = parse({"destinationNumber": "5511988887777", "text": "hi"})
    assert req.mode == "text" and req.destination == "+5511988887777"
    assert req.destination_kind == "phone"


def test_template_mode_with_variables_and_media_override() -> None:
    req = parse(
        {
            **DEST,
            "templateId": "boas_vindas",
            "variables": {"nome": "Ana"},
            "media": "https://x.example/a.png",
        }
    )
    assert req.mode == "template" and req.variables == {"nome": "Ana"}
    assert req.media == "https://x.example/a.png" and req.media_type == "image"


def test_media_mode_defaults_to_image_and_keeps_caption() -> None:
    req = parse({**DEST, "media": "https://x.example/a.pdf", "mediaType": "document", "caption": "Invoice"})
    assert (req.mode, req.media_type, req.caption) == ("media", "document", "Invoice")


def test_buttons_accept_both_spellings() -> None:
    req = parse(
        {
            **DEST,
            "text": "t",
            "buttons": [
                {"type": "QUICK_REPLY", "label": "Ok"},
                {"type": "url", "label": "Open", "url": "https://x.example"},
                {"type": "PHONE_NUMBER", "label": "Call", "phoneNumber": "+5511999999999"},
            ],
            "header": {"type": "text", "content": "H"},
            "footer": "F",
        }
    )
    assert [b["type"] for b in req.buttons] == ["reply", "url", "call"]


def test_group_and_newsletter_destinations() -> None:
    assert parse({"groupId": "120363012345678901@g.us", "text": "x"}).destination_kind == "group"
    assert (
        parse({"newsletterId": "120363012345678901@newsletter", "text": "x"}).destination_kind == "newsletter"
    )


def test_bsuid_destination_is_accepted() -> None:
    assert (
        parse({"destinationNumber": "BR.13491208655302741918", "text": "x"}).destination
        == "BR.13491208655302741918"
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ([], "VALIDATION_ERROR"),
        ({"text": "x"}, "VALIDATION_ERROR"),
        ({**DEST}, "VALIDATION_ERROR"),
        ({**DEST, "groupId": "1234567@g.us", "text": "x"}, "MODE_CONFLICT"),
        ({"destinationNumber": "abc", "text": "x"}, "INVALID_DESTINATION"),
        ({"destinationNumber": "+12", "text": "x"}, "INVALID_DESTINATION"),
        ({"groupId": "not-a-group", "text": "x"}, "INVALID_DESTINATION"),
        ({"newsletterId": "x@g.us", "text": "x"}, "INVALID_DESTINATION"),
        ({**DEST, "templateId": "t", "text": "x"}, "MODE_CONFLICT"),
        ({**DEST, "templateId": "t", "buttons": [{"type": "reply", "label": "a"}]}, "MODE_CONFLICT"),
        ({**DEST, "media": "https://x.example/a.png", "text": "x"}, "MODE_CONFLICT"),
        ({**DEST, "media": "https://x.example/a.png", "variables": {"a": "b"}}, "MODE_CONFLICT"),
        ({**DEST, "text": "x", "variables": {"a": "b"}}, "MODE_CONFLICT"),
        (
            {
                **DEST,
                "list": {"buttonText": "b", "sections": [{"title": "s", "rows": [{"title": "r"}]}]},
                "templateId": "t",
            },
            "MODE_CONFLICT",
        ),
        (
            {**DEST, "media": "https://x.example/a.ogg", "mediaType": "audio", "caption": "c"},
            "CAPTION_NOT_ALLOWED",
        ),
        ({**DEST, "text": "x", "header": {"type": "text", "content": "h"}}, "VALIDATION_ERROR"),
        ({**DEST, "text": "x", "footer": "f"}, "VALIDATION_ERROR"),
        ({**DEST, "text": "x", "buttons": [{"type": "reply", "label": "a"}] * 4}, "VALIDATION_ERROR"),
        ({**DEST, "text": "x", "buttons": [{"type": "reply", "label": "x" * 21}]}, "VALIDATION_ERROR"),
        ({**DEST, "text": "x", "buttons": [{"type": "url", "label": "a"}]}, "VALIDATION_ERROR"),
        ({**DEST, "text": "x", "buttons": [{"type": "bogus", "label": "a"}]}, "VALIDATION_ERROR"),
        ({**DEST, "text": "x" * 4097}, "VALIDATION_ERROR"),
        ({**DEST, "text": 5}, "VALIDATION_ERROR"),
        ({**DEST, "media": "ftp://x/a.png"}, "VALIDATION_ERROR"),
        ({**DEST, "media": "https://x.example/a.png", "mediaType": "gif"}, "VALIDATION_ERROR"),
        ({**DEST, "text": "x", "caption": "c"}, "VALIDATION_ERROR"),
        ({**DEST, "text": "x", "labels": "a"}, "VALIDATION_ERROR"),
        ({**DEST, "text": "x", "markRead": "yes"}, "VALIDATION_ERROR"),
        ({**DEST, "text": "x", "deliverAt": "tomorrow"}, "VALIDATION_ERROR"),
        ({**DEST, "text": "x", "deliverAt": "2026-08-01T00:00:00Z"}, "VALIDATION_ERROR"),
        (
            {
                **DEST,
                "text": "x",
                "deliverAt": "2026-06-21T00:00:00Z",
                "deliverUntil": "2026-06-20T12:00:00Z",
            },
            "VALIDATION_ERROR",
        ),
        ({**DEST, "text": "x", "deliverUntil": "2026-06-19T00:00:00Z"}, "VALIDATION_ERROR"),
    ],
)
def test_invalid_bodies(body: Any, code: str) -> None:
    assert code_of(body) == code


def test_validation_error_lists_field_details() -> None:
    with pytest.raises(errors.ValidationFailed) as info:
        parse({**DEST, "text": "x", "labels": "a", "markRead": "no"})
    fields = {d["field"] for d in info.value.extra["details"]}
    assert fields == {"labels", "markRead"}


def test_past_deliver_at_means_now() -> None:
    req = parse({**DEST, "text": "x", "deliverAt": "2020-01-01T00:00:00Z"})
    assert req.deliver_at == NOW
