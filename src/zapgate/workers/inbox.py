"""The provider inbox: applies stored provider events (status receipts, inbound messages) once
they are due. Real callbacks are stored with ``due_at = now``; sandbox receipts with their
simulated delay."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate.container import Container
from zapgate.domain.queue import ProviderEventRow
from zapgate.services import events
from zapgate.services.inbox import apply as inbox_apply
from zapgate.storage import tables as t
from zapgate.storage.lists import among
from zapgate.workers.leases import LeaseKeeper

_log = logging.getLogger("zapgate.inbox")
BATCH = 200
# An event of a number whose lease holder has not applied it by then goes to any worker.
SHARED_AFTER_MS = 5_000


class Inbox:
    name = "inbox"

    def __init__(self, container: Container, leases: LeaseKeeper | None = None) -> None:
        self._c = container
        self._leases = leases
        self._timer: asyncio.TimerHandle | None = None
        self._numbers_changed = False

    @property
    def wake(self) -> asyncio.Event:
        return self._c.wake.inbox

    async def tick(self) -> bool:
        now = self._c.clock.now_ms()
        e = t.provider_events.c
        claim = (
            sa.select(t.provider_events)
            .where(e.processed_at.is_(None), e.due_at <= now)
            .order_by(e.due_at, e.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        async with self._c.db.write() as conn:
            if self._leases is not None:
                # Ours: events of the numbers we lease, events for any worker, and any event
                # that waited SHARED_AFTER_MS (its number's holder is gone, or there is none).
                claim = claim.where(
                    sa.or_(
                        e.shard.is_(None),
                        e.due_at < now - SHARED_AFTER_MS,
                        among(conn, e.shard, sorted(self._leases.owned)),
                    )
                )
            rows = (await conn.execute(claim)).all()
            queued = await self._apply_batch(conn, rows, now) if rows else 0
            # In the same transaction: a separate read would cost a connection, a BEGIN and a
            # ROLLBACK more per batch, and small batches are the rule when workers keep up.
            next_due = await self._next_due(conn) if len(rows) < BATCH else None
        if queued:  # most callbacks (e.g. a provider's own "sent") queue no customer webhook
            self._c.wake.webhooks.set()
        if self._numbers_changed:
            self._numbers_changed = False
            self._c.wake.numbers.set()
            self._c.wake.dispatch.set()
        if next_due is not None:
            self._schedule(next_due, now)
        return len(rows) == BATCH

    async def _apply_batch(self, conn: AsyncConnection, rows: Sequence[ProviderEventRow], now: int) -> int:
        """Apply the whole batch under one savepoint; if that fails, redo it one event per
        savepoint so that only the bad event is set aside. Returns the webhooks queued."""
        try:
            async with conn.begin_nested():
                return await self._apply(conn, rows, now, {})
        except Exception:
            _log.warning("a provider event batch failed; applying its events one by one")
            endpoints: events.EndpointCache = {}
            return sum([await self._apply_one(conn, row, now, endpoints) for row in rows])

    async def _apply(
        self,
        conn: AsyncConnection,
        rows: Sequence[ProviderEventRow],
        now: int,
        endpoints: events.EndpointCache,
    ) -> int:
        ctx = inbox_apply.Context(
            registry=self._c.providers,
            settings=self._c.settings,
            metrics=self._c.metrics,
            now_ms=now,
            endpoints=endpoints,
        )
        applied = await inbox_apply.apply_batch(conn, rows, ctx)
        if applied.numbers_changed:
            self._numbers_changed = True
        if applied.templates_changed:
            self._c.template_cache.clear()
        deferred = {row.id for row in applied.deferred}
        e = t.provider_events.c
        done = [r.id for r in rows if r.id not in deferred]
        if done:
            await conn.execute(
                sa.update(t.provider_events)
                .where(among(conn, e.id, done), e.processed_at.is_(None))
                .values(processed_at=now)
            )
        for row in applied.deferred:
            _log.debug("provider event %s names a message not recorded yet or in flight; retrying", row.id)
            await self._retry_later(conn, row, now, "message not recorded yet or still in flight")
        return applied.webhooks

    async def _apply_one(
        self, conn: AsyncConnection, row: ProviderEventRow, now: int, endpoints: events.EndpointCache
    ) -> int:
        try:
            async with conn.begin_nested():
                return await self._apply(conn, [row], now, endpoints)
        except Exception as exc:
            _log.exception("provider event %s could not be applied", row.id)
            await self._retry_later(conn, row, now, repr(exc)[:500])
            return 0

    async def _retry_later(self, conn: AsyncConnection, row: ProviderEventRow, now: int, error: str) -> None:
        e = t.provider_events.c
        await conn.execute(
            sa.update(t.provider_events)
            .where(e.id == row.id)
            .values(
                attempts=row.attempts + 1,
                error=error,
                due_at=now + min(300_000, 500 * 2 ** min(row.attempts, 9)),
                processed_at=now if row.attempts >= 10 else None,
            )
        )

    async def _next_due(self, conn: AsyncConnection) -> int | None:
        """When the next event we may take is due: one of ours, one for any worker, or another
        worker's once it has waited SHARED_AFTER_MS. One statement (each minimum is a search of
        the unprocessed events' index, not a scan)."""
        e = t.provider_events.c
        pending = sa.select(sa.func.min(e.due_at)).where(e.processed_at.is_(None))
        if self._leases is None:
            first = (await conn.execute(pending)).scalar()
            return None if first is None else int(first)
        ours = sa.or_(e.shard.is_(None), among(conn, e.shard, sorted(self._leases.owned)))
        mine, theirs = (
            await conn.execute(
                sa.select(pending.where(ours).scalar_subquery(), pending.where(~ours).scalar_subquery())
            )
        ).one()
        due = [mine] + ([theirs + SHARED_AFTER_MS] if theirs is not None else [])
        return min((d for d in due if d is not None), default=None)

    def _schedule(self, next_due: int, now: int) -> None:
        if next_due <= now:
            # Due, yet not in our batch: another worker holds it (SKIP LOCKED) and is applying
            # it. Waking at once would spin on it until that worker commits; if that worker
            # dies, its rows come back and the poll or the next wake-up takes them.
            return
        if self._timer is not None:
            self._timer.cancel()
        delay = max(0.001, (next_due - now) / 1000)
        self._timer = asyncio.get_running_loop().call_later(delay, self.wake.set)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
