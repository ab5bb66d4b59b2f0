"""/templates: the list, the editor (create, update, errors next to their fields), the live
preview, delete, approval on official numbers, Meta outages and workspace isolation."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import Api
from tests.contract.worlds import World, build_world, close_world
from tests.dashboard.conftest import Browser
from zapgate.testing import ServerThread, WebhookReceiver

FORM = {
    "name": "Promo Cupom",
    "category": "MARKETING",
    "language": "pt_BR",
    "header_type": "TEXT",
    "header_text": "Pedido {{pedido}}",
    "body": "Olá {{nome}}, use o cupom hoje.",
    "footer": "Loja Exemplo",
    "button_0_type": "URL",
    "button_0_text": "Ver oferta",
    "button_0_url": "https://loja.example/promo/{{link}}",
    "button_1_type": "QUICK_REPLY",
    "button_1_text": "Parar",
    "example_pedido": "123",
    "example_nome": "Ana",
    "example_link": "abc",
}


def error_of(html: str, field: str) -> str:
    found = re.search(rf'<small id="e-{re.escape(field)}" class="error"[^>]*>(.*?)</small>', html, re.DOTALL)
    assert found, f"no error slot for {field}"
    return found.group(1)


def create(browser: Browser, number_id: str, **overrides: str) -> Any:
    browser.page(f"/templates/new?number={number_id}")
    return browser.post(f"/templates/new?number={number_id}", {**FORM, **overrides})


def api_template(api: Api, key: str, name: str = "promo") -> dict[str, Any]:
    r = api.post(
        "/v1/templates",
        key,
        json={
            "name": name,
            "category": "UTILITY",
            "language": "en",
            "body": "Hi {{who}}, thanks.",
            "examples": {"who": "Bo"},
        },
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


# -- the list --------------------------------------------------------------------------------


def test_without_a_number_the_page_says_to_add_one(signed_in: Browser) -> None:
    page = signed_in.page("/templates")
    assert page.status_code == 200
    assert "Add a number first" in page.text and 'href="/numbers/new"' in page.text


def test_empty_list_says_how_to_create_one(signed_in: Browser, number: dict[str, Any]) -> None:
    page = signed_in.page(f"/templates?number={number['id']}")
    assert page.status_code == 200
    assert "No templates on Test number yet" in page.text
    assert f'href="/templates/new?number={number["id"]}">Create a template' in page.text
    assert ">New template</a>" in page.text and 'id="pick-number"' in page.text


def test_list_shows_name_category_language_status_and_version(
    signed_in: Browser, api: Api, number: dict[str, Any]
) -> None:
    item = api_template(api, number["key"])
    page = signed_in.page(f"/templates?number={number['id']}")
    row = page.text[page.text.index(f"/templates/{item['id']}?number=") :]
    for text in (
        ">promo</a>",
        "<td>UTILITY</td>",
        "<td>en</td>",
        "not needed",
        "<td>1</td>",
        'aria-label="Delete promo"',
    ):
        assert text in row, text


def test_official_numbers_show_the_approval_status(
    signed_in: Browser, api: Api, tenant: dict[str, Any], wait: Callable[..., Any]
) -> None:
    official = api.create_number(tenant["key"], official=True)
    api_template(api, official["key"])
    page = signed_in.page(f"/templates?number={official['id']}")
    assert 'class="badge s-pending">PENDING' in page.text or "s-approved" in page.text
    wait(lambda: 's-approved">APPROVED' in signed_in.page(f"/templates?number={official['id']}").text)
    editor = signed_in.page(f"/templates/new?number={official['id']}")
    assert "need Meta's approval" in editor.text


# -- the editor: create ----------------------------------------------------------------------


def test_editor_has_labelled_fields_and_the_preview_region(
    signed_in: Browser, number: dict[str, Any]
) -> None:
    page = signed_in.page(f"/templates/new?number={number['id']}")
    assert page.status_code == 200
    for field, label in (
        ("name", "Name"),
        ("category", "Category"),
        ("language", "Language"),
        ("header_type", "Header type"),
        ("body", "Body"),
        ("footer", "Footer (optional)"),
        ("button_0_type", "Button 1 type"),
        ("button_0_text", "Button 1 text"),
    ):
        assert f'<label for="f-{field}">{label}</label>' in page.text, field
        assert f'id="f-{field}"' in page.text
    assert 'aria-labelledby="preview-heading"' in page.text
    assert '<h2 id="preview-heading">Preview</h2>' in page.text
    assert 'hx-post="/templates/preview"' in page.text
    assert 'hx-trigger="input changed delay:300ms"' in page.text
    assert '<button type="submit" class="primary">Save template</button>' in page.text
    assert 'value="pt_BR"' in page.text  # a default language


def test_create_saves_and_lists_the_template(signed_in: Browser, api: Api, number: dict[str, Any]) -> None:
    response = create(signed_in, number["id"])
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/templates?number={number['id']}&done=saved"
    page = signed_in.page(response.headers["location"])
    assert "Template saved." in page.text and ">promo_cupom</a>" in page.text
    item = api.get("/v1/templates/promo_cupom", number["key"]).json()
    assert item["body"] == {
        "body": {"text": "Olá {{nome}}, use o cupom hoje."},
        "header": {"type": "TEXT", "text": "Pedido {{pedido}}"},
        "footer": {"text": "Loja Exemplo"},
        "buttons": [
            {"type": "URL", "text": "Ver oferta", "url": "https://loja.example/promo/{{link}}"},
            {"type": "QUICK_REPLY", "text": "Parar"},
        ],
    }
    assert item["examples"] == {"pedido": "123", "nome": "Ana", "link": "abc"}


def test_create_shows_each_rule_next_to_its_field(signed_in: Browser, number: dict[str, Any]) -> None:
    response = create(
        signed_in, number["id"], name="!!", body="{{nome}} oi", button_0_url="ftp://x", footer="x" * 61
    )
    assert response.status_code == 400
    assert "must not start with a variable" in error_of(response.text, "body")
    assert "invalid" in error_of(response.text, "name")
    assert "http(s) URL" in error_of(response.text, "button_0_url")
    assert "at most 60" in error_of(response.text, "footer")
    assert 'role="alert"' in response.text
    assert "{{nome}} oi</textarea>" in response.text  # what was typed is kept
    assert re.search(r'id="f-body"[^>]*aria-invalid="true"', response.text)


def test_missing_examples_are_asked_for_next_to_each_variable(
    signed_in: Browser, number: dict[str, Any]
) -> None:
    response = create(signed_in, number["id"], example_nome="", example_link="")
    assert response.status_code == 400
    assert '<label for="f-example_nome">Example for nome</label>' in response.text
    assert "required" in error_of(response.text, "example_nome")
    assert "required" in error_of(response.text, "example_link")
    assert error_of(response.text, "example_pedido") == ""


def test_a_taken_name_is_shown_next_to_the_name(signed_in: Browser, api: Api, number: dict[str, Any]) -> None:
    api_template(api, number["key"], name="promo_cupom")
    response = create(signed_in, number["id"])
    assert response.status_code == 409
    assert "already exists" in error_of(response.text, "name")


def test_posts_need_the_csrf_token(signed_in: Browser, api: Api, number: dict[str, Any]) -> None:
    item = api_template(api, number["key"])
    for path in (
        f"/templates/new?number={number['id']}",
        "/templates/preview",
        f"/templates/{item['id']}?number={number['id']}",
        f"/templates/{item['id']}/delete?number={number['id']}",
    ):
        refused = signed_in.post(path, FORM, csrf=False)
        assert refused.status_code == 403, path
    assert api.get(f"/v1/templates/{item['id']}", number["key"]).json()["version"] == 1
    assert len(api.get("/v1/templates", number["key"]).json()) == 1


def test_meta_outage_on_create_is_shown(
    make_settings: Callable[..., Any],
    make_tenant: Callable[..., dict[str, Any]],
    receiver: WebhookReceiver,
    browser_for: Callable[[ServerThread], Browser],
) -> None:
    world: World = build_world(
        "meta", make_settings=make_settings, make_tenant=make_tenant, receiver=receiver
    )
    try:
        browser = browser_for(world.server)
        browser.login(world.tenant["email"], world.tenant["password"])
        world.control(
            "POST", "/_sim/faults", {"kind": "http", "path": "/message_templates", "status": 503, "times": 1}
        )
        response = create(browser, world.number["id"])
        assert response.status_code >= 500
        assert 'class="flash error" role="alert"' in response.text
        assert "Meta" in response.text and 'value="Promo Cupom"' in response.text
        assert create(browser, world.number["id"]).status_code == 303  # Meta is back
        page = browser.page(f"/templates?number={world.number['id']}")
        assert 's-pending">PENDING' in page.text
    finally:
        close_world(world)


# -- the live preview ------------------------------------------------------------------------


def preview(browser: Browser, **fields: str) -> Any:
    browser.page("/templates")
    return browser.http.post(
        "/templates/preview", data=fields, headers={"HX-Request": "true", "X-CSRF-Token": browser.csrf}
    )


def test_preview_renders_the_bubble_with_variables_highlighted(signed_in: Browser) -> None:
    response = preview(signed_in, **FORM, variables="pedido,nome,link")
    assert response.status_code == 200
    html = response.text
    assert "<html" not in html  # a fragment
    assert '<div class="b-header">Pedido <span class="var" title="{{pedido}}">123</span>' in html
    assert 'Olá <span class="var" title="{{nome}}">Ana</span>, use o cupom hoje.' in html
    assert '<div class="b-footer">Loja Exemplo</div>' in html
    assert "<div>Ver oferta</div><div>Parar</div>" in html
    assert "<li><code>{{pedido}}</code></li><li><code>{{nome}}</code></li>" in html
    assert "Valid: ready to save." in html
    assert 'id="examples-section"' not in html  # same variables: the example fields stay
    assert '<small id="e-body" class="error" hx-swap-oob="true"></small>' in html


def test_preview_reports_each_problem_out_of_band(signed_in: Browser) -> None:
    response = preview(
        signed_in,
        name="ok",
        category="MARKETING",
        language="en",
        body="Oi {{nome}}",
        header_type="TEXT",
        header_text="a\U0001f600",
        button_0_type="PHONE_NUMBER",
        button_0_text="Ligar",
        button_0_phone="123",
    )
    assert response.status_code == 200
    html = response.text
    assert "must not end with a variable" in error_of(html, "body")
    assert "emoji" in error_of(html, "header_text")
    assert "E.164" in error_of(html, "button_0_phone")
    assert error_of(html, "name") == ""
    assert "Not valid yet: 3 problem(s)" in html
    # A new variable: the example fields are swapped in, one per variable.
    assert '<fieldset id="examples-section" hx-swap-oob="true">' in html
    assert '<label for="f-example_nome">Example for nome</label>' in html
    assert '<span class="var" title="{{nome}}">{{nome}}</span>' in html  # no example yet


def test_preview_asks_for_missing_examples(signed_in: Browser) -> None:
    response = preview(
        signed_in, name="ok", category="UTILITY", language="en", body="Oi {{nome}}!", variables="nome"
    )
    assert "required" in error_of(response.text, "example_nome")
    assert 'id="examples-section"' not in response.text


def test_preview_of_an_update_does_not_need_the_identity(signed_in: Browser) -> None:
    response = preview(signed_in, editing="1", body="Olá de novo")
    assert "Valid: ready to save." in response.text
    assert '<p class="muted small">None.</p>' in response.text  # no variables


def test_preview_of_a_media_header(signed_in: Browser) -> None:
    response = preview(
        signed_in, editing="1", body="Veja", header_type="IMAGE", header_url="https://cdn.example/a.png"
    )
    assert '<div class="b-header b-media">Image<small>https://cdn.example/a.png</small>' in response.text
    assert "Valid: ready to save." in response.text


# -- the editor: update and delete -----------------------------------------------------------


def test_edit_shows_the_template_and_saves_a_new_version(
    signed_in: Browser, api: Api, number: dict[str, Any]
) -> None:
    assert create(signed_in, number["id"]).status_code == 303
    item = api.get("/v1/templates/promo_cupom", number["key"]).json()
    url = f"/templates/{item['id']}?number={number['id']}"
    page = signed_in.page(url)
    assert page.status_code == 200
    assert "Edit template promo_cupom" in page.text
    assert 'value="https://loja.example/promo/{{link}}"' in page.text
    assert 'name="editing" value="1"' in page.text and 'name="category"' not in page.text
    assert "MARKETING" in page.text and 'value="Ana"' in page.text
    assert '<span class="var" title="{{nome}}">Ana</span>' in page.text  # the preview
    changed = {**FORM, "body": "Oi {{nome}}, cupom novo."}
    changed.pop("category")
    response = signed_in.post(url, changed)
    assert response.status_code == 303, response.text
    after = api.get(f"/v1/templates/{item['id']}", number["key"]).json()
    assert after["version"] == 2 and after["body"]["body"]["text"] == "Oi {{nome}}, cupom novo."
    assert "<td>2</td>" in signed_in.page(f"/templates?number={number['id']}").text


def test_update_errors_are_shown_next_to_the_field(
    signed_in: Browser, api: Api, number: dict[str, Any]
) -> None:
    item = api_template(api, number["key"])
    url = f"/templates/{item['id']}?number={number['id']}"
    signed_in.page(url)
    response = signed_in.post(url, {"name": "promo", "language": "en", "body": ""})
    assert response.status_code == 400
    assert "required" in error_of(response.text, "body")
    assert "UTILITY" in response.text  # the category is still shown


def test_delete_asks_for_confirmation_then_deletes(
    signed_in: Browser, api: Api, number: dict[str, Any]
) -> None:
    item = api_template(api, number["key"])
    confirm = signed_in.page(f"/templates/{item['id']}/delete?number={number['id']}")
    assert confirm.status_code == 200
    assert "Delete template promo?" in confirm.text
    assert '<button type="submit" class="danger">Delete template</button>' in confirm.text
    response = signed_in.post(f"/templates/{item['id']}/delete?number={number['id']}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/templates?number={number['id']}&done=deleted"
    page = signed_in.page(response.headers["location"])
    assert "Template deleted." in page.text and ">promo</a>" not in page.text
    assert api.get(f"/v1/templates/{item['id']}", number["key"]).status_code == 404


def test_a_delete_meta_refuses_is_shown_and_the_template_kept(
    make_settings: Callable[..., Any],
    make_tenant: Callable[..., dict[str, Any]],
    receiver: WebhookReceiver,
    browser_for: Callable[[ServerThread], Browser],
) -> None:
    world: World = build_world(
        "meta", make_settings=make_settings, make_tenant=make_tenant, receiver=receiver
    )
    try:
        browser = browser_for(world.server)
        browser.login(world.tenant["email"], world.tenant["password"])
        item = api_template(world.api, world.key)
        world.control(
            "POST", "/_sim/faults", {"kind": "http", "path": "/message_templates", "status": 503, "times": 1}
        )
        path = f"/templates/{item['id']}/delete?number={world.number['id']}"
        browser.page(path)
        refused = browser.post(path)
        assert refused.status_code == 503
        assert 'class="flash error" role="alert"' in refused.text and "Meta" in refused.text
        assert world.api.get(f"/v1/templates/{item['id']}", world.key).status_code == 200
        assert browser.post(path).status_code == 303  # Meta is back
        assert world.api.get(f"/v1/templates/{item['id']}", world.key).status_code == 404
    finally:
        close_world(world)


# -- tenancy ---------------------------------------------------------------------------------


@pytest.fixture
def other(api: Api, make_tenant: Callable[..., dict[str, Any]]) -> Iterator[dict[str, Any]]:
    tenant = make_tenant(name="Other")
    number = api.create_number(tenant["key"], name="Other number")
    yield {"number": number, "template": api_template(api, number["key"], name="secret_tpl")}


def test_another_workspace_is_invisible_and_its_ids_answer_404(
    signed_in: Browser, api: Api, number: dict[str, Any], other: dict[str, Any]
) -> None:
    mine, theirs = number["id"], other["number"]["id"]
    tpl = other["template"]["id"]
    listing = signed_in.page(f"/templates?number={mine}")
    assert "secret_tpl" not in listing.text and "Other number" not in listing.text
    for path in (
        f"/templates?number={theirs}",
        f"/templates/new?number={theirs}",
        f"/templates/{tpl}",
        f"/templates/{tpl}?number={mine}",
        f"/templates/{tpl}?number={theirs}",
        f"/templates/secret_tpl?number={mine}",
        f"/templates/{tpl}/delete?number={mine}",
    ):
        assert signed_in.page(path).status_code == 404, path
    for path in (
        f"/templates/new?number={theirs}",
        f"/templates/{tpl}?number={mine}",
        f"/templates/{tpl}?number={theirs}",
        f"/templates/{tpl}/delete?number={mine}",
        f"/templates/{tpl}/delete?number={theirs}",
    ):
        assert signed_in.post(path, FORM).status_code == 404, path
    kept = api.get(f"/v1/templates/{tpl}", other["number"]["key"]).json()
    assert kept["version"] == 1 and kept["name"] == "secret_tpl"
    assert len(api.get("/v1/templates", other["number"]["key"]).json()) == 1
