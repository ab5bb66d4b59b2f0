"""Conversations, the message log, the overview and the 404 page in a real browser, at desktop
width and at 390 px (a phone): the navigation stays on one row, the status column is visible
without sideways scrolling, and every page is photographed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.acceptance.conftest import ServeProcess
from tests.browser.conftest import shot, sign_in

CONTACT = "+5511988887777"
WIDTHS = {"desktop": 1280, "phone": 390}


def _seed(zapgate: ServeProcess, owner: dict[str, Any]) -> str:
    created = httpx.post(
        zapgate.url + "/v1/numbers",
        headers={"x-api-key": owner["tenantKey"]},
        json={"name": "Loja Centro", "number": "+5511999990001"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    number, key = created.json()["instance"]["id"], created.json()["apiKey"]["key"]
    with httpx.Client(base_url=zapgate.url, headers={"x-api-key": key}, timeout=30) as http:
        body = {"from": CONTACT, "text": "Oi! Vocês entregam amanhã?", "name": "Ana Souza"}
        r = http.post("/v1/sandbox/inbound", json=body)
        assert r.status_code < 300, r.text
        r = http.post(
            "/v1/messages/send", json={"destinationNumber": CONTACT, "text": "Entregamos sim, até as 18h."}
        )
        assert r.status_code == 202, r.text
    return str(number)


def _one_row_nav(page: Page) -> None:
    height = page.locator("header.topbar").evaluate("el => el.getBoundingClientRect().height")
    assert height < 70, height


def _no_sideways_scroll(page: Page) -> None:
    wide = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 1, wide


@pytest.mark.parametrize("width", list(WIDTHS))
def test_pages_at_desktop_and_phone_width(
    page: Page, owner: dict[str, Any], zapgate: ServeProcess, width: str
) -> None:
    number = _seed(zapgate, owner)
    page.set_viewport_size({"width": WIDTHS[width], "height": 860})
    sign_in(page)

    page.goto(f"/conversations?number={number}")
    expect(page.get_by_role("link", name="Ana Souza")).to_be_visible()
    _one_row_nav(page)
    _no_sideways_scroll(page)
    shot(page, f"30-conversations-{width}")

    page.get_by_role("link", name="Ana Souza").click()
    chat = page.get_by_role("list", name="Conversation")
    expect(chat.locator("li.inbound")).to_contain_text("Vocês entregam amanhã?")
    expect(chat.locator("li.outbound")).to_contain_text("Entregamos sim")
    _no_sideways_scroll(page)
    shot(page, f"31-conversation-{width}")

    page.goto(f"/messages?number={number}")
    table = page.get_by_role("table", name="Message log")
    expect(table.locator("td.kind").first).to_have_text("text")
    status = table.locator(".badge").first
    expect(status).to_be_visible()
    box = status.bounding_box()
    assert box is not None and box["x"] + box["width"] <= WIDTHS[width]
    _one_row_nav(page)
    _no_sideways_scroll(page)
    shot(page, f"32-messages-{width}")

    page.goto(f"/?number={number}")
    expect(page.locator("#stat-sent-note")).to_contain_text("Sent + Delivered + Read")
    _no_sideways_scroll(page)
    shot(page, f"33-overview-{width}")

    response = page.goto("/nope")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    shot(page, f"34-not-found-{width}")
