"""``/numbers``: the list, adding sandbox / Evolution (QR code, polled until connected) / Meta
numbers with the key shown once, the number page and its settings, delete, restore, purge, and
isolation between workspaces."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import Api
from tests.contract.worlds import META_NUMBER, start_sim, zapgate_settings
from tests.dashboard.conftest import Browser
from tests.helpers import DEST, assert_error, send
from zapgate.sim.common import SimThread
from zapgate.testing import ServerThread, reserve_port

NEW_KEY = re.compile(r'<code id="new-key">(ps_[^<]+)</code>')
PHONE = "+5511987650001"
HX = {"HX-Request": "true"}


def _add(browser: Browser, **data: Any) -> Any:
    browser.page("/numbers/new")
    return browser.post("/numbers/new", {"name": "Support", "number": PHONE, "provider": "sandbox", **data})


def _only_number(api: Api, key: str) -> dict[str, Any]:
    [number] = api.get("/v1/numbers", key).json()
    return dict(number)


def _field_error(page: str, field: str) -> str:
    found = re.search(rf'<small id="e-{field}" class="error">([^<]*)</small>', page)
    assert found, f"no error next to {field}"
    assert f'aria-describedby="e-{field}"' in page
    return html.unescape(found.group(1))


# -- the list ---------------------------------------------------------------------------------


def test_without_numbers_the_page_says_how_to_add_one(signed_in: Browser) -> None:
    page = signed_in.page("/numbers")
    assert page.status_code == 200
    assert "No WhatsApp number yet" in page.text
    assert page.text.count(">Add a number</a>") == 1
    assert '<a class="button" href="/numbers/new">Add a number</a>' in page.text
    assert "Deleted numbers" not in page.text


def test_the_list_shows_provider_state_and_health(
    signed_in: Browser, api: Api, tenant: dict[str, Any], number: dict[str, Any]
) -> None:
    page = signed_in.page("/numbers")
    assert f'<a href="/numbers/{number["id"]}">Test number</a>' in page.text
    assert number["number"] in page.text and "Sandbox (simulated)" in page.text
    assert '<span class="badge s-open">OPEN</span>' in page.text
    assert '<span class="badge s-ok">OK</span>' in page.text
    assert "<time datetime=" in page.text and "data-local" in page.text
    assert '<a class="button primary" href="/numbers/new">Add a number</a>' in page.text


# -- adding a number --------------------------------------------------------------------------


def test_the_add_form_has_labelled_fields(signed_in: Browser) -> None:
    page = signed_in.page("/numbers/new")
    assert page.status_code == 200
    for label in (
        '<label for="f-name">Name</label>',
        '<label for="f-number">Phone number</label>',
        '<label for="f-provider">Provider</label>',
        '<label for="f-official">Follow the official (Meta) rules</label>',
        '<label for="f-phoneNumberId">Phone number ID</label>',
        '<label for="f-wabaId">WhatsApp Business Account ID</label>',
        '<label for="f-accessToken">Access token</label>',
        '<label for="f-appSecret">App secret (optional)</label>',
        '<button type="submit" class="primary">Add number</button>',
    ):
        assert label in page.text, label
    for value, text in (
        ("sandbox", "Sandbox (simulated)"),
        ("evolution-v2", "Evolution API v2 (QR code)"),
        ("evolution-go", "Evolution GO (QR code)"),
        ("meta", "Meta Cloud API (your WABA)"),
    ):
        assert f'<option value="{value}"' in page.text and text in page.text


def test_adding_a_sandbox_number_shows_its_key_once(
    signed_in: Browser, api: Api, tenant: dict[str, Any]
) -> None:
    added = _add(signed_in, official="true")
    assert added.status_code == 200, added.text
    assert added.headers["cache-control"] == "no-store"
    key = NEW_KEY.search(added.text)
    assert key, added.text
    assert '<button type="button" data-copy="#new-key">Copy key</button>' in added.text
    assert "it is shown only once" in added.text
    assert "Connected" in added.text and "Open the number page" in added.text
    mine = api.get("/v1/numbers", key.group(1))
    assert mine.status_code == 200 and mine.json()[0]["official"] is True
    listed = signed_in.page("/numbers").text
    assert "Support" in listed and "official rules" in listed
    assert key.group(1) not in listed and key.group(1) not in signed_in.page("/api-keys").text


def test_add_form_errors_are_shown_next_to_their_fields(
    signed_in: Browser, api: Api, tenant: dict[str, Any]
) -> None:
    bad = _add(signed_in, name="", number="12")
    assert bad.status_code == 400
    assert _field_error(bad.text, "name") == "Enter a name of up to 200 characters."
    assert "country code" in _field_error(bad.text, "number")
    assert "Please correct the fields marked below." in bad.text
    assert '<div class="flash error" role="alert">' in bad.text
    _add(signed_in)
    again = _add(signed_in, name="Twice")
    assert again.status_code == 409
    assert "already registered" in _field_error(again.text, "number")
    assert 'value="Twice"' in again.text  # what was typed stays


def test_meta_credentials_are_checked_and_never_echoed(signed_in: Browser, tenant: dict[str, Any]) -> None:
    bad = _add(
        signed_in, provider="meta", phoneNumberId="abc", wabaId="", accessToken="", appSecret="s3cret-value"
    )
    assert bad.status_code == 400
    assert "numeric" in _field_error(bad.text, "phoneNumberId")
    assert "required" in _field_error(bad.text, "wabaId")
    assert "required" in _field_error(bad.text, "accessToken")
    assert "s3cret-value" not in bad.text
    assert '<option value="meta" selected>' in bad.text


def test_an_unconfigured_provider_is_explained_at_the_provider_field(
    signed_in: Browser, tenant: dict[str, Any]
) -> None:
    refused = _add(signed_in, provider="evolution-v2")
    assert refused.status_code == 503
    assert _field_error(refused.text, "provider")


# -- Meta and Evolution, against their simulators ---------------------------------------------


@pytest.fixture
def with_sim(
    make_settings: Callable[..., Any],
    make_tenant: Callable[..., dict[str, Any]],
    browser_for: Callable[[ServerThread], Browser],
) -> Iterator[Callable[[str], tuple[Browser, SimThread, Api, dict[str, Any]]]]:
    """A server wired to a provider simulator, its tenant and a signed-in browser."""
    stops: list[Callable[[], Any]] = []

    def make(kind: str) -> tuple[Browser, SimThread, Api, dict[str, Any]]:
        sock = reserve_port()
        port = sock.getsockname()[1]
        sim = start_sim(kind, f"http://127.0.0.1:{port}")
        assert sim is not None
        server = ServerThread(make_settings(**zapgate_settings(kind, port, sim.url)), sock=sock)
        stops.extend([sim.stop, server.start().stop])
        tenant = make_tenant()
        browser = browser_for(server)
        browser.login(tenant["email"], tenant["password"])
        api = Api(server.url)
        stops.append(api.close)
        return browser, sim, api, tenant

    yield make
    for stop in reversed(stops):
        stop()


def test_a_meta_number_is_added_with_its_credentials(with_sim: Callable[..., Any]) -> None:
    browser, _sim, api, tenant = with_sim("meta")
    added = _add(browser, name="Loja Meta", number="+15550000001", provider="meta", **META_NUMBER)
    assert added.status_code == 200, added.text
    key = NEW_KEY.search(added.text)
    assert key and META_NUMBER["accessToken"] not in added.text
    number = _only_number(api, tenant["key"])
    detail = browser.page(f"/numbers/{number['id']}").text
    assert "Meta Cloud API (your WABA)" in detail and META_NUMBER["phoneNumberId"] in detail


@pytest.mark.parametrize("kind", ["evolution-v2", "evolution-go"])
def test_an_evolution_number_shows_the_qr_code_until_the_phone_is_linked(
    with_sim: Callable[..., Any], kind: str, wait: Callable[..., Any]
) -> None:
    browser, sim, api, tenant = with_sim(kind)
    added = _add(browser, provider=kind)
    assert added.status_code == 200, added.text
    assert NEW_KEY.search(added.text) and "it is shown only once" in added.text
    assert '<img src="data:image/png;base64,' in added.text
    assert 'alt="QR code to link Support (+5511987650001)"' in added.text
    number_id = _only_number(api, tenant["key"])["id"]
    poll = re.search(r'hx-get="(/numbers/[^"]+/link\?shown=[A-Z]+)" hx-trigger="every 2s"', added.text)
    assert poll, added.text
    assert f'<a class="button" href="/numbers/{number_id}/link">Refresh</a>' in added.text
    assert "Get a new QR code</button>" in added.text
    # While nothing changes the poll gets "no content" and the page stays as it is.
    first = browser.http.get(poll.group(1), headers=HX)
    shown = poll.group(1)
    if first.status_code == 200:  # the live state differs from the one at creation
        found = re.search(r'hx-get="([^"]+)"', first.text)
        assert found and "Waiting for the phone" in first.text
        shown = found.group(1)
    assert browser.http.get(shown, headers=HX).status_code == 204
    assert "Not connected yet" in browser.page(f"/numbers/{number_id}/link").text
    sim.control("POST", f"/_sim/instances/zapgate-{number_id}/pair", {})

    def connected() -> Any:
        r = browser.http.get(poll.group(1), headers=HX)
        return r if r.status_code == 200 and "Connected" in r.text else None

    fragment = wait(connected, timeout=15)
    assert fragment.headers["HX-Retarget"] == "#pairing"
    assert f'href="/numbers/{number_id}">Open the number page</a>' in fragment.text
    assert "Connected" in browser.page(f"/numbers/{number_id}/link").text
    browser.page(f"/numbers/{number_id}")
    again = browser.post(f"/numbers/{number_id}/connect")
    assert again.status_code == 303
    assert again.headers["location"] == f"/numbers/{number_id}?done=connected"


def _paired_evolution_number(with_sim: Callable[..., Any], wait: Callable[..., Any]) -> tuple[Any, ...]:
    """An Evolution v2 number added in the dashboard and paired: (browser, sim, api, tenant,
    number id)."""
    browser, sim, api, tenant = with_sim("evolution-v2")
    _add(browser, provider="evolution-v2")
    number_id = _only_number(api, tenant["key"])["id"]
    sim.control("POST", f"/_sim/instances/zapgate-{number_id}/pair", {})
    wait(lambda: api.get(f"/v1/numbers/{number_id}", tenant["key"]).json()["state"] == "OPEN")
    return browser, sim, api, tenant, number_id


def test_a_disconnected_number_gets_a_new_qr_code(
    with_sim: Callable[..., Any], wait: Callable[..., Any]
) -> None:
    browser, sim, api, tenant, number_id = _paired_evolution_number(with_sim, wait)
    sim.control("POST", f"/_sim/instances/zapgate-{number_id}/disconnect", {"reason": 401})
    wait(lambda: api.get(f"/v1/numbers/{number_id}", tenant["key"]).json()["state"] != "OPEN")
    detail = browser.page(f"/numbers/{number_id}")
    assert "Get a new QR code</button>" in detail.text
    fresh = browser.post(f"/numbers/{number_id}/connect")
    assert fresh.status_code == 200
    assert '<img src="data:image/png;base64,' in fresh.text and "new-key" not in fresh.text


def test_a_second_device_is_added_and_linked_from_the_number_page(
    with_sim: Callable[..., Any], wait: Callable[..., Any]
) -> None:
    browser, sim, api, tenant, number_id = _paired_evolution_number(with_sim, wait)
    assert "Add a second device</button>" in browser.page(f"/numbers/{number_id}").text

    added = browser.post(f"/numbers/{number_id}/dual")
    assert added.status_code == 200, added.text
    assert "Link a second device" in added.text and '<img src="data:image/png;base64,' in added.text
    assert f'action="/numbers/{number_id}/connect?link=secondary"' in added.text
    poll = re.search(r'hx-get="(/numbers/[^"]+/link\?shown=[A-Z]+&amp;link=secondary)"', added.text)
    assert poll, added.text
    detail = browser.page(f"/numbers/{number_id}").text
    assert "<dt>Second device</dt>" in detail and "Add a second device</button>" not in detail
    assert "New QR code for the second device</button>" in detail

    fresh = browser.post(f"/numbers/{number_id}/connect?link=secondary")
    assert fresh.status_code == 200 and "Link a second device" in fresh.text
    sim.control("POST", f"/_sim/instances/zapgate-{number_id}-2/pair", {})
    url = poll.group(1).replace("&amp;", "&")

    def connected() -> Any:
        r = browser.http.get(url, headers=HX)
        return r if r.status_code == 200 and "Connected" in r.text else None

    fragment = wait(connected, timeout=15)
    assert "The second device of" in fragment.text
    detail = browser.page(f"/numbers/{number_id}").text
    assert "New QR code for the second device" not in detail
    assert api.get(f"/v1/numbers/{number_id}", tenant["key"]).json()["isFullyConnected"] is True
    listed = browser.page("/numbers").text
    assert "second device:</span>" in listed


# -- the number page --------------------------------------------------------------------------


def test_the_number_page_shows_details_and_settings(signed_in: Browser, number: dict[str, Any]) -> None:
    page = signed_in.page(f"/numbers/{number['id']}")
    assert page.status_code == 200
    for text in (
        "Sandbox (simulated)",
        '<span class="badge s-open">OPEN</span>',
        "<dt>Health</dt>",
        "<dt>Added</dt>",
        number["id"],
        '<label for="f-markReadOnSend">Mark the contact',
        '<label for="f-pacePerSecond">Sending pace (messages per second)</label>',
        '<label for="f-piiMode">Personal data (PII) mode</label>',
        '<label for="f-piiRetentionDays">Retention (days)</label>',
        '<button type="submit" class="primary">Save settings</button>',
        '<button type="submit" class="danger">Delete number</button>',
        f'<a href="/numbers/{number["id"]}/purge">Delete permanently…</a>',
    ):
        assert text in page.text, text
    assert "Get a new QR code" not in page.text  # sandbox numbers need no QR code
    assert 'id="f-markReadOnSend" name="markReadOnSend" type="checkbox" value="true" checked' in page.text


def test_saving_settings(
    signed_in: Browser, api: Api, tenant: dict[str, Any], number: dict[str, Any]
) -> None:
    signed_in.page(f"/numbers/{number['id']}")
    saved = signed_in.post(
        f"/numbers/{number['id']}/settings",
        {"pacePerSecond": "2.5", "piiMode": "STORE_X_DAYS", "piiRetentionDays": "30"},
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/numbers/{number['id']}?done=saved"
    detail = api.get(f"/v1/numbers/{number['id']}", tenant["key"]).json()
    assert detail["settings"]["markReadOnSend"] is False  # the box was not ticked
    assert detail["pacePerSecond"] == 2.5 and detail["piiRetentionDays"] == 30
    page = signed_in.page(saved.headers["location"]).text
    assert "Settings saved." in page and 'value="2.5"' in page and 'value="30"' in page
    signed_in.post(
        f"/numbers/{number['id']}/settings",
        {"markReadOnSend": "true", "pacePerSecond": "", "piiMode": "RELAY_ONLY", "piiRetentionDays": "30"},
    )
    detail = api.get(f"/v1/numbers/{number['id']}", tenant["key"]).json()
    assert detail["settings"]["markReadOnSend"] is True and detail["pacePerSecond"] is None
    assert detail["piiMode"] == "RELAY_ONLY" and detail["piiRetentionDays"] is None


def test_settings_errors_are_shown_next_to_their_fields(
    signed_in: Browser, api: Api, tenant: dict[str, Any], number: dict[str, Any]
) -> None:
    signed_in.page(f"/numbers/{number['id']}")
    bad = signed_in.post(
        f"/numbers/{number['id']}/settings",
        {"pacePerSecond": "fast", "piiMode": "STORE_X_DAYS", "piiRetentionDays": ""},
    )
    assert bad.status_code == 400
    assert _field_error(bad.text, "pacePerSecond")
    assert "1 to 3650" in _field_error(bad.text, "piiRetentionDays")
    assert 'value="fast"' in bad.text
    too_long = signed_in.post(
        f"/numbers/{number['id']}/settings",
        {"pacePerSecond": "0", "piiMode": "STORE_X_DAYS", "piiRetentionDays": "4000"},
    )
    assert too_long.status_code == 400
    assert _field_error(too_long.text, "pacePerSecond")
    assert _field_error(too_long.text, "piiRetentionDays")
    detail = api.get(f"/v1/numbers/{number['id']}", tenant["key"]).json()
    assert detail["piiMode"] == "STORE_INDEFINITE" and detail["pacePerSecond"] is None


# -- delete, restore, purge -------------------------------------------------------------------


def test_delete_then_restore(
    signed_in: Browser, api: Api, tenant: dict[str, Any], number: dict[str, Any]
) -> None:
    signed_in.page(f"/numbers/{number['id']}")
    deleted = signed_in.post(f"/numbers/{number['id']}/delete")
    assert deleted.status_code == 303 and deleted.headers["location"] == "/numbers?done=deleted"
    listed = signed_in.page(deleted.headers["location"]).text
    assert "Number deleted." in listed and "Deleted numbers" in listed
    assert "No WhatsApp number yet" in listed  # nothing active any more
    assert f'aria-label="Restore Test number ({number["number"]})">Restore</button>' in listed
    assert "Window ended" not in listed
    assert_error(send(api, number["key"], {"destinationNumber": DEST, "text": "x"}), 401, "UNAUTHORIZED")
    page = signed_in.page(f"/numbers/{number['id']}").text
    assert "This number was deleted" in page and "Restore number</button>" in page
    restored = signed_in.post(f"/numbers/{number['id']}/restore")
    assert restored.status_code == 303
    assert restored.headers["location"] == f"/numbers/{number['id']}?done=restored"
    assert "Number restored." in signed_in.page(restored.headers["location"]).text
    assert send(api, number["key"], {"destinationNumber": DEST, "text": "x"}).status_code == 202
    assert "Deleted numbers" not in signed_in.page("/numbers").text


def test_restore_beyond_the_plan_is_explained(
    server: ServerThread,
    make_tenant: Callable[..., dict[str, Any]],
    browser_for: Callable[..., Browser],
    api: Api,
) -> None:
    free = make_tenant(plan="FREE")
    browser = browser_for(server)
    browser.login(free["email"], free["password"])
    first = api.create_number(free["key"])
    api.delete(f"/v1/numbers/{first['id']}", free["key"])
    api.create_number(free["key"])
    browser.page("/numbers")
    refused = browser.post(f"/numbers/{first['id']}/restore")
    assert refused.status_code == 409
    assert '<div class="flash error" role="status">' in refused.text
    assert "plan allows 1 number" in refused.text


def test_purge_needs_the_number_typed(
    signed_in: Browser, api: Api, tenant: dict[str, Any], number: dict[str, Any]
) -> None:
    confirm = signed_in.page(f"/numbers/{number['id']}/purge")
    assert confirm.status_code == 200
    digits = number["number"].lstrip("+")
    assert f'<label for="f-confirm">Type the phone number +{digits} to confirm</label>' in confirm.text
    assert "cannot be undone" in confirm.text
    wrong = signed_in.post(f"/numbers/{number['id']}/purge", {"confirm": "+55 11 0000"})
    assert wrong.status_code == 400
    assert digits in _field_error(wrong.text, "confirm")
    assert api.get(f"/v1/numbers/{number['id']}", tenant["key"]).status_code == 200
    done = signed_in.post(f"/numbers/{number['id']}/purge", {"confirm": f" +{digits} "})
    assert done.status_code == 303 and done.headers["location"] == "/numbers?done=purged"
    listed = signed_in.page(done.headers["location"]).text
    assert "Number deleted permanently." in listed and "Test number" not in listed
    assert signed_in.page(f"/numbers/{number['id']}").status_code == 404


def test_a_deleted_number_can_be_purged_from_its_page(
    signed_in: Browser, api: Api, tenant: dict[str, Any], number: dict[str, Any]
) -> None:
    api.delete(f"/v1/numbers/{number['id']}", tenant["key"])
    assert "Delete permanently…" in signed_in.page(f"/numbers/{number['id']}").text
    signed_in.page(f"/numbers/{number['id']}/purge")
    done = signed_in.post(f"/numbers/{number['id']}/purge", {"confirm": number["number"]})
    assert done.status_code == 303
    assert "Deleted numbers" not in signed_in.page("/numbers").text


# -- CSRF and isolation -----------------------------------------------------------------------

POSTS = ["/connect", "/settings", "/delete", "/restore", "/purge"]


def test_every_form_needs_the_csrf_token(
    signed_in: Browser, api: Api, tenant: dict[str, Any], number: dict[str, Any]
) -> None:
    assert signed_in.post("/numbers/new", {"name": "x", "number": PHONE}, csrf=False).status_code == 403
    for path in POSTS:
        refused = signed_in.post(f"/numbers/{number['id']}{path}", {"confirm": number["number"]}, csrf=False)
        assert refused.status_code == 403, path
        assert "security token" in refused.text
    assert [n["name"] for n in api.get("/v1/numbers", tenant["key"]).json()] == ["Test number"]


def test_another_workspace_stays_out_of_sight(
    signed_in: Browser,
    api: Api,
    tenant: dict[str, Any],
    number: dict[str, Any],
    make_tenant: Callable[..., dict[str, Any]],
) -> None:
    other = make_tenant(name="Other")
    theirs = api.create_number(other["key"], name="Their secret line")
    gone = api.create_number(other["key"], name="Their deleted line")
    api.delete(f"/v1/numbers/{gone['id']}", other["key"])
    listed = signed_in.page("/numbers").text
    assert "Their secret line" not in listed and "Their deleted line" not in listed
    for foreign in (theirs["id"], gone["id"]):
        for path in ("", "/link", "/purge"):
            assert signed_in.page(f"/numbers/{foreign}{path}").status_code == 404, path
        for path in POSTS:
            response = signed_in.post(
                f"/numbers/{foreign}{path}", {"confirm": theirs["number"], "piiMode": "RELAY_ONLY"}
            )
            assert response.status_code == 404, path
    assert api.get(f"/v1/numbers/{theirs['id']}", other["key"]).json()["piiMode"] == "STORE_INDEFINITE"
    assert api.post(f"/v1/numbers/{gone['id']}/restore", other["key"]).status_code == 200
