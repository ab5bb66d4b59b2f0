from __future__ import annotations

from typing import Any

import orjson
import pytest

from zapgate import errors
from zapgate.domain import template_rules as rules
from zapgate.domain import templates

PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"


def valid(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "boas_vindas",
        "category": "UTILITY",
        "language": "pt_BR",
        "body": "Olá {{nome}}, bem-vindo!",
        "examples": {"nome": "Ana"},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def problems(body: Any, **kw: Any) -> list[dict[str, str]]:
    with pytest.raises(errors.ValidationFailed) as info:
        rules.parse(body, **kw)
    assert info.value.code == "VALIDATION_ERROR"
    details = info.value.extra["details"]
    assert isinstance(details, list)
    return details


def fields(body: Any, **kw: Any) -> set[str]:
    return {p["field"] for p in problems(body, **kw)}


# -- identity --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("promo_cupom", "promo_cupom"),
        ("Promo Cupom", "promo_cupom"),
        ("promo-cupom.2026", "promo_cupom_2026"),
        ("  Boas  Vindas  ", "boas_vindas"),
        ("Promoção Relâmpago", "promocao_relampago"),
        ("ABC123", "abc123"),
        ("a__b", "a_b"),
    ],
)
def test_name_is_normalised(raw: str, expected: str) -> None:
    assert rules.normalize_name(raw) == expected
    assert rules.parse(valid(name=raw)).name == expected


@pytest.mark.parametrize("raw", ["promo!", "___", "olá 👋", "a" * 513, "名前"])
def test_bad_names_are_rejected(raw: str) -> None:
    assert rules.normalize_name(raw) is None
    assert fields(valid(name=raw)) == {"name"}


def test_name_category_language_body_are_required() -> None:
    body = {"examples": {}}
    assert fields(body) == {"name", "category", "language", "body.text"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("MARKETING", "MARKETING"),
        ("utility", "UTILITY"),
        ("OTP", "OTP"),
        ("AUTHENTICATION", "OTP"),
        ("authentication", "OTP"),
    ],
)
def test_categories(raw: str, expected: str) -> None:
    assert rules.parse(valid(category=raw)).category == expected


def test_unknown_category() -> None:
    assert fields(valid(category="SERVICE")) == {"category"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("pt_BR", "pt_BR"),
        ("en_US", "en_US"),
        ("en", "en"),
        ("pt-br", "pt_BR"),
        ("FIL", "fil"),
    ],
)
def test_languages(raw: str, expected: str) -> None:
    assert rules.parse(valid(language=raw)).language == expected


@pytest.mark.parametrize("raw", ["portuguese", "pt_BRA", "p", "pt_B1", ""])
def test_bad_languages(raw: str) -> None:
    assert fields(valid(language=raw)) == {"language"}


def test_body_must_be_an_object() -> None:
    with pytest.raises(errors.ValidationFailed):
        rules.parse(["not", "an", "object"])


# -- body forms ------------------------------------------------------------------------------

STRUCTURED = {
    "header": {"type": "TEXT", "text": "Pedido {{pedido}}"},
    "body": {"text": "Olá {{nome}}, seu pedido saiu."},
    "footer": {"text": "Loja Exemplo"},
    "buttons": [
        {"type": "QUICK_REPLY", "text": "Ok"},
        {"type": "URL", "text": "Rastrear", "url": "https://loja.com/r/{{codigo}}"},
    ],
}
EXAMPLES = {"pedido": "123", "nome": "Ana", "codigo": "XYZ"}


def test_plain_text_body() -> None:
    spec = rules.parse(valid())
    assert spec.content == {
        "header": None,
        "body": "Olá {{nome}}, bem-vindo!",
        "footer": None,
        "buttons": [],
        "examples": {"nome": "Ana"},
    }
    assert spec.variables == ("nome",)


def test_structured_body_is_normalised_to_the_stored_shape() -> None:
    spec = rules.parse(valid(body=STRUCTURED, examples=EXAMPLES))
    assert spec.content == {
        "header": {"type": "TEXT", "text": "Pedido {{pedido}}"},
        "body": "Olá {{nome}}, seu pedido saiu.",
        "footer": "Loja Exemplo",
        "buttons": [
            {"type": "QUICK_REPLY", "text": "Ok"},
            {"type": "URL", "text": "Rastrear", "url": "https://loja.com/r/{{codigo}}"},
        ],
        "examples": EXAMPLES,
    }
    assert spec.variables == ("pedido", "nome", "codigo")
    assert spec.variables == tuple(templates.extract_variables(spec.content))


def test_structured_body_as_a_json_string() -> None:
    as_object = rules.parse(valid(body=STRUCTURED, examples=EXAMPLES))
    as_string = rules.parse(valid(body=orjson.dumps(STRUCTURED).decode(), examples=EXAMPLES))
    assert as_string == as_object


def test_public_body_round_trips() -> None:
    spec = rules.parse(valid(body=STRUCTURED, examples=EXAMPLES))
    public = rules.public_body(spec.content)
    assert public == STRUCTURED
    assert rules.parse(valid(body=public, examples=EXAMPLES)).content == spec.content


def test_public_body_of_plain_text() -> None:
    assert rules.public_body(rules.parse(valid()).content) == {"body": {"text": "Olá {{nome}}, bem-vindo!"}}


def test_top_level_header_footer_buttons() -> None:
    spec = rules.parse(
        valid(
            header={"type": "text", "text": "Oi"},
            footer="Rodapé",
            buttons=[{"type": "quick_reply", "text": "Sim"}],
        )
    )
    assert spec.content["header"] == {"type": "TEXT", "text": "Oi"}
    assert spec.content["footer"] == "Rodapé"
    assert spec.content["buttons"] == [{"type": "QUICK_REPLY", "text": "Sim"}]


def test_part_given_twice_is_rejected() -> None:
    body = valid(body={"body": {"text": "Olá"}, "footer": {"text": "a"}}, footer="b")
    assert fields(body) == {"footer"}


def test_unknown_structured_part() -> None:
    assert fields(valid(body={"body": {"text": "Olá"}, "extra": 1})) == {"body"}


def test_body_text_may_be_a_bare_string_inside_the_object() -> None:
    assert rules.parse(valid(body={"body": "Olá"}, examples={})).content["body"] == "Olá"


def test_text_that_only_looks_like_json_is_plain_text() -> None:
    spec = rules.parse(valid(body="{ não é json } {{nome}}!"))
    assert spec.content["body"] == "{ não é json } {{nome}}!"


# -- body rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", ["", "   ", {"body": {"text": ""}}, {"header": {"type": "NONE"}}, 12, {"body": {}}]
)
def test_body_text_required(body: Any) -> None:
    assert "body.text" in fields(valid(body=body))


def test_body_length() -> None:
    assert rules.parse(valid(body="x" * 1024, examples={})).content["body"] == "x" * 1024
    assert fields(valid(body="x" * 1025, examples={})) == {"body.text"}


@pytest.mark.parametrize("text", ["{{nome}}, olá", "Olá {{nome}}", "  {{nome}} oi ", "oi {{ nome }}  "])
def test_body_must_not_start_or_end_with_a_variable(text: str) -> None:
    assert fields(valid(body=text)) == {"body.text"}


@pytest.mark.parametrize("text", ["Olá {{1}}!", "Olá {{nome completo}}!", "Olá {{}}!"])
def test_variables_are_named(text: str) -> None:
    assert fields(valid(body=text)) == {"body.text"}


def test_repeated_and_spaced_variables() -> None:
    spec = rules.parse(
        valid(
            body="Oi {{ nome }}, {{nome}} e {{cidade}}.",
            examples={"nome": "Ana", "cidade": "Recife", "unused": "x"},
        )
    )
    assert spec.variables == ("nome", "cidade")
    assert spec.content["examples"] == {"nome": "Ana", "cidade": "Recife"}


def test_emoji_and_many_variables_are_allowed_in_the_body() -> None:
    text = "Olá 👋 " + " ".join(f"{{{{v{i}}}}}" for i in range(20)) + " fim"
    spec = rules.parse(valid(body=text, examples={f"v{i}": "x" for i in range(20)}))
    assert len(spec.variables) == 20


# -- header ----------------------------------------------------------------------------------


def test_header_none_is_no_header() -> None:
    assert rules.parse(valid(header={"type": "NONE"})).content["header"] is None


@pytest.mark.parametrize(
    "header",
    [
        {"type": "TEXT", "text": "x" * 61},
        {"type": "TEXT", "text": "a\nb"},
        {"type": "TEXT", "text": "{{a}} e {{b}}"},
        {"type": "TEXT"},
        {"type": "TEXT", "text": "Oi 🎉"},
        {"type": "TEXT", "text": "*Promo*"},
    ],
)
def test_text_header_rules(header: dict[str, Any]) -> None:
    assert fields(valid(header=header, examples={"nome": "Ana", "a": "1", "b": "2"})) == {"header.text"}


def test_text_header_with_one_variable() -> None:
    spec = rules.parse(
        valid(header={"type": "TEXT", "text": "Pedido {{pedido}}"}, examples={"nome": "Ana", "pedido": "42"})
    )
    assert spec.variables == ("pedido", "nome")


@pytest.mark.parametrize("kind", ["IMAGE", "VIDEO", "DOCUMENT"])
def test_media_header_by_url(kind: str) -> None:
    header = {"type": kind.lower(), "url": "https://cdn.example.com/file"}
    assert rules.parse(valid(header=header)).content["header"] == {
        "type": kind,
        "url": "https://cdn.example.com/file",
    }


def test_media_header_by_base64_data_uri() -> None:
    spec = rules.parse(valid(header={"type": "IMAGE", "base64": PNG}))
    assert spec.content["header"] == {"type": "IMAGE", "base64": PNG}


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ({"type": "IMAGE"}, "header"),
        ({"type": "IMAGE", "url": "https://x/a.png", "base64": PNG}, "header"),
        ({"type": "IMAGE", "url": "ftp://x/a.png"}, "header.url"),
        ({"type": "IMAGE", "url": "https:///nohost"}, "header.url"),
        ({"type": "VIDEO", "base64": PNG}, "header.base64"),
        ({"type": "IMAGE", "base64": "data:image/png;base64,@@@"}, "header.base64"),
        ({"type": "DOCUMENT", "base64": "JVBERi0x"}, "header.base64"),
        ({"type": "LOCATION"}, "header.type"),
        ("TEXT", "header"),
    ],
)
def test_bad_headers(header: Any, field: str) -> None:
    assert fields(valid(header=header)) == {field}


# -- footer ----------------------------------------------------------------------------------


def test_footer_rules() -> None:
    assert rules.parse(valid(footer={"text": "x" * 60})).content["footer"] == "x" * 60
    assert fields(valid(footer="x" * 61)) == {"footer"}
    assert fields(valid(footer="Oi {{nome}}")) == {"footer"}
    assert fields(valid(footer=5)) == {"footer"}
    assert rules.parse(valid(footer="  ")).content["footer"] is None


# -- buttons ---------------------------------------------------------------------------------


def test_every_button_kind() -> None:
    buttons = [
        {"type": "QUICK_REPLY", "text": "Sim"},
        {"type": "URL", "text": "Site", "url": "https://loja.com"},
        {"type": "URL", "text": "Promo", "url": "https://loja.com/promo/{{link}}"},
        {"type": "PHONE_NUMBER", "text": "Ligar", "phoneNumber": "+55 (11) 99999-9999"},
        {"type": "COPY_CODE", "example": "CUPOM10"},
    ]
    spec = rules.parse(valid(buttons=buttons, examples={"nome": "Ana", "link": "verao"}))
    assert spec.content["buttons"][3] == {
        "type": "PHONE_NUMBER",
        "text": "Ligar",
        "phone_number": "+5511999999999",
    }
    assert spec.content["buttons"][4] == {"type": "COPY_CODE", "example": "CUPOM10"}
    assert spec.variables == ("nome", "link")


def test_button_counts() -> None:
    assert rules.parse(valid(buttons=[{"type": "QUICK_REPLY", "text": f"b{i}"} for i in range(10)]))
    too_many = [{"type": "QUICK_REPLY", "text": f"b{i}"} for i in range(11)]
    assert fields(valid(buttons=too_many)) == {"buttons"}
    mixed = [{"type": "QUICK_REPLY", "text": f"b{i}"} for i in range(8)] + [
        {"type": "URL", "text": "u", "url": "https://a.b"}
    ] * 3
    assert {p["message"] for p in problems(valid(buttons=mixed))} == {
        "at most 10 buttons (got 11)",
        "at most 2 URL button(s) (got 3)",
    }


@pytest.mark.parametrize("kind", ["PHONE_NUMBER", "COPY_CODE"])
def test_single_button_kinds(kind: str) -> None:
    button = (
        {"type": kind, "text": "Ligar", "phone_number": "+5511999999999"}
        if kind == "PHONE_NUMBER"
        else {"type": kind, "example": "ABC"}
    )
    assert fields(valid(buttons=[button, button])) == {"buttons"}


@pytest.mark.parametrize(
    ("button", "field"),
    [
        ({"type": "CALL", "text": "x"}, "buttons[0].type"),
        ("QUICK_REPLY", "buttons[0]"),
        ({"type": "QUICK_REPLY"}, "buttons[0].text"),
        ({"type": "QUICK_REPLY", "text": "x" * 26}, "buttons[0].text"),
        ({"type": "QUICK_REPLY", "text": "Oi {{nome}}"}, "buttons[0].text"),
        ({"type": "URL", "text": "u"}, "buttons[0].url"),
        ({"type": "URL", "text": "u", "url": "loja.com"}, "buttons[0].url"),
        ({"type": "URL", "text": "u", "url": "https://a.b/{{x}}/c"}, "buttons[0].url"),
        ({"type": "URL", "text": "u", "url": "https://a.b/{{x}}{{y}}"}, "buttons[0].url"),
        ({"type": "PHONE_NUMBER", "text": "t", "phone_number": "123"}, "buttons[0].phone_number"),
        ({"type": "COPY_CODE"}, "buttons[0].example"),
        ({"type": "COPY_CODE", "example": "CUPOM-10"}, "buttons[0].example"),
        ({"type": "COPY_CODE", "example": "A" * 16}, "buttons[0].example"),
    ],
)
def test_bad_buttons(button: Any, field: str) -> None:
    examples = {"nome": "Ana", "x": "1", "y": "2"}
    assert fields(valid(buttons=[button], examples=examples)) == {field}


def test_buttons_must_be_a_list() -> None:
    assert fields(valid(buttons={"type": "QUICK_REPLY"})) == {"buttons"}


# -- examples --------------------------------------------------------------------------------


def test_examples_required_for_every_variable() -> None:
    body = valid(body=STRUCTURED, examples={"nome": "Ana", "codigo": "  "})
    with pytest.raises(errors.ValidationFailed) as info:
        rules.parse(body)
    assert info.value.code == "TEMPLATE_EXAMPLES_REQUIRED"
    assert info.value.extra["details"] == {"missing": ["pedido", "codigo"]}


def test_examples_absent() -> None:
    with pytest.raises(errors.ValidationFailed) as info:
        rules.parse(valid(examples=None))
    assert info.value.extra["details"] == {"missing": ["nome"]}


def test_no_variables_no_examples_needed() -> None:
    assert rules.parse(valid(body="Olá!", examples=None)).content["examples"] == {}


def test_validation_errors_come_before_missing_examples() -> None:
    assert fields(valid(category="X", examples=None)) == {"category"}


@pytest.mark.parametrize("examples", [["Ana"], {"nome": 1}, {"nome": "x" * 1025}])
def test_bad_examples(examples: Any) -> None:
    assert fields(valid(examples=examples)) <= {"examples", "examples.nome"}


# -- update ----------------------------------------------------------------------------------

CURRENT = rules.Identity(name="boas_vindas", category="UTILITY", language="pt_BR")


def test_update_keeps_identity_fields_left_out() -> None:
    spec = rules.for_update(rules.parse({"body": "Oi!"}, partial=True), CURRENT)
    assert (spec.name, spec.category, spec.language) == ("boas_vindas", "UTILITY", "pt_BR")


def test_update_may_rename_and_change_language() -> None:
    given = rules.parse({"body": "Oi!", "name": "Nova", "language": "en"}, partial=True)
    spec = rules.for_update(given, CURRENT)
    assert (spec.name, spec.language) == ("nova", "en")


def test_update_may_repeat_the_category() -> None:
    given = rules.parse({"body": "Oi!", "category": "utility"}, partial=True)
    assert rules.for_update(given, CURRENT).category == "UTILITY"


def test_category_is_immutable() -> None:
    given = rules.parse({"body": "Oi!", "category": "MARKETING"}, partial=True)
    with pytest.raises(errors.ValidationFailed) as info:
        rules.for_update(given, CURRENT)
    assert info.value.code == "TEMPLATE_CATEGORY_IMMUTABLE"


def test_update_still_validates_given_identity_fields() -> None:
    assert fields({"body": "Oi!", "name": "!!"}, partial=True) == {"name"}
    assert fields({"name": "x"}, partial=True) == {"body.text"}


def test_meta_spelling_of_the_header_type_and_copy_code_label() -> None:
    spec = rules.parse(
        valid(
            header={"format": "TEXT", "text": "Oi"},
            buttons=[{"type": "COPY_CODE", "example": "A1", "text": "Copiar"}],
        )
    )
    assert spec.content["header"] == {"type": "TEXT", "text": "Oi"}
    assert spec.content["buttons"] == [{"type": "COPY_CODE", "example": "A1", "text": "Copiar"}]
