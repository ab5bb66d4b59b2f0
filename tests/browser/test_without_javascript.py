"""Reading pages work with JavaScript turned off (HTMX only improves them)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, expect

from tests.acceptance.conftest import ServeProcess
from tests.browser.conftest import shot, sign_in

PAGES = {
    "/": "Overview",
    "/numbers": "Numbers",
    "/api-keys": "API keys",
    "/templates": "Templates",
    "/messages": "Messages",
    "/webhooks": "Webhooks",
    "/send": "Send a message",
}


def test_every_page_reads_without_javascript(
    browser: Browser, zapgate: ServeProcess, owner: dict[str, Any]
) -> None:
    context = browser.new_context(base_url=zapgate.url, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page)
        page.goto("/numbers/new")
        page.get_by_label("Name", exact=True).fill("Sem JS")
        page.get_by_label("Phone number", exact=True).fill("+5511999990002")
        page.get_by_role("button", name="Add number").click()
        expect(page.get_by_role("heading", name="Sem JS added")).to_be_visible()
        for path, heading in PAGES.items():
            page.goto(path)
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
            expect(page.locator("main")).not_to_contain_text("Internal Server Error")
        shot(page, "30-send-without-js")
    finally:
        context.close()
