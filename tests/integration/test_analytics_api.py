"""GET /v1/analytics/dashboard: figures over a seeded database, periods, time zones and day
buckets, scopes, and cross-workspace isolation."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tests.helpers import DEST, assert_error, send, wait_status, with_container
from zapgate.storage import tables as t

HOUR = 3_600_000
DAY = 24 * HOUR
_ids = itertools.count()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def insert_messages(settings: Any, number_id: str, rows: list[dict[str, Any]]) -> None:
    """Store outbound messages with known times. Each row gives ``status`` and ``created_at``;
    optional ``deliver_at`` and ``delivered_at``. Queued rows are scheduled a day ahead so the
    server's workers leave them alone."""

    async def run(container: Any) -> None:
        async with container.db.write() as conn:
            workspace_id = (
                await conn.execute(sa.select(t.numbers.c.workspace_id).where(t.numbers.c.id == number_id))
            ).scalar_one()
            await conn.execute(t.messages.insert(), [_row(workspace_id, number_id, spec) for spec in rows])

    with_container(settings, run)


def _row(workspace_id: str, number_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    n = next(_ids)
    created = spec["created_at"]
    deliver_at = spec.get("deliver_at") or (now_ms() + DAY if spec["status"] == "QUEUED" else created)
    delivered = spec.get("delivered_at")
    if delivered is None and spec["status"] in ("DELIVERED", "READ"):
        delivered = deliver_at + 1000
    return {
        "id": f"msg_seed{n}_{number_id[-8:]}",
        "workspace_id": workspace_id,
        "number_id": number_id,
        "correlation_id": f"corr_seed{n}_{number_id[-8:]}",
        "status": spec["status"],
        "mode": "text",
        "destination": DEST,
        "destination_kind": "phone",
        "content": "seeded",
        "payload": {"text": "seeded"},
        "deliver_at": deliver_at,
        "next_attempt_at": deliver_at,
        "sent_at": deliver_at + 100 if spec["status"] in ("SENT", "DELIVERED", "READ") else None,
        "delivered_at": delivered,
        "read_at": delivered + 500 if spec["status"] == "READ" else None,
        "failed_at": created + 100 if spec["status"] == "FAILED" else None,
        "canceled_at": created + 100 if spec["status"] == "CANCELED" else None,
        "created_at": created,
        "updated_at": created,
    }


def seed_known(settings: Any, number_id: str) -> int:
    """The figures test_figures_of_each_period expects. Returns the seeding time."""
    now = now_ms()
    insert_messages(
        settings,
        number_id,
        [
            # Within the last 7 days.
            {"status": "SENT", "created_at": now - HOUR},
            {"status": "DELIVERED", "created_at": now - 2 * HOUR, "delivered_at": now - 2 * HOUR + 1000},
            {"status": "READ", "created_at": now - 3 * HOUR, "delivered_at": now - 3 * HOUR + 3000},
            # Scheduled an hour after it was created: time to delivered counts from deliverAt.
            {
                "status": "DELIVERED",
                "created_at": now - 2 * DAY,
                "deliver_at": now - 2 * DAY + HOUR,
                "delivered_at": now - 2 * DAY + HOUR + 2000,
            },
            {"status": "FAILED", "created_at": now - DAY},
            {"status": "QUEUED", "created_at": now - HOUR},
            {"status": "CANCELED", "created_at": now - 4 * DAY},
            # Always in the 7-day period's previous period; inside the 30-day period.
            {"status": "DELIVERED", "created_at": now - 8 * DAY},
            {"status": "READ", "created_at": now - 8 * DAY},
            {"status": "FAILED", "created_at": now - 8 * DAY + HOUR},
        ],
    )
    return now


def stats(api: Any, key: str, **params: str) -> dict[str, Any]:
    r = api.get("/v1/analytics/dashboard", key, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_figures_of_each_period(api, settings, tenant, number):
    seed_known(settings, number["id"])
    sibling = api.create_number(tenant["key"], name="Sibling")
    insert_messages(settings, sibling["id"], [{"status": "FAILED", "created_at": now_ms() - HOUR}])

    week = stats(api, number["key"], period="7d")
    assert week["totalSent"] == 4 and week["totalFailed"] == 1
    assert week["sentPercentChange"] == 100.0 and week["failedPercentChange"] == 0.0
    assert week["failureRate"] == 20.0
    assert week["statusDistribution"] == {
        "queued": 1,
        "sent": 1,
        "delivered": 2,
        "read": 1,
        "failed": 1,
        "canceled": 1,
    }
    assert week["deliveryLatencyMs"] == {"p50": 2000, "p95": 3000}
    assert len(week["dailyMessages"]) == 7
    assert sum(d["count"] for d in week["dailyMessages"]) == 7
    assert sum(d["count"] for d in week["dailySent"]) == 4
    assert sum(d["count"] for d in week["dailyFailed"]) == 1
    assert week["period"] == "7d" and week["timezone"] == "UTC"
    today = datetime.now(ZoneInfo("UTC")).date()
    assert week["dailyMessages"][-1]["date"] in (today.isoformat(), (today + timedelta(days=1)).isoformat())
    assert [d["date"] for d in week["dailyMessages"]] == sorted(d["date"] for d in week["dailyMessages"])

    month = stats(api, number["key"])  # 30d by default
    assert month["period"] == "30d" and len(month["dailyMessages"]) == 30
    assert month["totalSent"] == 6 and month["totalFailed"] == 2
    # Nothing in the previous period: +100 % (the SDK types these as numbers, never null).
    assert month["sentPercentChange"] == 100.0 and month["failedPercentChange"] == 100.0
    assert month["previousTotalSent"] == 0 and month["previousTotalFailed"] == 0
    assert month["failureRate"] == 25.0
    assert month["deliveryLatencyMs"] == {"p50": 1000, "p95": 3000}

    quarter = stats(api, number["key"], period="90d")
    assert len(quarter["dailyMessages"]) == 90 and quarter["totalSent"] == 6


def test_an_idle_number_has_zeros(api, number):
    body = stats(api, number["key"], period="7d")
    assert body["totalSent"] == body["totalFailed"] == 0
    assert body["failureRate"] == 0.0
    assert body["sentPercentChange"] == 0.0 and body["failedPercentChange"] == 0.0
    assert body["deliveryLatencyMs"] == {"p50": None, "p95": None}
    assert [d["count"] for d in body["dailyMessages"]] == [0] * 7
    assert set(body["statusDistribution"].values()) == {0}


def test_messages_sent_through_the_sandbox_count(api, number, wait):
    k = number["key"]
    ok = send(api, k, {"destinationNumber": DEST, "text": "hi"}).json()
    bad = send(api, k, {"destinationNumber": "+5511900000001", "text": "hi"}).json()
    wait_status(api, wait, k, ok["id"], "READ")
    wait_status(api, wait, k, bad["id"], "FAILED")
    body = stats(api, k, period="7d")
    assert body["totalSent"] == 1 and body["totalFailed"] == 1 and body["failureRate"] == 50.0
    assert body["statusDistribution"]["read"] == 1
    assert body["deliveryLatencyMs"]["p50"] is not None
    assert body["deliveryLatencyMs"]["p50"] == body["deliveryLatencyMs"]["p95"] >= 0


def test_days_are_bucketed_in_the_requested_time_zone(api, settings, number):
    zone = ZoneInfo("America/Sao_Paulo")  # UTC-3 all year
    today = datetime.now(zone).date()
    midnight = datetime(today.year, today.month, today.day, tzinfo=zone) - timedelta(days=2)
    edge = int(midnight.timestamp() * 1000)
    before, after = edge - 30 * 60_000, edge + 30 * 60_000  # 02:30 and 03:30 UTC
    insert_messages(
        settings,
        number["id"],
        [{"status": "SENT", "created_at": before}, {"status": "FAILED", "created_at": after}],
    )

    local = stats(api, number["key"], period="7d", tz="America/Sao_Paulo")
    assert (
        local["timezone"] == "America/Sao_Paulo" and local["dailyMessages"][-1]["date"] == today.isoformat()
    )
    by_day = {d["date"]: d["count"] for d in local["dailyMessages"] if d["count"]}
    assert by_day == {(midnight.date() - timedelta(days=1)).isoformat(): 1, midnight.date().isoformat(): 1}
    assert {d["date"] for d in local["dailySent"] if d["count"]} == {
        (midnight.date() - timedelta(days=1)).isoformat()
    }

    utc = stats(api, number["key"], period="7d", timezone="UTC")  # the alias
    utc_day = datetime.fromtimestamp(before / 1000, ZoneInfo("UTC")).date().isoformat()
    assert {d["date"]: d["count"] for d in utc["dailyMessages"] if d["count"]} == {utc_day: 2}
    assert Counter(d["date"] for d in utc["dailyMessages"])[utc_day] == 1


def test_bad_period_and_time_zone_are_refused(api, number):
    k = number["key"]
    for period in ("1d", "7", "30D", "week"):
        body = assert_error(
            api.get("/v1/analytics/dashboard", k, params={"period": period}), 400, "VALIDATION_ERROR"
        )
        assert body["details"][0]["field"] == "period"
    for tz in ("Mars/Olympus_Mons", "../../etc/passwd", "utc+3", "x" * 300):
        body = assert_error(api.get("/v1/analytics/dashboard", k, params={"tz": tz}), 400, "VALIDATION_ERROR")
        assert body["details"][0]["field"] == "tz"
    assert_error(
        api.get("/v1/analytics/dashboard", k, params={"timezone": "Nowhere/City"}), 400, "VALIDATION_ERROR"
    )
    assert stats(api, k, tz="Asia/Kolkata")["timezone"] == "Asia/Kolkata"


def test_needs_a_number_key(api, tenant, number):
    assert_error(api.get("/v1/analytics/dashboard"), 401, "UNAUTHORIZED")
    assert_error(api.get("/v1/analytics/dashboard", tenant["key"]), 403, "TENANT_SCOPE_NOT_ALLOWED")
    assert_error(
        api.get("/v1/analytics/dashboard", tenant["key"], headers={"x-whatsapp-number-id": number["id"]}),
        403,
        "TENANT_SCOPE_NOT_ALLOWED",
    )


def test_workspaces_never_see_each_other(api, settings, number, make_tenant):
    seed_known(settings, number["id"])
    other = api.create_number(make_tenant(name="Other")["key"])
    insert_messages(settings, other["id"], [{"status": "FAILED", "created_at": now_ms() - HOUR}])
    theirs = stats(api, other["key"], period="90d")
    assert theirs["totalSent"] == 0 and theirs["totalFailed"] == 1
    assert sum(theirs["statusDistribution"].values()) == 1
    assert stats(api, number["key"], period="90d")["totalFailed"] == 2


def test_local_days_across_a_dst_change():
    from zapgate.services import analytics

    lisbon = ZoneInfo("Europe/Lisbon")  # back from UTC+1 to UTC+0 on 2025-10-26 at 02:00
    now = int(datetime(2025, 10, 28, 12, tzinfo=lisbon).timestamp() * 1000)
    win = analytics.window(now, "7d", *analytics.zone("Europe/Lisbon"))
    assert [d.isoformat() for d in win.days] == [f"2025-10-{d}" for d in range(22, 29)]
    lengths = [b - a for a, b in zip(win.bounds, win.bounds[1:], strict=False)]
    assert lengths == [DAY] * 4 + [DAY + HOUR] + [DAY] * 2 and win.slot_ms == HOUR
    half_past_midnight = int(datetime(2025, 10, 26, 0, 30, tzinfo=lisbon).timestamp() * 1000)
    late_evening = int(datetime(2025, 10, 26, 23, 30, tzinfo=lisbon).timestamp() * 1000)
    assert win.days[win.day_index(half_past_midnight)].isoformat() == "2025-10-26"
    assert win.days[win.day_index(late_evening)].isoformat() == "2025-10-26"
    utc = analytics.window(now, "30d", *analytics.zone(None))
    assert utc.slot_ms == DAY and utc.zone_name == "UTC" and len(utc.days) == 30
    assert utc.previous_start == utc.start - (now + 1 - utc.start)
