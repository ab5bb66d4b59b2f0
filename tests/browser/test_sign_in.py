"""Signing in and out in a real browser."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import shot, sign_in


def test_sign_in_and_out(page: Page, owner: dict[str, Any]) -> None:
    page.goto("/messages")
    expect(page).to_have_url("/login?next=%2Fmessages")
    shot(page, "01-login")
    page.get_by_label("Email").fill("owner@acme.test")
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
    sign_in(page)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url("/login")
    page.goto("/")
    expect(page).to_have_url("/login?next=%2F")
