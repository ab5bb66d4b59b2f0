"""``/send``: the playground form for every mode, the accepted message with its ``curl`` and
SDK equivalents, errors next to their fields, the sandbox inbound simulator, and isolation
between workspaces."""

from __future__ import annotations

import asyncio
import html
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import Api
from tests.dashboard.conftest import Browser
from zapgate.container import build_container
from zapgate.settings import Settings
from zapgate.storage import tables as t
from zapgate.testing import ServerThread
from zapgate.web.dashboard import send

DEST = "+5511988887777"
MESSAGE_LINK = re.compile(r'href="/messages/(msg_[A-Za-z0-9_]+)\?number=[^"]+"')


def _send(browser: Browser, number_id: str, **data: Any) -> Any:
    return browser.post(
        "/send", {"number": number_id, "destinationKind": "phone", "destination": DEST, **data}
    )


def _stored_request(settings: Settings, message_id: str) -> Any:
    async def run() -> Any:
        container = build_container(settings)
        try:
            async with container.db.read() as conn:
                return (
                    await conn.execute(
                        sa.select(t.messages.c.request, t.messages.c.origin).where(
                            t.messages.c.id == message_id
                        )
                    )
                ).one()
        finally:
            await container.close()

    return asyncio.run(run())


def _field_error(page: str, field: str) -> str | None:
    found = re.search(rf'<small id="e-{re.escape(field)}" class="error">([^<]*)</small>', page)
    return html.unescape(found.group(1)) if found else None


def _snippet(page: str, name: str) -> str:
    found = re.search(rf'<pre id="snippet-{name}"[^>]*>(.*?)</pre>', page, re.S)
    assert found, page
    return html.unescape(found.group(1))


# --- the form -> the API body (pure) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "body"),
    [
        (
            {"destination": " +55 11 98888-7777 ", "mode": "text", "text": "Hi"},
            {"destinationNumber": "+55 11 98888-7777", "text": "Hi"},
        ),
        (
            {
                "destinationKind": "group",
                "destination": "123@g.us",
                "mode": "buttons",
                "text": "Pick",
                "buttons[0].label": "Yes",
                "buttons[1].label": "",
                "buttons[2].label": "No",
                "footer": "Thanks",
            },
            {
                "groupId": "123@g.us",
                "text": "Pick",
                "footer": "Thanks",
                "buttons": [
                    {"type": "reply", "label": "Yes"},
                    {"type": "reply", "label": ""},
                    {"type": "reply", "label": "No"},
                ],
            },
        ),
        (
            {"destination": DEST, "mode": "buttons", "text": "Hi", "buttons[0].label": " "},
            {"destinationNumber": DEST, "text": "Hi"},
        ),
        (
            {
                "destinationKind": "newsletter",
                "destination": "1@newsletter",
                "mode": "media",
                "media": "https://x.example/a.pdf",
                "mediaType": "document",
                "caption": "",
                "fileName": "a.pdf",
                "text": "ignored",
            },
            {
                "newsletterId": "1@newsletter",
                "media": "https://x.example/a.pdf",
                "mediaType": "document",
                "fileName": "a.pdf",
            },
        ),
        (
            {
                "destination": DEST,
                "mode": "template",
                "templateId": "tpl_1",
                "variables.nome": "Ana",
                "text": "ignored",
            },
            {"destinationNumber": DEST, "templateId": "tpl_1", "variables": {"nome": "Ana"}},
        ),
        (
            {
                "destination": DEST,
                "mode": "list",
                "text": "Menu",
                "list.buttonText": "Open",
                "list.sectionTitle": "Pizzas",
                "list.rows": "Margherita | tomato\n\n Calabresa ",
            },
            {
                "destinationNumber": DEST,
                "text": "Menu",
                "list": {
                    "buttonText": "Open",
                    "sections": [
                        {
                            "title": "Pizzas",
                            "rows": [
                                {"rowId": "row-1", "title": "Margherita", "description": "tomato"},
                                {"rowId": "row-2", "title": "Calabresa"},
                            ],
                        }
                    ],
                },
            },
        ),
    ],
)
def test_the_form_becomes_the_api_body(form: dict[str, str], body: dict[str, Any]) -> None:
    assert send.build_body(form) == body


def test_snippets_never_carry_a_key_and_quote_safely() -> None:
    body = {"destinationNumber": DEST, "text": "it's"}
    curl = send.curl_snippet("http://zap.example", body)
    assert '-H "x-api-key: $ZAPGATE_NUMBER_KEY"' in curl
    assert "it'\\''s" in curl and curl.startswith("curl -s http://zap.example/v1/messages/send")
    python = send.python_snippet("http://zap.example", {**body, "caption": "c"})
    assert 'api_key=os.environ["ZAPGATE_NUMBER_KEY"]' in python
    assert "does not send caption" in python
    compile(python, "snippet.py", "exec")


# --- pages ---------------------------------------------------------------------------------------------


def test_without_numbers_the_page_says_to_add_one(signed_in: Browser) -> None:
    page = signed_in.page("/send")
    assert page.status_code == 200
    assert "No WhatsApp number yet" in page.text and 'href="/numbers/new"' in page.text


def test_the_form_and_its_labels(signed_in: Browser, number: dict[str, Any]) -> None:
    page = signed_in.page("/send")
    assert page.status_code == 200
    for label in (
        '<label for="pick-number">Number</label>',
        '<label for="f-destinationKind">Destination type</label>',
        '<label for="f-destination">Destination</label>',
        '<label for="f-mode">Mode</label>',
        '<label for="f-text">Message text</label>',
        '<label for="f-buttons[0].label">Button 1 label</label>',
        '<label for="f-media">Media URL</label>',
        '<label for="f-mediaType">Media type</label>',
        '<label for="f-list.rows">Rows</label>',
        '<button type="submit" class="primary">Send message</button>',
        '<h2 id="h-inbound">Simulate an inbound message</h2>',
        '<label for="f-in_from">From</label>',
    ):
        assert label in page.text, label
    assert "This number has no templates yet" in page.text
    assert f'value="{number["id"]}"' in page.text


def test_a_text_message_is_accepted_with_its_curl_and_sdk_equivalents(
    signed_in: Browser,
    api: Api,
    tenant: dict[str, Any],
    number: dict[str, Any],
    server: ServerThread,
    settings: Settings,
    wait: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sent = _send(signed_in, number["id"], mode="text", text="Olá from the dashboard")
    assert sent.status_code == 200
    message_id = MESSAGE_LINK.search(sent.text)
    assert message_id, sent.text
    assert "Message accepted" in sent.text and ">QUEUED</span>" in sent.text
    link = f'href="/messages/{message_id.group(1)}?number={number["id"]}"'
    assert link in sent.text
    assert signed_in.page(f"/messages/{message_id.group(1)}?number={number['id']}").status_code == 200
    request, origin = _stored_request(settings, message_id.group(1))
    assert origin == "DASHBOARD"
    assert request == {"destinationNumber": DEST, "text": "Olá from the dashboard"}
    assert number["key"] not in sent.text and tenant["key"] not in sent.text
    assert "Olá from the dashboard" in sent.text  # the form keeps what was sent
    curl = _snippet(sent.text, "curl")
    assert '-H "x-api-key: $ZAPGATE_NUMBER_KEY"' in curl and "/v1/messages/send" in curl
    assert 'data-copy="#snippet-curl"' in sent.text and 'data-copy="#snippet-python"' in sent.text
    # Both snippets work as printed, pointed at this server with the number's key.
    monkeypatch.setenv("ZAPGATE_NUMBER_KEY", number["key"])
    python = _snippet(sent.text, "python").replace(
        f'ZAPGATE_URL = "{settings.public_url}"', f'ZAPGATE_URL = "{server.url}"'
    )
    exec(compile(python, "snippet.py", "exec"), {})  # the code this page generated
    by_sdk = capsys.readouterr().out.split()[0]
    assert _stored_request(settings, by_sdk)[0] == {**request, "variables": {}}  # SDK adds it
    if shutil.which("curl"):
        command = curl.replace(settings.public_url, server.url)
        out = subprocess.run(
            ["sh", "-c", command],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "ZAPGATE_NUMBER_KEY": number["key"]},
        )
        assert '"status":"QUEUED"' in out.stdout
    wait(
        lambda: (
            api.get(f"/v1/messages/{message_id.group(1)}", number["key"]).json()["status"]
            in ("SENT", "DELIVERED", "READ")
        )
    )


def test_buttons_media_and_list_are_accepted(
    signed_in: Browser, number: dict[str, Any], settings: Settings
) -> None:
    cases = [
        (
            {
                "mode": "buttons",
                "text": "Pick one",
                "buttons[0].label": "Yes",
                "buttons[1].label": "No",
                "footer": "Reply below",
            },
            {"buttons": [{"type": "reply", "label": "Yes"}, {"type": "reply", "label": "No"}]},
        ),
        (
            {
                "mode": "media",
                "media": "https://cdn.example.com/cat.jpg",
                "mediaType": "image",
                "caption": "A cat",
            },
            {"media": "https://cdn.example.com/cat.jpg", "caption": "A cat"},
        ),
        (
            {
                "mode": "list",
                "text": "Menu",
                "list.buttonText": "See options",
                "list.sectionTitle": "Pizzas",
                "list.rows": "Margherita | tomato\nCalabresa",
            },
            {"text": "Menu"},
        ),
    ]
    for data, expected in cases:
        sent = _send(signed_in, number["id"], **data)
        assert sent.status_code == 200, sent.text
        found = MESSAGE_LINK.search(sent.text)
        assert found, sent.text
        request = _stored_request(settings, found.group(1))[0]
        assert expected.items() <= request.items()
    media = _snippet(sent.text, "python")
    assert "See options" in media


def test_templates_with_one_input_per_variable(
    signed_in: Browser, api: Api, number: dict[str, Any], settings: Settings
) -> None:
    created = api.post(
        "/v1/templates",
        number["key"],
        json={
            "name": "boas_vindas",
            "category": "UTILITY",
            "language": "pt_BR",
            "body": "Olá {{nome}}, seu pedido {{pedido}} saiu!",
            "examples": {"nome": "Ana", "pedido": "42"},
        },
    )
    assert created.status_code == 201, created.text
    template_id = created.json()["id"]
    page = signed_in.page("/send")
    assert '<label for="f-templateId">Template</label>' in page.text
    assert f'<option value="{template_id}" selected>boas_vindas</option>' in page.text
    assert '<label for="f-variables.nome">nome</label>' in page.text and "e.g. Ana" in page.text
    partial = signed_in.page(f"/send/template-variables?number={number['id']}&templateId={template_id}")
    assert partial.status_code == 200 and "<html" not in partial.text
    assert '<label for="f-variables.pedido">pedido</label>' in partial.text
    missing = _send(
        signed_in,
        number["id"],
        mode="template",
        templateId=template_id,
        **{"variables.nome": "Ana", "variables.pedido": ""},
    )
    assert missing.status_code == 400
    assert _field_error(missing.text, "variables.pedido") == "required"
    assert "Missing template variables: pedido" in missing.text
    sent = _send(
        signed_in,
        number["id"],
        mode="template",
        templateId=template_id,
        **{"variables.nome": "Ana", "variables.pedido": "42"},
    )
    assert sent.status_code == 200, sent.text
    found = MESSAGE_LINK.search(sent.text)
    assert found
    assert _stored_request(settings, found.group(1))[0]["variables"] == {"nome": "Ana", "pedido": "42"}
    unknown = _send(signed_in, number["id"], mode="template", templateId="tpl_nope")
    assert unknown.status_code == 404 and _field_error(unknown.text, "templateId")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"destination": "12"}, "destination", "E.164"),
        ({"destination": ""}, "destination", "required"),
        ({"destinationKind": "group", "destination": "nope"}, "destination", "@g.us"),
        ({"text": ""}, "text", "1-4096"),
        (
            {"mode": "buttons", "text": "Hi", "buttons[0].label": "ok", "buttons[1].label": "x" * 21},
            "buttons[1].label",
            "1-20 characters",
        ),
        ({"mode": "media", "media": "ftp://x"}, "media", "http(s) URL"),
        (
            {"mode": "media", "media": "https://x.example/a.ogg", "mediaType": "audio", "caption": "no"},
            "caption",
            "not allowed",
        ),
    ],
)
def test_service_errors_show_next_to_their_field(
    signed_in: Browser, number: dict[str, Any], data: dict[str, str], field: str, message: str
) -> None:
    response = _send(signed_in, number["id"], **{"mode": "text", "text": "Hi", **data})
    assert response.status_code == 400
    error = _field_error(response.text, field)
    assert error is not None and message in error, response.text
    assert "Message accepted" not in response.text


def test_posts_need_the_csrf_token(signed_in: Browser, number: dict[str, Any]) -> None:
    refused = signed_in.post(
        "/send", {"number": number["id"], "destination": DEST, "mode": "text", "text": "x"}, csrf=False
    )
    assert refused.status_code == 403
    simulate = signed_in.post(
        "/send/simulate-inbound", {"number": number["id"], "in_from": DEST, "in_text": "x"}, csrf=False
    )
    assert simulate.status_code == 403


def test_simulate_an_inbound_message(
    signed_in: Browser, api: Api, number: dict[str, Any], receiver: Any, wait: Callable[..., Any]
) -> None:
    hook = api.post("/v1/webhooks", number["key"], json={"url": receiver.url, "events": ["message.received"]})
    assert hook.status_code == 201
    done = signed_in.post(
        "/send/simulate-inbound",
        {"number": number["id"], "in_from": DEST, "in_name": "Ana", "in_text": "Oi!"},
    )
    assert done.status_code == 200
    assert "Inbound message received" in done.text and "message.received" in done.text
    wait(lambda: len(receiver.received) == 1)
    invalid = signed_in.post(
        "/send/simulate-inbound", {"number": number["id"], "in_from": "nobody", "in_text": "Oi!"}
    )
    assert invalid.status_code == 400
    assert _field_error(invalid.text, "in_from") == "E.164 phone"
    assert 'value="nobody"' in invalid.text


# --- tenancy --------------------------------------------------------------------------------------------


def test_other_workspaces_numbers_are_refused(
    signed_in: Browser,
    api: Api,
    number: dict[str, Any],
    make_tenant: Callable[..., dict[str, Any]],
    settings: Settings,
) -> None:
    other = make_tenant(name="Other")
    theirs = api.create_number(other["key"], name="Their number")
    created = api.post(
        "/v1/templates",
        theirs["key"],
        json={
            "name": "theirs",
            "category": "UTILITY",
            "language": "pt_BR",
            "body": "Oi {{x}}, tudo bem?",
            "examples": {"x": "1"},
        },
    )
    assert created.status_code == 201, created.text
    template = created.json()
    page = signed_in.page("/send")
    assert theirs["id"] not in page.text and "Their number" not in page.text
    assert signed_in.page(f"/send?number={theirs['id']}").status_code == 404
    assert (
        signed_in.page(
            f"/send/template-variables?number={theirs['id']}&templateId={template['id']}"
        ).status_code
        == 404
    )
    # Their template id through my own number is not found either.
    assert (
        signed_in.page(
            f"/send/template-variables?number={number['id']}&templateId={template['id']}"
        ).status_code
        == 404
    )
    refused = _send(signed_in, theirs["id"], mode="text", text="from a stranger")
    assert refused.status_code == 404 and "Message accepted" not in refused.text
    no_number = _send(signed_in, "", mode="text", text="no number")
    assert no_number.status_code == 404
    simulate = signed_in.post(
        "/send/simulate-inbound", {"number": theirs["id"], "in_from": DEST, "in_text": "x"}
    )
    assert simulate.status_code == 404

    async def count() -> int:
        container = build_container(settings)
        try:
            async with container.db.read() as conn:
                return int(
                    (
                        await conn.execute(
                            sa.select(sa.func.count())
                            .select_from(t.messages)
                            .where(t.messages.c.number_id == theirs["id"])
                        )
                    ).scalar_one()
                )
        finally:
            await container.close()

    assert asyncio.run(count()) == 0
