"""Number leases: one worker owns a number's queue at a time, so it paces the number exactly and
keeps per-contact order. Leases are renewed by heartbeat; a dead worker's numbers move to the
others once its leases expire, with the messages it had claimed (fenced by the number lease:
whoever takes a number over from an expired lease frees its queued claims at once). Each worker
takes at most its fair share of numbers."""

from __future__ import annotations

import asyncio
import logging
import math

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate.container import Container
from zapgate.storage import message_store
from zapgate.storage import tables as t

_log = logging.getLogger("zapgate.leases")


class LeaseKeeper:
    def __init__(self, container: Container) -> None:
        self._c = container
        self._me = container.worker_id
        self._lease_ms = int(container.settings.number_lease_seconds * 1000)
        self._next_renewal = 0
        self._lock = asyncio.Lock()
        self.owned: set[str] = set()
        # Worker processes alive at the last renewal, this one included.
        self.live = 1
        # Our leases end here (the time the last renewal began + the lease). Sends stop a fifth
        # of a lease earlier, so that a renewal that is late (a stalled process, a slow
        # database) never lets us send for a number another worker may be taking over.
        self._valid_until = 0
        self._margin_ms = self._lease_ms // 5

    def holds(self, number_id: str, now_ms: int) -> bool:
        """Whether we may start a send for the number now."""
        return number_id in self.owned and now_ms < self._valid_until - self._margin_ms

    def seconds_to_renewal(self, now_ms: int) -> float:
        return max(0.0, (self._next_renewal - now_ms) / 1000)

    async def refresh(self, *, force: bool = False) -> set[str]:
        async with self._lock:
            return await self._refresh(force)

    async def _refresh(self, force: bool) -> set[str]:
        now = self._c.clock.now_ms()
        if not force and now < self._next_renewal:
            return self.owned
        async with self._c.db.write() as conn:
            await self._heartbeat(conn, now)
            await conn.execute(
                sa.update(t.number_leases)
                .where(t.number_leases.c.owner == self._me)
                .values(lease_until=now + self._lease_ms)
            )
            await self._take_free(conn, now)
            owned = (
                (
                    await conn.execute(
                        sa.select(t.number_leases.c.number_id).where(
                            t.number_leases.c.owner == self._me, t.number_leases.c.lease_until > now
                        )
                    )
                )
                .scalars()
                .all()
            )
            # Another worker's lease that stops being renewed (it died) runs out at a known
            # time: look again right then, so its numbers move within one lease of its last
            # renewal, not up to a renewal interval later.
            others_end = (
                await conn.execute(
                    sa.select(sa.func.min(t.number_leases.c.lease_until)).where(
                        t.number_leases.c.owner != self._me, t.number_leases.c.lease_until >= now
                    )
                )
            ).scalar()
        self.owned = set(owned)
        self._valid_until = now + self._lease_ms
        self._c.metrics.numbers_owned.set(len(self.owned))
        self._next_renewal = now + self._lease_ms // 3
        if others_end is not None:
            self._next_renewal = min(self._next_renewal, int(others_end) + 1)
        return self.owned

    async def _heartbeat(self, conn: AsyncConnection, now: int) -> None:
        w = t.workers.c
        updated = await conn.execute(sa.update(t.workers).where(w.id == self._me).values(heartbeat_at=now))
        if updated.rowcount == 0:
            await conn.execute(sa.insert(t.workers).values(id=self._me, heartbeat_at=now, started_at=now))
        await conn.execute(sa.delete(t.workers).where(w.heartbeat_at < now - 10 * self._lease_ms))

    async def _take_free(self, conn: AsyncConnection, now: int) -> None:
        n, lz, w = t.numbers.c, t.number_leases.c, t.workers.c
        total = (
            await conn.execute(
                sa.select(sa.func.count()).select_from(t.numbers).where(n.deleted_at.is_(None))
            )
        ).scalar_one()
        live = (
            await conn.execute(
                sa.select(sa.func.count()).select_from(t.workers).where(w.heartbeat_at > now - self._lease_ms)
            )
        ).scalar_one()
        mine = (
            await conn.execute(
                sa.select(sa.func.count()).select_from(t.number_leases).where(lz.owner == self._me)
            )
        ).scalar_one()
        self.live = max(1, int(live))
        share = math.ceil(total / self.live) - mine
        if share < 0:
            await self._release_excess(conn, -share)
            return
        if share == 0:
            return
        free = (
            await conn.execute(
                sa.select(n.id, lz.owner)
                .select_from(t.numbers.outerjoin(t.number_leases, lz.number_id == n.id))
                .where(n.deleted_at.is_(None), sa.or_(lz.number_id.is_(None), lz.lease_until < now))
                .order_by(n.id)
                .limit(share)
            )
        ).all()
        taken_over = []
        for number_id, previous_owner in free:
            taken = (await conn.execute(self._upsert(number_id, now))).rowcount == 1
            if taken and previous_owner is not None and previous_owner != self._me:
                taken_over.append(number_id)
        if taken_over:
            # Its previous owner's lease ran out (a worker killed, or stuck past its lease):
            # the messages it had claimed move now, not when their own, longer lease would
            # end. One it was still sending may go out twice (at-least-once, as documented).
            freed = await message_store.release_claims(conn, taken_over, now)
            if freed:
                _log.warning(
                    "took over %d number(s) from a worker whose lease ran out; %d "
                    "message(s) it had claimed are queued again",
                    len(taken_over),
                    freed,
                )

    async def _release_excess(self, conn: AsyncConnection, count: int) -> None:
        """More workers are alive than when we took our numbers: hand some back so the others
        can take them (a number is never owned by two workers: it is free in between)."""
        lz = t.number_leases.c
        excess = (
            (
                await conn.execute(
                    sa.select(lz.number_id)
                    .where(lz.owner == self._me)
                    .order_by(lz.number_id.desc())
                    .limit(count)
                )
            )
            .scalars()
            .all()
        )
        await conn.execute(sa.delete(t.number_leases).where(lz.owner == self._me, lz.number_id.in_(excess)))

    def _upsert(self, number_id: str, now: int) -> sa.Executable:
        dialect = postgresql if not self._c.db.is_sqlite else sqlite
        stmt = dialect.insert(t.number_leases).values(
            number_id=number_id, owner=self._me, lease_until=now + self._lease_ms
        )
        upsert: sa.Executable = stmt.on_conflict_do_update(
            index_elements=[t.number_leases.c.number_id],
            set_={"owner": self._me, "lease_until": now + self._lease_ms},
            where=t.number_leases.c.lease_until < now,
        )
        return upsert

    async def release_all(self) -> None:
        self._valid_until = 0
        async with self._c.db.write() as conn:
            await conn.execute(sa.delete(t.number_leases).where(t.number_leases.c.owner == self._me))
            await conn.execute(sa.delete(t.workers).where(t.workers.c.id == self._me))
        self.owned = set()
