"""The operator's day in a real browser, end to end against ``zapgate serve``: sign in, add a
sandbox number, rotate and copy its key, create a template and see the preview, send from the
playground, watch the message reach READ and open its timeline, create a webhook, see its
deliveries, redeliver one, sign out. Every page is photographed into test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import shot, sign_in
from zapgate.testing import WebhookReceiver

CONTACT = "+5511988887777"


@pytest.fixture
def hook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def _clipboard(page: Page) -> str:
    return str(page.evaluate("navigator.clipboard.readText()"))


def _add_sandbox_number(page: Page) -> str:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Numbers").click()
    shot(page, "03-numbers-empty")
    page.get_by_role("link", name="Add a number").first.click()
    page.get_by_label("Name", exact=True).fill("Loja Centro")
    page.get_by_label("Phone number", exact=True).fill("+5511999990001")
    page.get_by_label("Provider").select_option("sandbox")
    shot(page, "04-numbers-new")
    page.get_by_role("button", name="Add number").click()
    expect(page.get_by_role("heading", name="Loja Centro added")).to_be_visible()
    page.get_by_role("button", name="Copy key").click()
    first_key = _clipboard(page)
    assert first_key.startswith("ps_")
    shot(page, "05-number-created")
    page.get_by_role("link", name="Open the number page").click()
    expect(page.get_by_label("Sending pace (messages per second)")).to_be_visible()
    shot(page, "05b-number-page")
    return first_key


def _rotate_key(page: Page, first_key: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    assert first_key not in page.content()  # masked: prefix and last 4 only
    shot(page, "06-api-keys")
    page.get_by_role("link", name=re.compile("Rotate key for Loja Centro")).click()
    page.get_by_role("button", name="Rotate key").click()
    page.get_by_role("button", name="Copy key").click()
    new_key = _clipboard(page)
    assert new_key.startswith("ps_") and new_key != first_key
    expect(page.get_by_text(new_key)).to_be_visible()
    shot(page, "07-api-key-rotated")


def _create_template(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Templates").click()
    shot(page, "08-templates-empty")
    page.get_by_role("link", name="New template").first.click()
    page.get_by_label("Name", exact=True).fill("boas_vindas")
    page.get_by_label("Category").select_option(index=1)
    page.get_by_label("Body", exact=True).fill("Olá {{nome}}, seu pedido saiu!")
    example = page.get_by_label("Example for nome")
    expect(example).to_be_visible()
    example.fill("Ana")
    preview = page.get_by_role("region", name="Preview")
    expect(preview).to_contain_text("seu pedido saiu!")
    expect(preview.locator("span.var")).to_have_count(1)
    expect(preview).to_contain_text("Valid: ready to save.")
    shot(page, "09-template-editor")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_text("Template saved.")).to_be_visible()
    expect(page.get_by_role("link", name="boas_vindas", exact=True)).to_be_visible()
    shot(page, "10-templates")


def _create_webhook(page: Page, url: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    shot(page, "11-webhooks-empty")
    page.get_by_label("Endpoint URL").fill(url)
    page.get_by_label("Name (optional)").fill("Backend")
    page.get_by_role("button", name="Create webhook").click()
    expect(page.get_by_role("heading", name="Webhook created")).to_be_visible()
    page.get_by_role("button", name="Copy secret").click()
    assert _clipboard(page).startswith("whsec_")
    shot(page, "12-webhook-secret")


def _send_from_playground(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Send").click()
    shot(page, "12b-send")
    page.get_by_label("Destination", exact=True).fill(CONTACT)
    page.get_by_label("Mode").select_option(label="Text")
    page.get_by_label("Message text").fill("Olá do playground")
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_role("heading", name="Message accepted")).to_be_visible()
    expect(page.locator("#snippet-curl")).to_contain_text("/v1/messages/send")
    shot(page, "13-send-accepted")
    page.get_by_role("link", name=re.compile("Open message")).click()
    expect(page.get_by_role("heading", name=re.compile("Message to"))).to_be_visible()
    expect(page.locator(".badge", has_text="READ").first).to_be_visible(timeout=20_000)
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("DELIVERED")
    shot(page, "14-message")
    page.get_by_role("link", name="Back to messages").click()
    expect(page.get_by_role("table", name="Message log")).to_contain_text(CONTACT)
    shot(page, "15-messages")


def _deliveries_and_redeliver(page: Page, receiver: WebhookReceiver) -> None:
    receiver.wait_for(lambda items: len(items) >= 3, timeout=20)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="Delivery log").first.click()
    log = page.get_by_role("table", name="Delivery log")
    expect(log).to_contain_text("message.read")
    before = len(receiver.snapshot())
    log.get_by_role("button", name="Redeliver").first.click()
    expect(page.get_by_role("status")).to_contain_text("Event queued again")
    receiver.wait_for(lambda items: len(items) > before, timeout=20)
    page.get_by_role("button", name="Send test event").click()
    # The click posts a form and navigates: wait for that page before reloading it.
    expect(page.get_by_role("status")).to_contain_text("Test event queued")
    receiver.wait_for(lambda items: len(items) > before + 1, timeout=20)
    page.reload()
    shot(page, "16-webhook-deliveries")


def test_operator_main_flows(page: Page, owner: dict[str, Any], hook_receiver: WebhookReceiver) -> None:
    sign_in(page)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    shot(page, "02-overview-empty")
    first_key = _add_sandbox_number(page)
    _rotate_key(page, first_key)
    _create_template(page)
    _create_webhook(page, hook_receiver.url)
    _send_from_playground(page)
    _deliveries_and_redeliver(page, hook_receiver)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").click()
    shot(page, "17-overview")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile("/login$"))
    page.goto("/messages")
    expect(page).to_have_url(re.compile("/login"))
