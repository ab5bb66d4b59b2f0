"""The overview page: the same figures as GET /v1/analytics/dashboard, the period switch and
time zones, empty states, and cross-workspace isolation."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from tests.conftest import Api
from tests.dashboard.conftest import Browser
from tests.integration.test_analytics_api import HOUR, insert_messages, now_ms, seed_known, stats
from zapgate.settings import Settings
from zapgate.testing import ServerThread
from zapgate.web.dashboard.overview import duration, percent


def card(page: str, name: str) -> str:
    found = re.search(
        rf'id="stat-{name}">\s*<div class="stat-label">[^<]+</div>\s*'
        rf'<div class="stat">(.*?)</div>',
        page,
        re.S,
    )
    assert found, name
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def day_rows(page: str) -> dict[str, list[int]]:
    table = page.split('id="daily-table"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(
        r'<tr><td><time datetime="([\d-]+)">[\d-]+</time></td><td>(\d+)</td>'
        r"<td>(\d+)</td><td>(\d+)</td></tr>",
        table,
    )
    return {d: [int(a), int(b), int(c)] for d, a, b, c in rows}


def status_rows(page: str) -> dict[str, int]:
    table = page.split('id="h-status"', 1)[1].split("</table>", 1)[0]
    return {
        s.lower(): int(n)
        for s, n in re.findall(r'class="badge s-\w+">(\w+)</span></td>\s*<td>(\d+)</td>', table)
    }


def assert_same_figures(page: str, body: dict[str, Any]) -> None:
    assert card(page, "sent") == str(body["totalSent"])
    assert card(page, "failed") == str(body["totalFailed"])
    assert card(page, "failure-rate") == percent(body["failureRate"]) + " %"
    assert card(page, "p50") == duration(body["deliveryLatencyMs"]["p50"])
    assert card(page, "p95") == duration(body["deliveryLatencyMs"]["p95"])
    assert status_rows(page) == body["statusDistribution"]
    assert day_rows(page) == {
        m["date"]: [m["count"], s["count"], f["count"]]
        for m, s, f in zip(body["dailyMessages"], body["dailySent"], body["dailyFailed"], strict=True)
    }


def test_the_page_shows_the_figures_of_the_api(
    signed_in: Browser, api: Api, settings: Settings, number: dict[str, Any]
) -> None:
    seed_known(settings, number["id"])
    page = signed_in.page("/")
    assert page.status_code == 200
    text = page.text
    for label in (
        "<h1>Overview</h1>",
        'for="pick-number">Number</label>',
        ">Sent</div>",
        ">Failed</div>",
        ">Failure rate</div>",
        ">Time to delivered (p50)</div>",
        ">Time to delivered (p95)</div>",
        ">Messages per day</h2>",
        "<summary>Numbers per day</summary>",
        ">Status distribution</h2>",
        'aria-label="Period"',
        "/static/vendor/uPlot.iife.min.js",
        "/static/overview.js",
    ):
        assert label in text, label
    assert_same_figures(text, stats(api, number["key"]))  # 30 days by default
    assert "None in the previous 30 days" in text
    assert 'id="daily-data"' in text and 'id="daily-chart"' in text


def test_period_switch_and_time_zone(
    signed_in: Browser, api: Api, settings: Settings, number: dict[str, Any]
) -> None:
    seed_known(settings, number["id"])
    first = signed_in.page("/").text
    for period, text in (("7d", "Last 7 days"), ("30d", "Last 30 days"), ("90d", "Last 90 days")):
        assert f'href="/?number={number["id"]}&amp;period={period}"' in first
        assert f">{text}</a>" in first
    assert 'data-period="30d" aria-current="page"' in first

    week = signed_in.page(f"/?number={number['id']}&period=7d").text
    assert 'data-period="7d" aria-current="page"' in week
    assert_same_figures(week, stats(api, number["key"], period="7d"))
    assert "+100 %</span> vs previous 7 days" in week
    assert "0 %</span> vs previous 7 days" in week

    zoned = signed_in.page(f"/?number={number['id']}&period=90d&tz=America/Sao_Paulo").text
    assert_same_figures(zoned, stats(api, number["key"], period="90d", tz="America/Sao_Paulo"))
    assert 'data-tz="America/Sao_Paulo"' in zoned
    assert "&amp;period=7d&amp;tz=America%2FSao_Paulo" in zoned  # links keep the zone


def test_unknown_zone_falls_back_to_utc_and_bad_period_is_refused(
    signed_in: Browser, api: Api, number: dict[str, Any]
) -> None:
    page = signed_in.page("/?tz=Mars/Olympus")
    assert page.status_code == 200
    assert "Unknown time zone &#39;Mars/Olympus&#39;: days are shown in UTC." in page.text
    assert 'class="flash warn"' in page.text
    refused = signed_in.page("/?period=1y")
    assert refused.status_code == 400 and "period must be one of 7d, 30d, 90d" in refused.text


def test_empty_states(signed_in: Browser, api: Api, tenant: dict[str, Any]) -> None:
    page = signed_in.page("/").text
    assert "No WhatsApp number yet" in page
    assert '<a class="button" href="/numbers/new">Add a number</a>' in page
    assert "pick-number" not in page

    created = api.create_number(tenant["key"], name="Shop line")
    idle = signed_in.page("/").text
    assert "Shop line has not sent any message yet" in idle
    assert f'<a class="button" href="/send?number={created["id"]}">Send your first message</a>' in idle
    assert "Status distribution" not in idle


def test_a_quiet_period_still_shows_zeros(
    signed_in: Browser, api: Api, settings: Settings, number: dict[str, Any]
) -> None:
    insert_messages(settings, number["id"], [{"status": "FAILED", "created_at": now_ms() - 20 * 24 * HOUR}])
    page = signed_in.page("/?period=7d").text
    assert "Send your first message" not in page
    assert card(page, "sent") == "0" and card(page, "p50") == "—"
    assert_same_figures(page, stats(api, number["key"], period="7d"))


def test_other_workspaces_stay_invisible(
    server: ServerThread,
    signed_in: Browser,
    api: Api,
    settings: Settings,
    number: dict[str, Any],
    make_tenant: Callable[..., dict[str, Any]],
    browser_for: Callable[[ServerThread], Browser],
) -> None:
    seed_known(settings, number["id"])
    other_tenant = make_tenant(name="Other")
    theirs = api.create_number(other_tenant["key"], name="Foreign line")
    insert_messages(
        settings, theirs["id"], [{"status": "FAILED", "created_at": now_ms() - HOUR} for _ in range(17)]
    )

    foreign = signed_in.page(f"/?number={theirs['id']}")
    assert foreign.status_code == 404 and "Foreign line" not in foreign.text
    mine = signed_in.page("/").text
    assert "Foreign line" not in mine and theirs["id"] not in mine
    assert card(mine, "failed") == "2"

    other = browser_for(server)
    assert other.login(other_tenant["email"], other_tenant["password"]).status_code == 303
    assert other.page(f"/?number={number['id']}").status_code == 404
    own = other.page("/").text
    assert card(own, "failed") == "17" and number["id"] not in own
    assert_same_figures(own, stats(api, theirs["key"]))


def test_duration_and_percent_formats() -> None:
    assert [
        duration(v) for v in (None, 0, 850, 1000, 1250, 9_960, 59_999, 60_000, 200_000, 3_600_000, 7_500_000)
    ] == ["—", "0 ms", "850 ms", "1 s", "1.2 s", "10 s", "1 min", "1 min", "3 min 20 s", "1 h", "2 h 5 min"]
    assert [percent(v) for v in (None, 0.0, 25.0, 0.25, 33.33, -50.0)] == [
        "—",
        "0",
        "25",
        "0.25",
        "33.33",
        "-50",
    ]
