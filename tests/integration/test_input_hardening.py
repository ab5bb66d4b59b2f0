"""Input hardening (issue 8) over real HTTP: every bad value is a 400 with the API's error body,
never a 500, and nothing the API stores can break a later read."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.helpers import DEST, assert_error, send, with_container
from zapgate.storage import tables as t

ARABIC_INDIC = "+55١١٩٧٧٧٧٩٠٠١"  # +5511977779001
DEVANAGARI = "+55११९७७७७९००१"
THAI = "+55๑๑๙๗๗๗๗๙๐๐๑"
FOREIGN_DIGITS = [ARABIC_INDIC, DEVANAGARI, THAI]
TEMPLATE = {
    "name": "promo",
    "category": "MARKETING",
    "language": "pt_BR",
    "body": "Olá {{nome}}, veja!",
    "examples": {"nome": "Ana"},
}


def accepted(api: Any, key: str, body: dict[str, Any]) -> dict[str, Any]:
    r = send(api, key, body)
    assert r.status_code == 202, r.text
    return dict(r.json())


def field_errors(body: dict[str, Any]) -> dict[str, str]:
    return {d["field"]: d["message"] for d in body["details"]}


# -- 1. a button type that is not a string ---------------------------------------------------


@pytest.mark.parametrize("kind", [{}, ["URL"], 7])
def test_template_button_type_of_the_wrong_type_is_a_400(api, number, kind):
    k = number["key"]
    body = {**TEMPLATE, "buttons": [{"type": kind, "text": "Ver"}]}
    for response in (api.post("/v1/templates", k, json=body), api.put("/v1/templates/0", k, json=body)):
        error = assert_error(response, 400, "VALIDATION_ERROR")
        assert "buttons[0].type" in field_errors(error)
    created = api.post("/v1/templates", k, json=TEMPLATE)
    assert created.status_code == 201, created.text
    error = assert_error(
        api.put(f"/v1/templates/{created.json()['id']}", k, json=body), 400, "VALIDATION_ERROR"
    )
    assert "buttons[0].type" in field_errors(error)


def test_template_header_type_of_the_wrong_type_is_a_400(api, number):
    r = api.post(
        "/v1/templates",
        number["key"],
        json={
            **TEMPLATE,
            "body": {"body": {"text": "Olá {{nome}}!"}, "header": {"type": {"x": 1}, "text": "Oi"}},
        },
    )
    assert "header.type" in field_errors(assert_error(r, 400, "VALIDATION_ERROR"))


def test_send_button_type_of_the_wrong_type_is_a_400(api, number):
    r = send(
        api,
        number["key"],
        {"destinationNumber": DEST, "text": "x", "buttons": [{"type": {}, "label": "Ver"}]},
    )
    assert "buttons[0].type" in field_errors(assert_error(r, 400, "VALIDATION_ERROR"))


def test_list_rows_of_the_wrong_shape_are_a_400(api, number):
    r = send(
        api,
        number["key"],
        {
            "destinationNumber": DEST,
            "text": "Escolha",
            "list": {"buttonText": "Abrir", "sections": [{"title": "s", "rows": [1, {"title": "ok"}]}]},
        },
    )
    error = assert_error(r, 400, "VALIDATION_ERROR")
    assert "list.sections[0].rows[0]" in field_errors(error)


# -- 2. dates out of range -------------------------------------------------------------------


@pytest.mark.parametrize("key", ["deliverAt", "deliverUntil"])
def test_a_date_past_the_window_is_refused_and_the_log_stays_readable(api, number, key):
    k = number["key"]
    r = send(api, k, {"destinationNumber": "+5511977779001", "text": "x", key: "9999-12-31T23:59:59-14:00"})
    error = assert_error(r, 400, "VALIDATION_ERROR")
    assert field_errors(error) == {key: "must be between 2000-01-01 and 2099-12-31 (UTC)"}
    assert key in error["error"] and "2099-12-31" in error["error"]
    listed = api.get("/v1/messages", k)
    assert listed.status_code == 200 and listed.json()["total"] == 0


def test_a_deadline_beyond_35_days_is_refused(api, number):
    r = send(
        api, number["key"], {"destinationNumber": DEST, "text": "x", "deliverUntil": "2099-06-01T00:00:00Z"}
    )
    error = assert_error(r, 400, "VALIDATION_ERROR")
    assert field_errors(error)["deliverUntil"].startswith("at most 35 days after deliverAt")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"startDate": "9999-12-31T23:59:59-14:00"}, "startDate"),
        ({"endDate": "1999-12-31T23:59:59Z"}, "endDate"),
        ({"endDate": "0001-01-01T00:00:00+14:00"}, "endDate"),
    ],
)
def test_list_date_filters_outside_the_window_are_a_400(api, number, params, field):
    error = assert_error(api.get("/v1/messages", number["key"], params=params), 400, "VALIDATION_ERROR")
    assert field_errors(error) == {field: "must be between 2000-01-01 and 2099-12-31 (UTC)"}


def test_list_date_filter_that_is_not_a_date_names_the_field(api, number):
    error = assert_error(
        api.get("/v1/messages", number["key"], params={"startDate": "ontem"}), 400, "VALIDATION_ERROR"
    )
    assert "startDate" in field_errors(error)


def test_a_stored_date_out_of_range_still_reads(api, number, settings):
    """A row written before dates were bounded (or by hand) must not break the reads."""
    k = number["key"]
    message = accepted(api, k, {"destinationNumber": DEST, "text": "x"})

    async def corrupt(container: Any) -> None:
        async with container.db.write() as conn:
            await conn.execute(
                sa.update(t.messages)
                .where(t.messages.c.id == message["id"])
                .values(deliver_until=253_402_351_199_000)
            )

    with_container(settings, corrupt)
    one = api.get(f"/v1/messages/{message['id']}", k)
    assert one.status_code == 200, one.text
    assert one.json()["deliverUntil"] == "+010000-01-01T13:59:59.000Z"
    listed = api.get("/v1/messages", k)
    assert listed.status_code == 200, listed.text
    assert listed.json()["messages"][0]["deliverUntil"] == "+010000-01-01T13:59:59.000Z"


# -- 3. non-ASCII digits in phone numbers ----------------------------------------------------


@pytest.mark.parametrize("phone", FOREIGN_DIGITS)
def test_send_to_non_ascii_digits_is_an_invalid_destination(api, number, phone):
    r = send(api, number["key"], {"destinationNumber": phone, "text": "x"})
    assert_error(r, 400, "INVALID_DESTINATION")
    assert api.get("/v1/messages", number["key"]).json()["total"] == 0


@pytest.mark.parametrize("phone", [*FOREIGN_DIGITS, "+5511", "+999123456789"])
def test_a_number_with_non_ascii_digits_or_impossible_is_not_created(api, tenant, phone):
    r = api.post("/v1/numbers", tenant["key"], json={"name": "Loja", "number": phone})
    error = assert_error(r, 400, "VALIDATION_ERROR")
    assert "number" in field_errors(error)


def test_meta_ids_with_non_ascii_digits_are_refused(api, tenant):
    """``str.isdigit`` alone takes Arabic-Indic digits and superscripts for Meta's numeric ids."""
    base = {
        "name": "Loja",
        "number": "+15550000001",
        "accessToken": "t",
        "phoneNumberId": "100000000000001",
        "wabaId": "200000000000001",
    }
    for field, value in (("phoneNumberId", "١٠٠٠٠٠٠"), ("wabaId", "2²")):
        r = api.post("/v1/numbers/meta", tenant["key"], json={**base, field: value})
        assert field_errors(assert_error(r, 400, "VALIDATION_ERROR"))[field] == "must be Meta's numeric id"


def test_the_same_number_written_differently_is_a_duplicate(api, tenant):
    first = api.post("/v1/numbers", tenant["key"], json={"name": "A", "number": "+5511977779001"})
    assert first.status_code == 201, first.text
    assert first.json()["instance"]["number"] == "5511977779001"
    for other in ("5511977779001", "+55 (11) 97777-9001"):
        assert_error(
            api.post("/v1/numbers", tenant["key"], json={"name": "B", "number": other}),
            409,
            "NUMBER_ALREADY_EXISTS",
        )
    assert_error(
        api.post("/v1/numbers", tenant["key"], json={"name": "C", "number": ARABIC_INDIC}),
        400,
        "VALIDATION_ERROR",
    )


@pytest.mark.parametrize("phone", FOREIGN_DIGITS)
def test_sandbox_inbound_from_non_ascii_digits_is_refused(api, number, phone):
    r = api.post("/v1/sandbox/inbound", number["key"], json={"from": phone, "text": "oi"})
    assert "from" in field_errors(assert_error(r, 400, "VALIDATION_ERROR"))


def test_accepted_phone_formats_still_work_and_are_stored_in_e164(api, number):
    k = number["key"]
    for phone in ("5511977779001", "+55 (11) 97777-9001"):
        message = accepted(api, k, {"destinationNumber": phone, "text": "x"})
        stored = api.get(f"/v1/messages/{message['id']}", k).json()
        assert stored["destinationNumber"] == "+5511977779001"
    listed = api.get("/v1/messages", k, params={"destinationNumber": "+55 11 97777-9001"})
    assert listed.json()["total"] == 2
    r = api.post("/v1/sandbox/inbound", k, json={"from": "55 11 97777 9001", "text": "oi"})
    assert r.status_code == 200, r.text


# -- 4. carousel cards -----------------------------------------------------------------------

CARD = {
    "media": {"type": "image", "url": "https://cdn.example/a.png"},
    "body": "Promo",
    "buttons": [{"type": "URL", "text": "Ver", "url": "https://loja.example/a"}],
}


@pytest.mark.parametrize(
    ("cards", "field"),
    [
        ([{}], "carousel.cards[0]"),
        ([CARD, {}], "carousel.cards[1]"),
        ([CARD, {"body": "sem mídia"}], "carousel.cards[1].media"),
    ],
)
def test_a_carousel_with_an_empty_card_is_a_400_naming_the_card(api, number, cards, field):
    r = send(api, number["key"], {"destinationNumber": DEST, "carousel": {"cards": cards}})
    error = assert_error(r, 400, "VALIDATION_ERROR")
    assert field in field_errors(error)
    assert field in error["error"]


def test_a_carousel_of_full_cards_is_accepted(api, number):
    accepted(api, number["key"], {"destinationNumber": DEST, "carousel": {"cards": [CARD, CARD]}})


# -- found by the property test (tests/integration/test_api_properties.py) -------------------


@pytest.mark.parametrize(
    "body",
    [
        {**TEMPLATE, "header": {"type": "IMAGE", "url": "http://[::1"}},
        {**TEMPLATE, "buttons": [{"type": "URL", "text": "Ver", "url": "https://[zz/{{link}}"}]},
    ],
)
def test_a_template_url_that_cannot_be_parsed_is_a_400(api, number, body):
    for response in (
        api.post("/v1/templates", number["key"], json=body),
        api.put("/v1/templates/0", number["key"], json=body),
    ):
        assert response.status_code in (400, 404), response.text
        assert set(response.json()) >= {"error", "code"}
    assert_error(api.post("/v1/templates", number["key"], json=body), 400, "VALIDATION_ERROR")


def test_a_media_url_that_cannot_be_parsed_is_a_400(api, number):
    r = send(api, number["key"], {"destinationNumber": DEST, "media": "http://[::1"})
    assert "media" in field_errors(assert_error(r, 400, "VALIDATION_ERROR"))


@pytest.mark.parametrize("token", ["\u0080", "token\u0301", "tok en", "token\nx-evil: 1"])
def test_a_meta_token_that_cannot_travel_in_a_header_is_a_400(api, tenant, token):
    """Not a 500 (httpx cannot encode it) nor a 503 blaming Meta."""
    r = api.post(
        "/v1/numbers/meta",
        tenant["key"],
        json={
            "name": "Loja",
            "number": "+15550000001",
            "accessToken": token,
            "phoneNumberId": "100000000000001",
            "wabaId": "200000000000001",
        },
    )
    assert "accessToken" in field_errors(assert_error(r, 400, "VALIDATION_ERROR"))


def test_nul_characters_are_refused_everywhere_before_the_database(api, number):
    """PostgreSQL refuses U+0000 in text: it must be a 400 on both databases."""
    k = number["key"]
    assert_error(send(api, k, {"destinationNumber": DEST, "text": "\u0000Escolha"}), 400, "VALIDATION_ERROR")
    assert_error(
        api.request("DELETE", "/v1/messages/cancel", k, json={"messageIds": ["msg_x\u0000"]}),
        400,
        "VALIDATION_ERROR",
    )
    for path in ("/v1/messages/msg_x%00", "/v1/templates/t%00x", "/v1/messages?label=a%00"):
        assert_error(api.get(path, k), 400, "VALIDATION_ERROR")
    # A literal backslash-u in text is not a NUL and passes.
    accepted(api, k, {"destinationNumber": DEST, "text": "C:\\u0000\\dir"})
