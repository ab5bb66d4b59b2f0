"""Remote pairing in a real browser: the owner creates a pairing link on the /numbers page; the
phone's holder opens it (no account, desktop and 390 px wide), sees the QR code and pairing
code, links the phone (the Evolution v2 simulator pairs it), and the page says connected and
goes on to the redirect URL with the external reference."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.acceptance.conftest import ServeProcess
from tests.browser.conftest import shot, sign_in
from tests.contract.worlds import EVOLUTION_KEY, start_sim
from zapgate.sim.common import SimThread
from zapgate.testing import free_port


@pytest.fixture
def evolution_sim() -> Iterator[tuple[SimThread, int]]:
    port = free_port()
    sim = start_sim("evolution-v2", f"http://127.0.0.1:{port}")
    assert sim is not None
    yield sim, port
    sim.stop()


@pytest.fixture
def zapgate(
    serve_env: dict[str, str], tmp_path: Path, evolution_sim: tuple[SimThread, int]
) -> Iterator[ServeProcess]:
    """``zapgate serve`` wired to the Evolution v2 simulator (its callbacks reach this server)."""
    sim, port = evolution_sim
    env = {
        **serve_env,
        "ZAPGATE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "ZAPGATE_EVOLUTION_URL": sim.url,
        "ZAPGATE_EVOLUTION_API_KEY": EVOLUTION_KEY,
    }
    proc = ServeProcess(env, tmp_path / "serve.log")
    proc.port = port
    proc.start()
    yield proc
    proc.stop()


def _create_link(page: Page, redirect: str) -> tuple[str, str]:
    page.goto("/numbers")
    page.get_by_role("link", name="Create a pairing link").click()
    page.get_by_label("Name", exact=True).fill("Loja Remota")
    page.get_by_label("Phone number", exact=True).fill("+5511999997777")
    page.get_by_label("Provider").select_option("evolution-v2")
    page.get_by_label("After linking, go to (optional)").fill(redirect)
    page.get_by_label("Your reference (optional)").fill("lead-42")
    shot(page, "rp-01-dashboard-form")
    page.get_by_role("button", name="Create link").click()
    expect(page.get_by_role("heading", name="Pairing link for Loja Remota")).to_be_visible()
    shot(page, "rp-02-dashboard-link-created")
    url = page.locator("#pairing-url").inner_text().strip()
    number_id = page.get_by_role("link", name="Open Loja Remota").get_attribute("href") or ""
    return url, number_id.rsplit("/", 1)[-1]


def _public_tab(browser: Browser, width: int) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 860}, locale="en-US")
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    return tab


def test_the_pairing_page_links_the_phone_and_redirects(
    evolution_sim: tuple[SimThread, int],
    zapgate: ServeProcess,
    owner: dict[str, Any],
    page: Page,
    browser: Browser,
) -> None:
    # The server (and its database) first: torn down after the browser's event loop is closed.
    sign_in(page)
    redirect = zapgate.url + "/healthz?from=pairing"
    url, number_id = _create_link(page, redirect)
    assert url.startswith(zapgate.url + "/v1/remote-pairing/rp_")

    desktop, phone = _public_tab(browser, 1280), _public_tab(browser, 390)
    for tab, name in ((desktop, "desktop"), (phone, "390")):
        tab.goto(url)
        expect(tab.get_by_role("heading", name="Connect WhatsApp: Loja Remota")).to_be_visible()
        qr = tab.get_by_role("img", name="QR code to link +55*******7777")
        expect(qr).to_be_visible()
        assert (qr.get_attribute("src") or "").startswith("data:image/png;base64,")
        expect(tab.locator("#pairing-code")).not_to_have_text("—")
        shot(tab, f"rp-03-public-page-{name}")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways on a phone"

    sim, _ = evolution_sim
    sim.control("POST", f"/_sim/instances/zapgate-{number_id}/pair", {})
    expect(desktop.get_by_text("Connected. This number is linked to WhatsApp.")).to_be_visible()
    expect(desktop.get_by_role("img", name="QR code to link +55*******7777")).to_be_hidden()
    shot(desktop, "rp-04-public-page-connected-desktop")
    desktop.wait_for_url(lambda u: "externalRef=lead-42" in u and "/healthz" in u)
    assert "from=pairing" in desktop.url

    # Opened again once linked (here without waiting for the poll): connected, then redirected.
    phone.goto(url)
    expect(phone.get_by_text("Connected. This number is linked to WhatsApp.")).to_be_visible()
    shot(phone, "rp-05-public-page-connected-390")
    phone.wait_for_url(lambda u: "externalRef=lead-42" in u)
    desktop.context.close()
    phone.context.close()
