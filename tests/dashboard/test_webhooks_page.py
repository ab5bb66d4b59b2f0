"""``/webhooks``: endpoints per number, the secret shown once, pause/resume, edit, delete, the
delivery log with redelivery and test events, and isolation between workspaces."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Api
from tests.dashboard.conftest import Browser
from zapgate.testing import ServerThread, WebhookReceiver

SECRET = re.compile(r'<code id="webhook-secret">(whsec_[^<]+)</code>')


def _create(browser: Browser, number_id: str, url: str, **data: Any) -> Any:
    return browser.post("/webhooks", {"number": number_id, "url": url, **data})


def _webhook_id(api: Api, key: str, name: str) -> str:
    found = [w for w in api.get("/v1/webhooks", key).json() if w["name"] == name]
    assert len(found) == 1, found
    return str(found[0]["id"])


def _hook(api: Api, key: str, url: str, name: str = "hook") -> dict[str, Any]:
    response = api.post("/v1/webhooks", key, json={"url": url, "events": "*", "name": name})
    assert response.status_code == 201, response.text
    return dict(response.json())


# --- the list and the create form ----------------------------------------------------------------


def test_without_numbers_the_page_says_to_add_one(signed_in: Browser) -> None:
    page = signed_in.page("/webhooks")
    assert page.status_code == 200
    assert "No WhatsApp number yet" in page.text and 'href="/numbers/new"' in page.text


def test_empty_list_and_the_create_form(signed_in: Browser, number: dict[str, Any]) -> None:
    page = signed_in.page(f"/webhooks?number={number['id']}")
    assert page.status_code == 200
    assert "No webhooks for this number yet" in page.text
    for label in (
        '<label for="f-url">Endpoint URL</label>',
        "<legend>Events</legend>",
        '<label for="ev-all">All events (*)</label>',
        '<label for="ev-message-read">message.read</label>',
        '<button type="submit" class="primary">Create webhook</button>',
        '<label for="pick-number">Number</label>',
    ):
        assert label in page.text
    # Health events cannot be chosen one by one: they only come with "*".
    assert 'value="number.health_blocked"' not in page.text


def test_create_shows_the_secret_once(
    signed_in: Browser, api: Api, number: dict[str, Any], receiver: WebhookReceiver
) -> None:
    created = _create(
        signed_in, number["id"], receiver.url, name="backend", events=["message.sent", "message.read"]
    )
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    secret = SECRET.search(created.text)
    assert secret, created.text
    assert '<button type="button" data-copy="#webhook-secret">Copy secret</button>' in created.text
    assert "shown only once" in created.text
    stored = api.get("/v1/webhooks", number["key"]).json()
    assert [(w["name"], w["url"], w["events"]) for w in stored] == [
        ("backend", receiver.url, ["message.sent", "message.read"])
    ]
    listing = signed_in.page(f"/webhooks?number={number['id']}")
    assert "backend" in listing.text and "message.sent, message.read" in listing.text
    detail = signed_in.page(f"/webhooks/{stored[0]['id']}")
    assert detail.status_code == 200 and secret.group(1) not in detail.text
    assert secret.group(1) not in listing.text


def test_all_events_and_the_default_name(signed_in: Browser, api: Api, number: dict[str, Any]) -> None:
    created = _create(signed_in, number["id"], "https://hooks.example.com/wa", events=["*", "message.sent"])
    assert created.status_code == 200
    [hook] = api.get("/v1/webhooks", number["key"]).json()
    assert hook["events"] == ["*"] and hook["name"] == "hooks.example.com"
    assert "All events" in signed_in.page(f"/webhooks?number={number['id']}").text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"url": "not a url"}, "url", "whitespace"),
        ({"url": "ftp://hooks.example.com/x"}, "url", ""),
        ({"url": "https://hooks.example.com/x", "events": ["message.bogus"]}, "events", "unknown event"),
        ({"url": "https://hooks.example.com/x", "name": "x" * 201}, "name", "1-200 characters"),
    ],
)
def test_validation_errors_show_next_to_the_field(
    signed_in: Browser, api: Api, number: dict[str, Any], data: dict[str, Any], field: str, message: str
) -> None:
    response = signed_in.post("/webhooks", {"number": number["id"], **data})
    assert response.status_code == 400
    error = re.search(rf'<small id="e-{field}" class="error">([^<]*)</small>', response.text)
    assert error and message in html.unescape(error.group(1)), response.text
    assert 'aria-invalid="true"' in response.text or f'aria-describedby="e-{field}"' in response.text
    assert html.escape(data["url"]) in response.text  # the form keeps what was typed
    assert api.get("/v1/webhooks", number["key"]).json() == []


def test_private_urls_are_refused_next_to_the_url_field(
    start_server: Callable[..., ServerThread],
    make_tenant: Callable[..., dict[str, Any]],
    browser_for: Callable[[ServerThread], Browser],
    api_for: Callable[[ServerThread], Api],
) -> None:
    server = start_server(allow_private_urls=False)
    tenant = make_tenant()
    number = api_for(server).create_number(tenant["key"])
    browser = browser_for(server)
    browser.login(tenant["email"], tenant["password"])
    response = _create(browser, number["id"], "http://127.0.0.1:9/hook", events=["*"])
    assert response.status_code == 400
    error = re.search(r'<small id="e-url" class="error">([^<]*)</small>', response.text)
    assert error and "local or private address" in html.unescape(error.group(1))


def test_posts_need_the_csrf_token(signed_in: Browser, api: Api, number: dict[str, Any]) -> None:
    hook = _hook(api, number["key"], "https://hooks.example.com/x")
    refused = [
        signed_in.post("/webhooks", {"number": number["id"], "url": "https://a.example.com"}, csrf=False),
        signed_in.post(f"/webhooks/{hook['id']}/active", {"active": "false"}, csrf=False),
        signed_in.post(f"/webhooks/{hook['id']}/delete", csrf=False),
        signed_in.post(f"/webhooks/{hook['id']}/rotate-secret", csrf=False),
        signed_in.post(f"/webhooks/{hook['id']}/test", csrf=False),
        signed_in.post(f"/webhooks/{hook['id']}/edit", {"name": "x", "url": "https://b.example"}, csrf=False),
    ]
    assert [r.status_code for r in refused] == [403] * 6
    [still] = api.get("/v1/webhooks", number["key"]).json()
    assert still["active"] and still["name"] == "hook"


# --- pause, edit, rotate, delete ---------------------------------------------------------------------


def test_pause_and_resume(signed_in: Browser, api: Api, number: dict[str, Any]) -> None:
    hook = _hook(api, number["key"], "https://hooks.example.com/x")
    paused = signed_in.post(f"/webhooks/{hook['id']}/active", {"active": "false"})
    assert paused.status_code == 303
    assert paused.headers["location"] == f"/webhooks/{hook['id']}?done=paused"
    assert api.get(f"/v1/webhooks/{hook['id']}", number["key"]).json()["active"] is False
    page = signed_in.page(paused.headers["location"])
    assert "Webhook paused" in page.text and ">Resume webhook</button>" in page.text
    assert ">Paused</span>" in page.text
    resumed = signed_in.post(f"/webhooks/{hook['id']}/active", {"active": "true", "back": "list"})
    assert resumed.headers["location"] == f"/webhooks?number={number['id']}&done=resumed"
    assert api.get(f"/v1/webhooks/{hook['id']}", number["key"]).json()["active"] is True
    assert ">Pause webhook</button>" in signed_in.page(resumed.headers["location"]).text


def test_edit(signed_in: Browser, api: Api, number: dict[str, Any]) -> None:
    hook = _hook(api, number["key"], "https://hooks.example.com/x")
    form = signed_in.page(f"/webhooks/{hook['id']}/edit")
    assert form.status_code == 200 and 'value="https://hooks.example.com/x"' in form.text
    assert re.search(r'id="ev-all" name="events" value="\*" checked', form.text)
    saved = signed_in.post(
        f"/webhooks/{hook['id']}/edit",
        {"name": "renamed", "url": "https://other.example.com/y", "events": ["message.failed"]},
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/webhooks/{hook['id']}?done=updated"
    now = api.get(f"/v1/webhooks/{hook['id']}", number["key"]).json()
    assert (now["name"], now["url"], now["events"]) == (
        "renamed",
        "https://other.example.com/y",
        ["message.failed"],
    )
    invalid = signed_in.post(
        f"/webhooks/{hook['id']}/edit", {"name": " ", "url": "https://other.example.com/y", "events": ["*"]}
    )
    assert invalid.status_code == 400
    assert '<small id="e-name" class="error">1-200 characters</small>' in invalid.text


def test_rotate_shows_a_new_secret_once(signed_in: Browser, api: Api, number: dict[str, Any]) -> None:
    hook = _hook(api, number["key"], "https://hooks.example.com/x")
    rotated = signed_in.post(f"/webhooks/{hook['id']}/rotate-secret")
    assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
    secret = SECRET.search(rotated.text)
    assert secret and secret.group(1) != hook["secret"]
    assert "previous secret" in rotated.text and "Copy secret" in rotated.text


def test_delete_asks_first(signed_in: Browser, api: Api, number: dict[str, Any]) -> None:
    hook = _hook(api, number["key"], "https://hooks.example.com/x", name="doomed")
    confirm = signed_in.page(f"/webhooks/{hook['id']}/delete")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    assert '<button type="submit" class="danger">Delete webhook</button>' in confirm.text
    assert api.get(f"/v1/webhooks/{hook['id']}", number["key"]).status_code == 200
    deleted = signed_in.post(f"/webhooks/{hook['id']}/delete")
    assert deleted.headers["location"] == f"/webhooks?number={number['id']}&done=deleted"
    assert api.get(f"/v1/webhooks/{hook['id']}", number["key"]).status_code == 404
    listing = signed_in.page(deleted.headers["location"])
    assert "Webhook deleted." in listing.text and "doomed" not in listing.text


# --- delivery log, test event, redelivery ------------------------------------------------------------


def test_test_event_log_and_redelivery(
    signed_in: Browser, api: Api, number: dict[str, Any], receiver: WebhookReceiver, wait: Callable[..., Any]
) -> None:
    hook = _hook(api, number["key"], receiver.url)
    empty = signed_in.page(f"/webhooks/{hook['id']}")
    assert "No deliveries yet" in empty.text
    queued = signed_in.post(f"/webhooks/{hook['id']}/test")
    assert queued.headers["location"] == f"/webhooks/{hook['id']}?done=test"
    wait(lambda: len(receiver.received) == 1)
    page = wait(
        lambda: (p := signed_in.page(f"/webhooks/{hook['id']}")) and ">Success</span>" in p.text and p
    )
    assert '<table aria-labelledby="h-log">' in page.text and 'id="h-log">Delivery log' in page.text
    for header in ("Time", "Event", "Attempt", "Result", "Status code", "Duration", "Response"):
        assert f'<th scope="col">{header}</th>' in page.text
    assert "<code>webhook.test</code>" in page.text and "<td>200</td>" in page.text
    assert " ms</td>" in page.text and "<summary>ok</summary>" in page.text
    delivery = re.search(r'action="(/webhooks/[^"]+/deliveries/[^"]+/redeliver)"', page.text)
    assert delivery and ">Redeliver</button>" in page.text
    again = signed_in.post(delivery.group(1))
    assert again.headers["location"] == f"/webhooks/{hook['id']}?done=redeliver"
    wait(lambda: len(receiver.received) == 2)
    first, second = (json.loads(r.body) for r in receiver.received)
    assert first["id"] == second["id"] and first["event"] == "webhook.test"
    only_tests = signed_in.page(f"/webhooks/{hook['id']}?event=message.read")
    assert "No deliveries yet of message.read" in only_tests.text


def test_a_paused_webhook_cannot_get_a_test_event(
    signed_in: Browser, api: Api, number: dict[str, Any]
) -> None:
    hook = _hook(api, number["key"], "https://hooks.example.com/x")
    signed_in.post(f"/webhooks/{hook['id']}/active", {"active": "false"})
    refused = signed_in.post(f"/webhooks/{hook['id']}/test")
    assert refused.status_code == 409 and "Resume it first" in refused.text
    missing = signed_in.post(f"/webhooks/{hook['id']}/deliveries/whd_nope/redeliver")
    assert missing.status_code == 409  # inactive is checked first, like the API


def test_redelivering_an_unknown_delivery_is_404(
    signed_in: Browser, api: Api, number: dict[str, Any]
) -> None:
    hook = _hook(api, number["key"], "https://hooks.example.com/x")
    missing = signed_in.post(f"/webhooks/{hook['id']}/deliveries/whd_nope/redeliver")
    assert missing.status_code == 404 and "Delivery not found" in missing.text


# --- tenancy -------------------------------------------------------------------------------------------


def test_other_workspaces_are_invisible_and_unreachable(
    signed_in: Browser, api: Api, number: dict[str, Any], make_tenant: Callable[..., dict[str, Any]]
) -> None:
    other = make_tenant(name="Other")
    theirs = api.create_number(other["key"], name="Their number")
    hook = _hook(api, theirs["key"], "https://theirs.example.com/secret-path", name="their-hook")
    mine = signed_in.page("/webhooks")
    assert "their-hook" not in mine.text and "theirs.example.com" not in mine.text
    assert theirs["id"] not in mine.text and "Their number" not in mine.text
    wid = hook["id"]
    for path in (
        f"/webhooks?number={theirs['id']}",
        f"/webhooks/{wid}",
        f"/webhooks/{wid}/edit",
        f"/webhooks/{wid}/delete",
    ):
        assert signed_in.page(path).status_code == 404, path
    posts = [
        (f"/webhooks/{wid}/active", {"active": "false"}),
        (f"/webhooks/{wid}/test", {}),
        (f"/webhooks/{wid}/rotate-secret", {}),
        (f"/webhooks/{wid}/edit", {"name": "pwned", "url": "https://x.example", "events": "*"}),
        (f"/webhooks/{wid}/deliveries/whd_x/redeliver", {}),
        (f"/webhooks/{wid}/delete", {}),
        ("/webhooks", {"number": theirs["id"], "url": "https://x.example", "events": "*"}),
        ("/webhooks", {"url": "https://x.example", "events": "*"}),
    ]
    for path, data in posts:
        response = signed_in.post(path, data)
        assert response.status_code == 404, path
        assert "whsec_" not in response.text
    [still] = api.get("/v1/webhooks", theirs["key"]).json()
    assert (still["name"], still["active"]) == ("their-hook", True)
    assert signed_in.page(f"/webhooks/{wid}/x").status_code == 404
