"""``/api-keys``: the workspace key and the number keys, masked; rotating one shows the new key
once, stops the old one and keeps the user signed in; other workspaces stay out of sight."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.conftest import Api
from tests.dashboard.conftest import Browser
from tests.helpers import assert_error

NEW_KEY = re.compile(r'<code id="new-key">(ps_[^<]+)</code>')


def _masked(key: str) -> str:
    return f"<code>{key[:7]}…{key[-4:]}</code>"


def test_keys_are_listed_masked(signed_in: Browser, tenant: dict[str, Any], number: dict[str, Any]) -> None:
    page = signed_in.page("/api-keys")
    assert page.status_code == 200
    assert _masked(tenant["key"]) in page.text and _masked(number["key"]) in page.text
    assert tenant["key"] not in page.text and number["key"] not in page.text
    assert f'<a href="/numbers/{number["id"]}">Test number</a>' in page.text
    assert '<a href="/api-keys/tenant/rotate">Rotate workspace key…</a>' in page.text
    assert (
        f'<a href="/api-keys/numbers/{number["id"]}/rotate" aria-label="Rotate key for '
        f'Test number ({number["number"]})">Rotate key…</a>'
    ) in page.text
    assert "Never" in page.text  # the number key was not used yet


def test_without_numbers_the_page_says_how_to_get_a_key(signed_in: Browser, tenant: dict[str, Any]) -> None:
    page = signed_in.page("/api-keys").text
    assert "No number yet, so no number key" in page and 'href="/numbers/new"' in page
    assert _masked(tenant["key"]) in page


def test_rotating_a_number_key_shows_the_new_key_once(
    signed_in: Browser, api: Api, number: dict[str, Any]
) -> None:
    confirm = signed_in.page(f"/api-keys/numbers/{number['id']}/rotate")
    assert confirm.status_code == 200
    assert "stops working as soon as you rotate it" in confirm.text
    assert '<button type="submit" class="danger">Rotate key</button>' in confirm.text
    rotated = signed_in.post(f"/api-keys/numbers/{number['id']}/rotate")
    assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
    new = NEW_KEY.search(rotated.text)
    assert new, rotated.text
    assert '<button type="button" data-copy="#new-key">Copy key</button>' in rotated.text
    assert "The old key has stopped working" in rotated.text
    assert "it is not shown again" in rotated.text
    assert_error(api.get("/v1/numbers", number["key"]), 401, "UNAUTHORIZED")
    assert api.get("/v1/numbers", new.group(1)).status_code == 200
    listed = signed_in.page("/api-keys").text
    assert _masked(new.group(1)) in listed and new.group(1) not in listed


def test_rotating_the_workspace_key_keeps_the_user_signed_in(
    signed_in: Browser, api: Api, tenant: dict[str, Any]
) -> None:
    confirm = signed_in.page("/api-keys/tenant/rotate")
    assert "this dashboard keeps you signed in" in confirm.text
    rotated = signed_in.post("/api-keys/tenant/rotate")
    assert rotated.status_code == 200
    new = NEW_KEY.search(rotated.text)
    assert new and "you are still signed in" in rotated.text
    assert_error(api.get("/v1/numbers", tenant["key"]), 401, "UNAUTHORIZED")
    assert api.get("/v1/numbers", new.group(1)).status_code == 200
    again = signed_in.page("/api-keys")
    assert again.status_code == 200 and _masked(new.group(1)) in again.text
    assert signed_in.page("/").status_code == 200


def test_rotation_needs_the_csrf_token(
    signed_in: Browser, api: Api, tenant: dict[str, Any], number: dict[str, Any]
) -> None:
    for path in ("/api-keys/tenant/rotate", f"/api-keys/numbers/{number['id']}/rotate"):
        refused = signed_in.post(path, csrf=False)
        assert refused.status_code == 403 and "security token" in refused.text
    assert api.get("/v1/numbers", tenant["key"]).status_code == 200
    assert api.get("/v1/numbers", number["key"]).status_code == 200


def test_deleted_numbers_have_no_key_listed(
    signed_in: Browser, api: Api, tenant: dict[str, Any], number: dict[str, Any]
) -> None:
    api.delete(f"/v1/numbers/{number['id']}", tenant["key"])
    page = signed_in.page("/api-keys").text
    assert _masked(number["key"]) not in page and "No number yet" in page
    assert signed_in.page(f"/api-keys/numbers/{number['id']}/rotate").status_code == 404


def test_another_workspace_keys_stay_out_of_sight(
    signed_in: Browser, api: Api, number: dict[str, Any], make_tenant: Callable[..., dict[str, Any]]
) -> None:
    other = make_tenant(name="Other")
    theirs = api.create_number(other["key"], name="Their line")
    page = signed_in.page("/api-keys").text
    assert "Their line" not in page
    assert _masked(other["key"]) not in page and _masked(theirs["key"]) not in page
    path = f"/api-keys/numbers/{theirs['id']}/rotate"
    assert signed_in.page(path).status_code == 404
    assert signed_in.post(path).status_code == 404
    assert api.get("/v1/numbers", theirs["key"]).status_code == 200
    assert api.get("/v1/numbers", other["key"]).status_code == 200
