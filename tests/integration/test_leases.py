"""Number leases spread over live workers, and move when a worker joins or dies."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from zapgate.container import build_container
from zapgate.domain import ids
from zapgate.services import tenants
from zapgate.storage import message_store, migrate
from zapgate.storage import tables as t
from zapgate.workers.leases import LeaseKeeper


async def _numbers(container, count: int) -> None:
    """A workspace with ``count`` sandbox numbers, written straight to the database."""
    tenant = await tenants.create_tenant(container, name="L", plan="PAID")
    async with container.db.write() as conn:
        for i in range(count):
            await conn.execute(sa.insert(t.numbers).values(
                id=ids.new_id("wn"), workspace_id=tenant.tenant_id, name=f"n{i}",
                number=f"55119000000{i:02d}", provider="sandbox", settings={},
                created_at=0, updated_at=0))


def test_numbers_rebalance_when_a_worker_joins_and_move_when_it_dies(make_settings):
    settings = make_settings(number_lease_seconds=0.5)

    async def run():
        a, b = build_container(settings), build_container(settings)
        await migrate.upgrade(a.db)
        await _numbers(a, 6)
        first, second = LeaseKeeper(a), LeaseKeeper(b)
        assert len(await first.refresh(force=True)) == 6
        assert await second.refresh(force=True) == set()  # none free yet
        assert len(await first.refresh(force=True)) == 3  # hands back its excess
        taken = await second.refresh(force=True)
        assert len(taken) == 3 and not taken & first.owned
        await asyncio.sleep(0.6)  # the second worker dies: its leases expire
        await a.close()
        a2 = build_container(settings)
        a2.worker_id = a.worker_id
        survivor = LeaseKeeper(a2)
        # Once the dead worker's heartbeat is stale, the survivor takes everything.
        await asyncio.sleep(0.6)
        assert len(await survivor.refresh(force=True)) == 6
        await a2.close()
        await b.close()

    asyncio.run(run())


class _Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def now_ms(self) -> int:
        return self.now


def test_a_dead_workers_numbers_move_when_its_lease_runs_out_not_a_renewal_later(
        make_settings):
    """Leases are renewed every third of a lease. A worker that saw another's lease running
    out at T looks again at T, so the numbers of a worker that died move within one lease of
    its last renewal (15 s by default), not up to 5 s after that."""
    settings = make_settings(number_lease_seconds=15)
    clock = _Clock(1_000_000)

    async def run() -> tuple[set[str], set[str]]:
        a = build_container(settings, clock=clock)
        b = build_container(settings, clock=clock)
        await migrate.upgrade(a.db)
        await _numbers(a, 2)
        first, second = LeaseKeeper(a), LeaseKeeper(b)
        try:
            owned_by_first = await first.refresh(force=True)  # alone: takes both
            clock.now += 12_000  # the second worker starts; the first's leases end in 3 s
            assert await second.refresh(force=True) == set()
            # The first dies now: it never renews again. Its leases end at +15 s.
            clock.now += 3_001
            return owned_by_first, await second.refresh()  # a tick, not a forced refresh
        finally:
            await a.close()
            await b.close()

    before, after = asyncio.run(run())
    assert len(before) == 2
    assert after == before


def test_a_worker_whose_lease_is_late_to_renew_stops_sending_and_claims_nothing(
        make_settings):
    """A stalled worker (its renewals late) stops starting sends a fifth of a lease before
    its lease would end, and once another worker has taken the number over, the database
    refuses its claims even if it still believes it holds the number."""
    settings = make_settings(number_lease_seconds=15)
    clock = _Clock(1_000_000)

    async def run() -> None:
        a = build_container(settings, clock=clock)
        b = build_container(settings, clock=clock)
        await migrate.upgrade(a.db)
        await _numbers(a, 1)
        stalled, other = LeaseKeeper(a), LeaseKeeper(b)
        try:
            [number] = await stalled.refresh(force=True)
            message = await _queued_message(a, number)
            clock.now += 11_999
            assert stalled.holds(number, clock.now)
            clock.now += 1  # 12 s of a 15 s lease without a renewal: no new sends
            assert not stalled.holds(number, clock.now)
            clock.now += 3_001  # the lease ran out; the other worker takes the number
            assert await other.refresh(force=True) == {number}
            async with a.db.write() as conn:
                assert await message_store.claim(conn, [message], now=clock.now,
                                                 lease_ms=60_000, owner=a.worker_id) == set()
                assert await message_store.claim(conn, [message], now=clock.now,
                                                 lease_ms=60_000, owner=b.worker_id) == {
                    message}
        finally:
            await a.close()
            await b.close()

    asyncio.run(run())


async def _queued_message(container, number_id: str) -> str:
    """A QUEUED message of the number, written straight to the database."""
    message_id = ids.new_id("msg")
    async with container.db.write() as conn:
        workspace = (await conn.execute(sa.select(t.numbers.c.workspace_id).where(
            t.numbers.c.id == number_id))).scalar_one()
        await conn.execute(sa.insert(t.messages).values(
            id=message_id, workspace_id=workspace, number_id=number_id, status="QUEUED",
            correlation_id=ids.new_id("cor"),
            mode="text", destination="+5511988887777", destination_kind="phone",
            payload={"text": "x"}, deliver_at=0, next_attempt_at=0, created_at=0,
            updated_at=0))
    return message_id
