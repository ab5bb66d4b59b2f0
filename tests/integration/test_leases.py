"""Number leases spread over live workers, and move when a worker joins or dies.

Every test here runs its workers on one ``FakeClock``: a lease runs out when the test moves the
clock past it, not after a sleep, so each boundary is checked exactly and on any machine."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from zapgate.clock import FakeClock
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
            await conn.execute(
                sa.insert(t.numbers).values(
                    id=ids.new_id("wn"),
                    workspace_id=tenant.tenant_id,
                    name=f"n{i}",
                    number=f"55119000000{i:02d}",
                    provider="sandbox",
                    settings={},
                    created_at=0,
                    updated_at=0,
                )
            )


def test_numbers_rebalance_when_a_worker_joins_and_move_when_it_dies(make_settings):
    settings = make_settings(number_lease_seconds=0.5)
    clock = FakeClock()

    async def run():
        a, b = build_container(settings, clock=clock), build_container(settings, clock=clock)
        await migrate.upgrade(a.db)
        await _numbers(a, 6)
        first, second = LeaseKeeper(a), LeaseKeeper(b)
        assert len(await first.refresh(force=True)) == 6
        assert first.live == 1  # alone: its stages claim as soon as they are woken
        assert await second.refresh(force=True) == set()  # none free yet
        assert len(await first.refresh(force=True)) == 3  # hands back its excess
        assert first.live == second.live == 2  # each woken stage now waits for the other's share
        taken = await second.refresh(force=True)
        assert len(taken) == 3 and not taken & first.owned
        clock.advance(0.6)  # the second worker dies: its leases expire
        await a.close()
        a2 = build_container(settings, clock=clock)
        a2.worker_id = a.worker_id
        survivor = LeaseKeeper(a2)
        # Once the dead worker's heartbeat is stale, the survivor takes everything.
        clock.advance(0.6)
        assert len(await survivor.refresh(force=True)) == 6
        assert survivor.live == 1
        await a2.close()
        await b.close()

    asyncio.run(run())


def test_a_dead_workers_numbers_move_when_its_lease_runs_out_not_a_renewal_later(make_settings):
    """Leases are renewed every third of a lease. A worker that saw another's lease running
    out at T looks again at T, so the numbers of a worker that died move within one lease of
    its last renewal (15 s by default), not up to 5 s after that."""
    settings = make_settings(number_lease_seconds=15)
    clock = FakeClock(1_000_000)

    async def run() -> tuple[set[str], set[str]]:
        a = build_container(settings, clock=clock)
        b = build_container(settings, clock=clock)
        await migrate.upgrade(a.db)
        await _numbers(a, 2)
        first, second = LeaseKeeper(a), LeaseKeeper(b)
        try:
            owned_by_first = await first.refresh(force=True)  # alone: takes both
            clock.advance(12)  # the second worker starts; the first's leases end in 3 s
            assert await second.refresh(force=True) == set()
            # The first dies now: it never renews again. Its leases end at +15 s.
            clock.advance(3.001)
            return owned_by_first, await second.refresh()  # a tick, not a forced refresh
        finally:
            await a.close()
            await b.close()

    before, after = asyncio.run(run())
    assert len(before) == 2
    assert after == before


def test_a_worker_whose_lease_is_late_to_renew_stops_sending_and_claims_nothing(make_settings):
    """A stalled worker (its renewals late) stops starting sends a fifth of a lease before
    its lease would end, and once another worker has taken the number over, the database
    refuses its claims even if it still believes it holds the number."""
    settings = make_settings(number_lease_seconds=15)
    clock = FakeClock(1_000_000)

    async def run() -> None:
        a = build_container(settings, clock=clock)
        b = build_container(settings, clock=clock)
        await migrate.upgrade(a.db)
        await _numbers(a, 1)
        stalled, other = LeaseKeeper(a), LeaseKeeper(b)
        try:
            [number] = await stalled.refresh(force=True)
            message = await _queued_message(a, number)
            clock.advance(11.999)
            assert stalled.holds(number, clock.now_ms())
            clock.advance(0.001)  # 12 s of a 15 s lease without a renewal: no new sends
            assert not stalled.holds(number, clock.now_ms())
            clock.advance(3.001)  # the lease ran out; the other worker takes the number
            assert await other.refresh(force=True) == {number}
            async with a.db.write() as conn:
                assert (
                    await message_store.claim(
                        conn, number, [message], now=clock.now_ms(), lease_ms=60_000, owner=a.worker_id
                    )
                    == set()
                )
                assert await message_store.claim(
                    conn, number, [message], now=clock.now_ms(), lease_ms=60_000, owner=b.worker_id
                ) == {message}
        finally:
            await a.close()
            await b.close()

    asyncio.run(run())


async def _queued_message(container, number_id: str) -> str:
    """A QUEUED message of the number, written straight to the database."""
    message_id = ids.new_id("msg")
    async with container.db.write() as conn:
        workspace = (
            await conn.execute(sa.select(t.numbers.c.workspace_id).where(t.numbers.c.id == number_id))
        ).scalar_one()
        await conn.execute(
            sa.insert(t.messages).values(
                id=message_id,
                workspace_id=workspace,
                number_id=number_id,
                status="QUEUED",
                correlation_id=ids.new_id("cor"),
                mode="text",
                destination="+5511988887777",
                destination_kind="phone",
                payload={"text": "x"},
                deliver_at=0,
                next_attempt_at=0,
                created_at=0,
                updated_at=0,
            )
        )
    return message_id


def test_each_worker_applies_the_provider_events_of_the_numbers_it_leases(make_settings):
    """Two workers, one number each: each inbox takes its own number's events and those for
    any worker, not the other's, until they have waited SHARED_AFTER_MS (their worker is gone):
    then anyone takes them."""
    from zapgate.workers.inbox import SHARED_AFTER_MS, Inbox

    settings = make_settings(number_lease_seconds=15)
    clock = FakeClock(1_000_000)

    async def run() -> None:
        a = build_container(settings, clock=clock)
        b = build_container(settings, clock=clock)
        await migrate.upgrade(a.db)
        await _numbers(a, 2)
        keep_a, keep_b = LeaseKeeper(a), LeaseKeeper(b)
        try:
            await keep_a.refresh(force=True)
            await keep_b.refresh(force=True)
            await keep_a.refresh(force=True)  # hands one back
            [number_b] = await keep_b.refresh(force=True)
            [number_a] = keep_a.owned
            await _events(a, {"a": number_a, "b": number_b, "any": None})
            assert await _applied_by(Inbox(a, keep_a), a) == {"a", "any"}
            assert await _applied_by(Inbox(b, keep_b), b) == {"b"}
            await _events(a, {"b2": number_b})
            assert await _applied_by(Inbox(a, keep_a), a) == set()
            clock.advance((SHARED_AFTER_MS + 1) / 1000)  # b's worker did not apply it in time
            assert await _applied_by(Inbox(a, keep_a), a) == {"b2"}
        finally:
            await a.close()
            await b.close()

    asyncio.run(run())


async def _events(container, shards: dict[str, str | None]) -> None:
    """One sandbox receipt (for a message not recorded yet) per name, due now."""
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        await conn.execute(
            sa.insert(t.provider_events),
            [
                {
                    "number_id": shard,
                    "shard": shard,
                    "provider": "sandbox",
                    "kind": "status",
                    "payload": {"messageId": None, "providerMessageId": name, "status": "DELIVERED"},
                    "due_at": now,
                    "attempts": 0,
                    "created_at": now,
                }
                for name, shard in shards.items()
            ],
        )


async def _applied_by(inbox, container) -> set[str]:
    """The events one tick of ``inbox`` took (applied, or put back for later: a receipt for no
    message waits for it), by their provider message id."""
    e = t.provider_events.c
    taken = sa.or_(e.processed_at.is_not(None), e.attempts > 0)
    async with container.db.read() as conn:
        before = set((await conn.execute(sa.select(e.id).where(taken))).scalars().all())
    await inbox.tick()
    await inbox.close()
    async with container.db.read() as conn:
        rows = (await conn.execute(sa.select(e.id, e.payload).where(taken))).all()
    return {r.payload["providerMessageId"] for r in rows if r.id not in before}
