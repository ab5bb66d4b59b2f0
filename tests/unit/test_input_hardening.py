"""Input hardening (issue 8): JSON values of the wrong type, dates out of range, non-ASCII
digits and empty carousel cards are refused as validation errors, never crash a parser."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zapgate import clock, errors
from zapgate.domain import phones, sendrequest
from zapgate.domain import template_rules as rules

NOW = clock.parse_iso("2026-06-20T10:00:00.000Z")
DEST = {"destinationNumber": "+5511988887777"}
# "+5511977779001" written with other scripts' digits: each is a Unicode decimal digit.
ARABIC_INDIC = "+55١١٩٧٧٧٧٩٠٠١"
DEVANAGARI = "+55११९७७७७९००१"
THAI = "+55๑๑๙๗๗๗๗๙๐๐๑"
FULLWIDTH = "+55１１９７７７７９００１"
FOREIGN_DIGITS = [ARABIC_INDIC, DEVANAGARI, THAI, FULLWIDTH]
NOT_STRINGS: list[Any] = [{}, ["URL"], ["QUICK_REPLY"], 1, 1.5, True, None]
E164 = re.compile(r"\+[1-9][0-9]{1,14}", re.ASCII)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def send_failure(body: Any) -> errors.ValidationFailed:
    with pytest.raises(errors.ValidationFailed) as info:
        sendrequest.parse(body, now_ms=NOW)
    return info.value


def send_problems(body: Any) -> dict[str, str]:
    failure = send_failure(body)
    assert failure.code == "VALIDATION_ERROR", failure
    details = failure.extra["details"]
    assert isinstance(details, list)
    return {d["field"]: d["message"] for d in details}


def template(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "boas_vindas",
        "category": "UTILITY",
        "language": "pt_BR",
        "body": "Olá {{nome}}, bem-vindo!",
        "examples": {"nome": "Ana"},
    }
    return {**body, **overrides}


def template_problems(body: Any, *, partial: bool = False) -> dict[str, str]:
    with pytest.raises(errors.ValidationFailed) as info:
        rules.parse(body, partial=partial)
    assert info.value.code == "VALIDATION_ERROR"
    details = info.value.extra["details"]
    assert isinstance(details, list)
    return {d["field"]: d["message"] for d in details}


# -- 1. non-string types in templates and sends ----------------------------------------------


@pytest.mark.parametrize("kind", NOT_STRINGS)
@pytest.mark.parametrize("partial", [False, True])
def test_template_button_type_that_is_not_a_string_is_a_validation_error(kind: Any, partial: bool) -> None:
    found = template_problems(template(buttons=[{"type": kind, "text": "Ver"}]), partial=partial)
    assert "QUICK_REPLY" in found["buttons[0].type"]


@pytest.mark.parametrize("kind", NOT_STRINGS)
def test_template_button_type_inside_the_structured_body(kind: Any) -> None:
    body = {"body": {"text": "Olá {{nome}}!"}, "buttons": [{"type": kind, "text": "Ver"}]}
    assert "buttons[0].type" in template_problems(template(body=body))


@pytest.mark.parametrize("kind", [{}, ["TEXT"], 1, True])
def test_template_header_type_that_is_not_a_string_is_a_validation_error(kind: Any) -> None:
    found = template_problems(template(header={"type": kind, "text": "Oi"}))
    assert "TEXT" in found["header.type"]


@pytest.mark.parametrize("value", [3, 2.5, True])
def test_template_identity_and_parts_of_the_wrong_type(value: Any) -> None:
    found = template_problems(
        {
            "name": value,
            "category": value,
            "language": value,
            "body": value,
            "footer": value,
            "buttons": value,
            "header": value,
            "examples": value,
        }
    )
    assert {"name", "category", "language", "body.text", "footer", "buttons", "header", "examples"} <= set(
        found
    )


@pytest.mark.parametrize("phone", [*FOREIGN_DIGITS, {}, ["+5511977779001"], 5511977779001])
def test_template_phone_button_needs_an_ascii_e164_string(phone: Any) -> None:
    found = template_problems(
        template(buttons=[{"type": "PHONE_NUMBER", "text": "Ligar", "phone_number": phone}])
    )
    assert "buttons[0].phone_number" in found


def test_template_phone_button_is_stored_in_e164() -> None:
    spec = rules.parse(
        template(buttons=[{"type": "PHONE_NUMBER", "text": "Ligar", "phone_number": "+55 (11) 97777-9001"}])
    )
    assert spec.content["buttons"] == [
        {"type": "PHONE_NUMBER", "text": "Ligar", "phone_number": "+5511977779001"}
    ]


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_template_parsing_any_json_fails_only_as_validation(body: Any) -> None:
    for partial in (False, True):
        with contextlib.suppress(errors.ValidationFailed):
            rules.parse(body, partial=partial)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["type", "text", "url", "phone_number", "example"]), JSON, max_size=5
        ),
        max_size=3,
    ),
    JSON,
)
def test_template_buttons_and_header_of_any_shape_fail_only_as_validation(
    buttons: list[Any], header: Any
) -> None:
    with contextlib.suppress(errors.ValidationFailed):
        rules.parse(template(buttons=buttons, header=header))


@pytest.mark.parametrize("kind", NOT_STRINGS[:-1])
def test_send_button_type_that_is_not_a_string_is_a_validation_error(kind: Any) -> None:
    found = send_problems({**DEST, "text": "x", "buttons": [{"type": kind, "label": "Ver"}]})
    assert found["buttons[0].type"] == "must be reply, url, call or copy"


@pytest.mark.parametrize("phone", [*FOREIGN_DIGITS, "+1", "call me"])
def test_send_call_button_needs_a_possible_e164_phone(phone: str) -> None:
    found = send_problems(
        {**DEST, "text": "x", "buttons": [{"type": "call", "label": "Ligar", "phoneNumber": phone}]}
    )
    assert "E.164" in found["buttons[0].phoneNumber"]


def test_send_call_button_phone_is_normalised() -> None:
    request = sendrequest.parse(
        {
            **DEST,
            "text": "x",
            "buttons": [{"type": "PHONE_NUMBER", "label": "Ligar", "phone_number": "55 (11) 97777-9001"}],
        },
        now_ms=NOW,
    )
    assert request.buttons == ({"type": "call", "label": "Ligar", "phoneNumber": "+5511977779001"},)


@pytest.mark.parametrize(
    ("list_", "field"),
    [
        ({"buttonText": {}, "sections": [{"title": "s", "rows": [{"title": "r"}]}]}, "list"),
        ({"buttonText": "b", "sections": {"rows": []}}, "list"),
        ({"buttonText": "b", "sections": [[{"title": "r"}]]}, "list.sections[0]"),
        ({"buttonText": "b", "sections": [{"title": "s", "rows": {}}]}, "list.sections[0]"),
        (
            {"buttonText": "b", "sections": [{"title": ["s"], "rows": [{"title": "r"}]}]},
            "list.sections[0].title",
        ),
        ({"buttonText": "b", "sections": [{"rows": [1]}]}, "list.sections[0].rows[0]"),
        ({"buttonText": "b", "sections": [{"rows": [{}]}]}, "list.sections[0].rows[0]"),
        ({"buttonText": "b", "sections": [{"rows": [{"title": {"t": 1}}]}]}, "list.sections[0].rows[0]"),
        (
            {"buttonText": "b", "sections": [{"rows": [{"title": "r", "rowId": 7}]}]},
            "list.sections[0].rows[0]",
        ),
    ],
)
def test_list_of_the_wrong_shape_names_the_part(list_: Any, field: str) -> None:
    assert field in send_problems({**DEST, "text": "Escolha", "list": list_})


@pytest.mark.parametrize(
    ("flow", "field"),
    [
        ({"flowId": "", "cta": "Abrir"}, "flow"),
        ({"flowId": ["1"], "cta": "Abrir"}, "flow"),
        ({"flowId": "1", "cta": "Abrir", "action": {}}, "flow.action"),
        ({"flowId": "1", "cta": "Abrir", "action": "jump"}, "flow.action"),
        ({"flowId": "1", "cta": "Abrir", "mode": ["draft"]}, "flow.mode"),
        ({"flowId": "1", "cta": "Abrir", "screen": 3}, "flow.screen"),
        ({"flowId": "1", "cta": "Abrir", "data": ["x"]}, "flow.data"),
    ],
)
def test_flow_of_the_wrong_shape_names_the_part(flow: Any, field: str) -> None:
    assert field in send_problems({**DEST, "flow": flow})


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            key: JSON
            for key in (
                "text",
                "buttons",
                "header",
                "footer",
                "list",
                "carousel",
                "flow",
                "variables",
                "labels",
                "media",
                "mediaType",
                "caption",
                "deliverAt",
                "deliverUntil",
                "markRead",
                "templateId",
            )
        },
    )
)
def test_send_parsing_any_json_fails_only_as_validation(extra: dict[str, Any]) -> None:
    with contextlib.suppress(errors.ValidationFailed):
        sendrequest.parse({**DEST, **extra}, now_ms=NOW)


# -- 2. dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-14:00",
        "9999-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "1999-12-31T23:59:59.999Z",
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T00:00:00-14:00",
    ],
)
@pytest.mark.parametrize("key", ["deliverAt", "deliverUntil"])
def test_dates_outside_the_window_name_the_field_and_the_bound(key: str, value: str) -> None:
    found = send_problems({**DEST, "text": "x", key: value})
    assert found[key] == "must be between 2000-01-01 and 2099-12-31 (UTC)"


def test_deliver_until_is_at_most_35_days_after_the_start() -> None:
    day = 86_400_000
    latest = clock.iso(NOW + 35 * day)
    assert (
        sendrequest.parse({**DEST, "text": "x", "deliverUntil": latest}, now_ms=NOW).deliver_until
        == NOW + 35 * day
    )
    found = send_problems({**DEST, "text": "x", "deliverUntil": clock.iso(NOW + 35 * day + 1)})
    assert found["deliverUntil"].startswith("at most 35 days after deliverAt")
    scheduled = {**DEST, "text": "x", "deliverAt": clock.iso(NOW + 30 * day)}
    assert (
        sendrequest.parse({**scheduled, "deliverUntil": clock.iso(NOW + 65 * day)}, now_ms=NOW).deliver_until
        == NOW + 65 * day
    )
    assert "deliverUntil" in send_problems({**scheduled, "deliverUntil": clock.iso(NOW + 66 * day)})


def test_the_window_edges_parse() -> None:
    assert clock.parse_iso("2000-01-01T00:00:00Z") == clock.EARLIEST_MS
    assert clock.parse_iso("2099-12-31T23:59:59.999Z") == clock.LATEST_MS
    assert clock.parse_iso("2100-01-01T13:59:59.999+14:00") == clock.LATEST_MS
    with pytest.raises(clock.DateOutOfRange):
        clock.parse_iso("2100-01-01T00:00:00Z")
    with pytest.raises(clock.DateOutOfRange):
        clock.parse_iso("2000-01-01T00:00:00+00:01")


@pytest.mark.parametrize("value", ["tomorrow", "", "٢٠٢٦-٠١-٠١", "2026-13-01"])
def test_text_that_is_not_a_date_is_a_value_error_not_out_of_range(value: str) -> None:
    with pytest.raises(ValueError) as info:
        clock.parse_iso(value)
    assert not isinstance(info.value, clock.DateOutOfRange)


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (1_771_945_200_123, "2026-02-24T15:00:00.123Z"),
        (253_402_351_199_000, "+010000-01-01T13:59:59.000Z"),  # 9999-12-31T23:59:59-14:00
        (-62_135_596_800_001, "0000-12-31T23:59:59.999Z"),
        (-62_167_219_200_001, "-000001-12-31T23:59:59.999Z"),
        (2**63 - 1, "+292278994-08-17T07:12:55.807Z"),
        (-(2**63), "-292275055-05-16T16:47:04.192Z"),
    ],
)
def test_iso_formats_any_stored_value(ms: int, text: str) -> None:
    assert clock.iso(ms) == text


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_iso_never_fails(ms: int) -> None:
    assert isinstance(clock.iso(ms), str)


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=clock.EARLIEST_MS, max_value=clock.LATEST_MS))
def test_iso_and_parse_iso_round_trip_inside_the_window(ms: int) -> None:
    assert clock.parse_iso(clock.iso(ms) or "") == ms


# -- 3. phone numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        *FOREIGN_DIGITS,
        "+55١١977779001",  # one foreign digit is enough
        "5511977779001\u0660",
    ],
)
def test_non_ascii_digits_are_not_a_phone(value: str) -> None:
    assert phones.normalize_e164(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+5511988887777", "+5511988887777"),
        ("5511988887777", "+5511988887777"),
        ("+55 (11) 98888-7777", "+5511988887777"),
        ("55.11.98888.7777", "+5511988887777"),
        ("+5511900000001", "+5511900000001"),  # a sandbox magic destination
        ("+15550000001", "+15550000001"),  # a fictional 555 number: possible, not "valid"
        ("+1 650 555 1234", "+16505551234"),
        ("+44 (0) 20 7123 4567", "+442071234567"),  # the trunk 0 is not part of E.164
        ("+5511988887777\n", "+5511988887777"),
    ],
)
def test_accepted_phone_formats(value: str, expected: str) -> None:
    assert phones.normalize_e164(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "+",
        "+0123456789",
        "+5511",
        "+55119888877776666",
        "+999123456789",
        "+1 800 FLOWERS",
        "+5511988887777 ext. 12",
        "+5511988887777;ext=12",
        "tel:+5511988887777",
        "++5511988887777",
        "+55 11 98888 7777 x",
    ],
)
def test_impossible_or_foreign_phone_forms_are_refused(value: str) -> None:
    assert phones.normalize_e164(value) is None


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("+0123456789 ()-.١२๓１x\n"), max_size=24))
def test_a_normalised_phone_is_always_ascii_e164(value: str) -> None:
    normalized = phones.normalize_e164(value)
    assert normalized is None or E164.fullmatch(normalized)


@pytest.mark.parametrize(
    "value",
    [
        "BR.١٣٤٩١٢٠٨٦٥٥٣٠٢٧٤١٩١٨",
        "BR.13491208655302741918\n",
        "BR.1349120865530274191８",
    ],
)
def test_bsuid_needs_ascii_digits_and_nothing_after(value: str) -> None:
    assert not phones.is_bsuid(value)
    assert phones.is_bsuid("BR.13491208655302741918")


def test_jids_need_ascii_digits_and_nothing_after() -> None:
    assert phones.is_group_jid("120363012345678901@g.us")
    assert not phones.is_group_jid("120363012345678901@g.us\n")
    assert phones.is_newsletter_jid("120363012345678901@newsletter")
    assert not phones.is_newsletter_jid("١٢٠٣٦٣٠١٢٣٤٥٦٧٨٩٠١@newsletter")
    assert not phones.is_newsletter_jid("120363012345678901@newsletter\n")


@pytest.mark.parametrize("value", FOREIGN_DIGITS)
def test_send_to_non_ascii_digits_is_an_invalid_destination(value: str) -> None:
    failure = send_failure({"destinationNumber": value, "text": "x"})
    assert failure.code == "INVALID_DESTINATION"


# -- 4. carousel cards -----------------------------------------------------------------------

CARD = {
    "media": {"type": "image", "url": "https://cdn.example/a.png"},
    "body": "Promo",
    "buttons": [
        {"type": "URL", "text": "Ver", "url": "https://loja.example/a"},
        {"type": "QUICK_REPLY", "text": "Quero", "payload": "p1"},
    ],
}


def carousel(*cards: Any) -> dict[str, Any]:
    return {**DEST, "carousel": {"cards": list(cards)}}


def test_a_valid_carousel_is_kept_as_given() -> None:
    request = sendrequest.parse(carousel(CARD, {"media": {"url": "https://cdn.example/b.png"}}), now_ms=NOW)
    assert request.mode == "carousel"
    assert request.carousel == {"cards": [CARD, {"media": {"url": "https://cdn.example/b.png"}}]}


@pytest.mark.parametrize(
    ("cards", "field", "words"),
    [
        ([{}], "carousel.cards[0]", "every card carries its own media"),
        ([CARD, {}], "carousel.cards[1]", "every card carries its own media"),
        ([CARD, "card"], "carousel.cards[1]", "non-empty object"),
        ([{"body": "Promo"}], "carousel.cards[0].media", "required"),
        ([{"media": {}, "body": "Promo"}], "carousel.cards[0].media", "required"),
        ([{"media": "https://cdn.example/a.png"}], "carousel.cards[0].media", "object"),
        ([{**CARD, "body": {"text": "x"}}], "carousel.cards[0].body", "string"),
        ([{**CARD, "buttons": {"type": "URL"}}], "carousel.cards[0].buttons", "array"),
        (
            [{**CARD, "buttons": [{"type": {}, "text": "Ver"}]}],
            "carousel.cards[0].buttons[0].type",
            "QUICK_REPLY or URL",
        ),
        (
            [{**CARD, "buttons": [{"type": "URL", "text": "Ver"}]}],
            "carousel.cards[0].buttons[0].url",
            "http(s)",
        ),
        (
            [{**CARD, "buttons": [{"type": "QUICK_REPLY", "text": ""}]}],
            "carousel.cards[0].buttons[0].text",
            "1-20",
        ),
    ],
)
def test_a_bad_card_is_named_by_its_index(cards: list[Any], field: str, words: str) -> None:
    found = send_problems(carousel(*cards))
    assert words in found[field]


@pytest.mark.parametrize(
    "value", [{"cards": []}, {"cards": [CARD] * 11}, {"cards": {}}, {"cardTemplate": {}}, ["cards"]]
)
def test_carousel_needs_one_to_ten_cards(value: Any) -> None:
    assert send_problems({**DEST, "carousel": value})["carousel.cards"] == "must be an array of 1-10 cards"


def test_carousel_card_template_must_be_an_object() -> None:
    found = send_problems({**DEST, "carousel": {"cardTemplate": "x", "cards": [CARD]}})
    assert found["carousel.cardTemplate"] == "must be an object"
