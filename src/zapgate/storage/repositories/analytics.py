"""Delivery figures, read side: what one number's messages count in a window.

Portable SQL only (SQLite and PostgreSQL), all on the ``(number_id, created_at)`` index: the
period's messages are counted per status and time slot (integer division of
``created_at - start``; a slot is a whole day, or an hour when the period has a DST change) and
the service sums the slots into local days, every local midnight being a slot bound, so a busy
number's 100k messages come back as at most a few thousand groups; one ``GROUP BY status`` for
the previous period; both percentiles come from one ``row_number() OVER (ORDER BY ...)`` over
the delivered messages of the period.
"""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate.domain.analytics import Latency, PeriodCounts, SlotCount, StatusCount, Window
from zapgate.domain.lifecycle import Status
from zapgate.storage import tables as t
from zapgate.storage.database import Database

_m = t.messages.c


class AnalyticsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def period_counts(self, number_id: str, win: Window) -> PeriodCounts:
        """The window's counts, read in one connection."""
        async with self._db.read() as conn:
            groups = (await conn.execute(_slots_query(number_id, win))).all()
            previous = (await conn.execute(_previous_query(number_id, win))).all()
            latency = await _latency(conn, number_id, win, sum(g.delivered for g in groups))
        return PeriodCounts(
            slots=tuple(
                SlotCount(status=Status(g.status), slot=int(g.slot), count=g.n, delivered=g.delivered)
                for g in groups
            ),
            previous=tuple(StatusCount(status=Status(status), count=n) for status, n in previous),
            latency=latency,
        )

    async def has_messages(self, number_id: str) -> bool:
        """Whether the number ever queued a message."""
        query = sa.select(_m.id).where(_m.number_id == number_id).limit(1)
        async with self._db.read() as conn:
            return (await conn.execute(query)).first() is not None


def _in_period(number_id: str, win: Window) -> sa.ColumnElement[bool]:
    m = t.messages.c
    return sa.and_(m.number_id == number_id, m.created_at >= win.start, m.created_at < win.end)


def _slots_query(number_id: str, win: Window) -> sa.Select[Any]:
    """The period's messages counted per status and slot (see ``Window.slot_ms``): days add
    up from slots without a row per message."""
    m = t.messages.c
    # Inlined (ints we computed) so the SELECT and GROUP BY expressions are identical.
    start = sa.literal_column(str(int(win.start)), sa.BigInteger)
    size = sa.literal_column(str(int(win.slot_ms)), sa.BigInteger)
    slot = ((m.created_at - start) // size).label("slot")
    return (
        sa.select(
            m.status, slot, sa.func.count().label("n"), sa.func.count(m.delivered_at).label("delivered")
        )
        .where(_in_period(number_id, win))
        .group_by(m.status, slot)
    )


def _previous_query(number_id: str, win: Window) -> sa.Select[Any]:
    m = t.messages.c
    return (
        sa.select(m.status, sa.func.count())
        .where(m.number_id == number_id, m.created_at >= win.previous_start, m.created_at < win.start)
        .group_by(m.status)
    )


async def _latency(conn: AsyncConnection, number_id: str, win: Window, count: int) -> Latency:
    """Nearest-rank p50 and p95 of the time to delivered, from one sort of the delivered."""
    ranks = {name: max(1, math.ceil(q * count)) for name, q in (("p50", 0.50), ("p95", 0.95))}
    if not count:
        return Latency()
    m = t.messages.c
    due = sa.case((m.deliver_at > m.created_at, m.deliver_at), else_=m.created_at)
    latency = (m.delivered_at - due).label("ms")
    ranked = (
        sa.select(latency, sa.func.row_number().over(order_by=latency).label("pos"))
        .where(_in_period(number_id, win), m.delivered_at.is_not(None))
        .subquery()
    )
    found = dict(
        (
            await conn.execute(
                sa.select(ranked.c.pos, ranked.c.ms).where(ranked.c.pos.in_(set(ranks.values())))
            )
        ).all()
    )
    return Latency(p50=_ms(found.get(ranks["p50"])), p95=_ms(found.get(ranks["p95"])))


def _ms(value: Any) -> int | None:
    return None if value is None else max(0, int(value))
