"""Browser tests: Playwright for Python driving Debian's ``chromium`` (never a downloaded
browser) against a real ``zapgate serve`` process on loopback. Screenshots of every page go to
``test-artifacts/screenshots/`` (``ZAPGATE_ARTIFACTS`` overrides the folder)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.acceptance.conftest import ServeProcess, process_env, run_cli

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("ZAPGATE_ARTIFACTS", ROOT / "test-artifacts")) / "screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"


def chromium_path() -> str:
    found = shutil.which("chromium")
    if not found:
        raise RuntimeError(
            "Debian's chromium is needed for browser tests: "
            "apt-get install -y chromium (scripts/test installs it)"
        )
    return found


@pytest.fixture
def browser() -> Iterator[Browser]:
    # Per test, not per session: Playwright's sync API keeps an event loop running on this
    # thread while it is open, and the rest of the suite needs asyncio.run().
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def serve_env(db_url: str) -> dict[str, str]:
    return process_env(db_url)


@pytest.fixture
def zapgate(serve_env: dict[str, str], tmp_path: Path) -> Iterator[ServeProcess]:
    proc = ServeProcess(dict(serve_env), tmp_path / "serve.log").start()
    yield proc
    proc.stop()


@pytest.fixture
def owner(zapgate: ServeProcess, serve_env: dict[str, str]) -> dict[str, Any]:
    created: dict[str, Any] = json.loads(
        run_cli(
            serve_env,
            "admin",
            "create-tenant",
            "--name",
            "Acme Store",
            "--plan",
            "PAID",
            "--email",
            "owner@acme.test",
            "--password",
            PASSWORD,
            "--json",
        )
    )
    return created


@pytest.fixture
def page(browser: Browser, zapgate: ServeProcess) -> Iterator[Page]:
    context = browser.new_context(
        base_url=zapgate.url,
        viewport={"width": 1280, "height": 860},
        timezone_id="America/Sao_Paulo",
        locale="en-US",
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, email: str = "owner@acme.test", password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
