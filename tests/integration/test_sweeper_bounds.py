"""The sweeper's periodic reads stay bounded with a large queue: the depth gauges count up to
a cap (PostgreSQL estimates past it), the oldest due message comes from each number's queue
head, and the expiry finds what is due through index ranges."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from tests.conftest import BACKEND
from zapgate.container import build_container
from zapgate.domain import ids
from zapgate.services import tenants
from zapgate.storage import migrate
from zapgate.storage import tables as t
from zapgate.workers import sweeper as sweeper_module
from zapgate.workers.sweeper import Sweeper

DAY = 86_400_000


def _gauge(container, name: str, **labels: str) -> float:
    value = container.metrics.registry.get_sample_value(name, labels or None)
    assert value is not None, name
    return float(value)


async def _fill(container, count: int, *, now: int) -> tuple[str, str]:
    """A number with ``count`` QUEUED messages, the oldest due one an hour old, and one never
    attempted for 8 days (past the 7-day maximum age); (number id, that old message's id)."""
    tenant = await tenants.create_tenant(container, name="S", plan="PAID")
    number_id = ids.new_id("wn")
    old = ids.new_id("msg")
    rows = [
        {"id": ids.new_id("msg"), "next_attempt_at": now - 3_600_000 + i, "deliver_at": now - 3_600_000}
        for i in range(count)
    ]
    rows.append({"id": old, "next_attempt_at": now - 8 * DAY, "deliver_at": now - 8 * DAY})
    async with container.db.write() as conn:
        await conn.execute(
            sa.insert(t.numbers).values(
                id=number_id,
                workspace_id=tenant.tenant_id,
                name="n",
                number="5511900000001",
                provider="sandbox",
                settings={},
                created_at=0,
                updated_at=0,
            )
        )
        await conn.execute(
            sa.insert(t.messages),
            [
                {
                    **row,
                    "workspace_id": tenant.tenant_id,
                    "number_id": number_id,
                    "correlation_id": ids.new_id("cor"),
                    "status": "QUEUED",
                    "mode": "text",
                    "destination": "+5511988887777",
                    "destination_kind": "phone",
                    "payload": {"text": "x"},
                    "created_at": row["deliver_at"],
                    "updated_at": row["deliver_at"],
                }
                for row in rows
            ],
        )
        if BACKEND == "postgres":
            await conn.execute(sa.text("ANALYZE messages"))
    return number_id, old


def test_gauges_are_capped_and_the_oldest_due_message_is_a_queue_head(make_settings):
    cap = sweeper_module.GAUGE_CAP
    settings = make_settings()

    async def run() -> None:
        c = build_container(settings)
        try:
            await migrate.upgrade(c.db)
            now = c.clock.now_ms()
            await _fill(c, cap + 500, now=now)
            await Sweeper(c)._gauges(now)
            depth = _gauge(c, "zapgate_queue_depth", status="QUEUED")
            if BACKEND == "postgres":  # past the cap: the planner's estimate
                assert cap < depth < 2 * (cap + 501)
            else:
                assert depth == cap
            assert _gauge(c, "zapgate_queue_depth", status="SENT") == 0
            age = _gauge(c, "zapgate_oldest_queued_age_seconds")
            assert abs(age - 8 * 86_400) < 1
        finally:
            await c.close()

    asyncio.run(run())


def test_a_message_never_attempted_for_the_maximum_age_expires(make_settings):
    settings = make_settings()

    async def run() -> str:
        c = build_container(settings)
        try:
            await migrate.upgrade(c.db)
            now = c.clock.now_ms()
            _number, old = await _fill(c, 50, now=now)
            assert await Sweeper(c)._expire(now) == 1
            async with c.db.read() as conn:
                return str(
                    (
                        await conn.execute(sa.select(t.messages.c.status).where(t.messages.c.id == old))
                    ).scalar_one()
                )
        finally:
            await c.close()

    assert asyncio.run(run()) == "FAILED"
