"""The overview of a number with a month of history, in a real browser: the cards and the days
table show what the database holds, the chart is drawn, and the page is photographed (the
README's screenshot comes from here)."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from playwright.sync_api import Page, expect

from tests.acceptance.conftest import ServeProcess
from tests.browser.conftest import shot, sign_in
from tests.integration.test_analytics_api import DAY, insert_messages, now_ms
from zapgate.settings import Settings

HOUR = 3_600_000


def _history(seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = now_ms()
    rows: list[dict[str, Any]] = []
    for day in range(1, 30):
        for _ in range(rng.randint(20, 60) + day):
            created = now - day * DAY + rng.randint(0, 20) * HOUR
            status = rng.choices(["READ", "DELIVERED", "SENT", "FAILED"], [60, 25, 5, 10])[0]
            row: dict[str, Any] = {"status": status, "created_at": created}
            if status in ("READ", "DELIVERED"):
                row["delivered_at"] = created + rng.randint(300, 4000)
            rows.append(row)
    return rows


def test_overview_shows_a_month_of_history(page: Page, owner: dict[str, Any], zapgate: ServeProcess) -> None:
    number = zapgate_number(zapgate, owner)
    rows = _history()
    settings = Settings(database_url=zapgate.env["ZAPGATE_DATABASE_URL"])
    # Playwright's sync API runs an event loop on this thread: seed from another one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(insert_messages, settings, number, rows).result()
    sign_in(page)
    page.goto(f"/?number={number}&period=30d")
    sent = sum(r["status"] != "FAILED" for r in rows)
    failed = len(rows) - sent
    expect(page.locator("#stat-sent")).to_contain_text(f"{sent:,}".replace(",", ""))
    expect(page.locator("#stat-failed")).to_contain_text(str(failed))
    expect(page.locator(".uplot canvas").first).to_be_visible()
    shot(page, "20-overview-history")


def zapgate_number(zapgate: ServeProcess, owner: dict[str, Any]) -> str:
    import httpx

    created = httpx.post(
        zapgate.url + "/v1/numbers",
        headers={"x-api-key": owner["tenantKey"]},
        json={"name": "Loja Centro", "number": "+5511999990001"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["instance"]["id"])
