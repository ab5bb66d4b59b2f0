"""Delivery figures of one number over a period: ``GET /v1/analytics/dashboard`` and the
dashboard's overview page read the same function, :func:`dashboard`.

Definitions (every figure counts the number's outbound messages; a message belongs to the period
in which it was *created*):

- **period** — ``7d``, ``30d`` (default) or ``90d``: the last N calendar days in the time zone
  ``tz`` (IANA name, default ``UTC``), today included, i.e. from local midnight N-1 days ago up
  to now.
- **previous period** — the span of the same length (in milliseconds) that ends where the period
  starts, so a partly elapsed today is compared with an equally long span.
- ``totalSent`` — messages of the period that left the queue and did not fail: status ``SENT``,
  ``DELIVERED`` or ``READ``.
- ``totalFailed`` — messages of the period with status ``FAILED``.
- ``sentPercentChange`` / ``failedPercentChange`` — ``(current - previous) / previous * 100``,
  rounded to 2 decimals; ``null`` when the previous period had none.
- ``failureRate`` — ``totalFailed / (totalSent + totalFailed) * 100``, rounded to 2 decimals;
  ``0`` when both are 0. Queued and canceled messages are not part of it.
- ``dailyMessages`` — one entry per local day of the period, oldest first,
  ``{date: "YYYY-MM-DD", count}``: messages created that day (any status); days without
  messages count 0.
- ``dailySent`` / ``dailyFailed`` (additive) — the same days, counting only the messages that
  ``totalSent`` / ``totalFailed`` count, so they add up to those totals.
- ``statusDistribution`` — messages of the period by current status:
  ``{queued, sent, delivered, read, failed, canceled}`` (counts; ``canceled`` is additive).
- ``deliveryLatencyMs`` (additive) — ``{p50, p95}`` of the time from when a message was due
  (its creation, or its ``deliverAt`` when it was scheduled) to its delivery receipt, over the
  period's messages that reached ``DELIVERED`` or ``READ``; nearest-rank percentiles in whole
  milliseconds; both ``null`` when no message of the period was delivered.
- ``period``, ``timezone``, ``from``, ``to`` (additive) — what was computed: the period key, the
  time zone, and the window as ISO-8601 UTC (``to`` is now).

Portable SQL only (SQLite and PostgreSQL), all on the ``(number_id, created_at)`` index: the
period's messages are counted per status and time slot (integer division of
``created_at - start``; a slot is a whole day, or an hour when the period has a DST change) and
the slots are summed into local days here, every local midnight being a slot bound, so a busy
number's 100k messages come back as at most a few thousand groups; one ``GROUP BY status`` for
the previous period; both percentiles come from one ``row_number() OVER (ORDER BY ...)`` over
the delivered messages of the period.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate import errors
from zapgate.clock import iso
from zapgate.container import Container
from zapgate.domain.lifecycle import Status
from zapgate.storage import tables as t

PERIODS = {"7d": 7, "30d": 30, "90d": 90}
DEFAULT_PERIOD = "30d"
DEFAULT_ZONE = "UTC"
SENT = frozenset({Status.SENT, Status.DELIVERED, Status.READ})
DISTRIBUTION = (Status.QUEUED, Status.SENT, Status.DELIVERED, Status.READ, Status.FAILED, Status.CANCELED)


@dataclass(frozen=True)
class Window:
    """The period's local days and their bounds in epoch milliseconds."""

    period: str
    zone_name: str
    days: tuple[date, ...]
    bounds: tuple[int, ...]  # local midnight of each day, then of the day after the last
    start: int
    end: int  # exclusive: now + 1 ms
    # Messages are counted per slot of this many ms from ``start``, a divisor of every day's
    # length: no slot spans a local midnight. A whole day without a DST change in the period,
    # else 1 h (30 min for Lord Howe Island).
    slot_ms: int

    @property
    def previous_start(self) -> int:
        return self.start - (self.end - self.start)

    def day_index(self, ms: int) -> int:
        return bisect.bisect_right(self.bounds, ms) - 1


# -- parameters ------------------------------------------------------------------------------


def period_key(value: str | None) -> str:
    if value is None or value == "":
        return DEFAULT_PERIOD
    if value not in PERIODS:
        raise errors.ValidationFailed(
            "period must be one of 7d, 30d, 90d",
            details=[{"field": "period", "message": "must be one of 7d, 30d, 90d"}],
        )
    return value


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def known_zone(name: str | None) -> bool:
    return name == DEFAULT_ZONE or name in _zone_names()


def zone(name: str | None) -> tuple[str, tzinfo]:
    """The IANA time zone called ``name`` (``UTC`` when absent)."""
    if name is None or name == "":
        name = DEFAULT_ZONE
    if name == DEFAULT_ZONE:  # needs no tz database
        return name, UTC
    if not known_zone(name):
        raise errors.ValidationFailed(
            f"Unknown time zone: {name[:64]}",
            details=[{"field": "tz", "message": "must be an IANA time zone name, e.g. Europe/Lisbon"}],
        )
    return name, ZoneInfo(name)


def window(now_ms: int, period: str, zone_name: str, tz: tzinfo) -> Window:
    today = datetime.fromtimestamp(now_ms / 1000, tz).date()
    count = PERIODS[period]
    days = tuple(today - timedelta(days=count - 1 - i) for i in range(count))
    bounds = tuple(_midnight(d, tz) for d in (*days, today + timedelta(days=1)))
    slot = math.gcd(*(b - a for a, b in itertools.pairwise(bounds)))
    return Window(period, zone_name, days, bounds, bounds[0], now_ms + 1, slot)


def _midnight(day: date, tz: tzinfo) -> int:
    return int(datetime.combine(day, time(), tzinfo=tz).timestamp() * 1000)


# -- the figures -----------------------------------------------------------------------------


async def dashboard(
    container: Container, *, number_id: str, period: str | None = None, tz: str | None = None
) -> dict[str, Any]:
    """The figures of ``GET /v1/analytics/dashboard`` for one number (see the module doc)."""
    zone_name, zone_info = zone(tz)
    win = window(container.clock.now_ms(), period_key(period), zone_name, zone_info)
    async with container.db.read() as conn:
        groups = (await conn.execute(_slots_query(number_id, win))).all()
        previous = dict((await conn.execute(_previous_query(number_id, win))).all())
        latency = await _latency(conn, number_id, win, sum(g.delivered for g in groups))
    return _figures(win, groups, previous, latency)


async def has_messages(container: Container, *, number_id: str) -> bool:
    """Whether the number ever queued a message (the overview's empty state)."""
    query = sa.select(t.messages.c.id).where(t.messages.c.number_id == number_id).limit(1)
    async with container.db.read() as conn:
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


async def _latency(conn: AsyncConnection, number_id: str, win: Window, count: int) -> dict[str, int | None]:
    """Nearest-rank p50 and p95 of the time to delivered, from one sort of the delivered."""
    ranks = {name: max(1, math.ceil(q * count)) for name, q in (("p50", 0.50), ("p95", 0.95))}
    if not count:
        return dict.fromkeys(ranks)
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
    return {name: _ms(found.get(rank)) for name, rank in ranks.items()}


def _ms(value: Any) -> int | None:
    return None if value is None else max(0, int(value))


def _figures(
    win: Window, groups: Sequence[Any], previous: dict[str, int], latency: dict[str, int | None]
) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    for g in groups:
        statuses[g.status] += g.n
    sent = sum(statuses[s] for s in SENT)
    failed = statuses[Status.FAILED]
    rate = _percent(failed, sent + failed)
    return {
        "totalSent": sent,
        "totalFailed": failed,
        "sentPercentChange": _change(sent, sum(previous.get(s, 0) for s in SENT)),
        "failedPercentChange": _change(failed, previous.get(Status.FAILED, 0)),
        "failureRate": rate if rate is not None else 0.0,
        "dailyMessages": _daily(win, groups, None),
        "statusDistribution": {s.lower(): statuses[s] for s in DISTRIBUTION},
        "dailySent": _daily(win, groups, SENT),
        "dailyFailed": _daily(win, groups, frozenset({Status.FAILED})),
        "deliveryLatencyMs": latency,
        "period": win.period,
        "timezone": win.zone_name,
        "from": iso(win.start),
        "to": iso(win.end - 1),
    }


def _daily(
    win: Window,
    groups: Sequence[Any],
    only: frozenset[Status] | None,
) -> list[dict[str, Any]]:
    counts = [0] * len(win.days)
    for g in groups:
        if only is None or g.status in only:
            counts[win.day_index(win.start + g.slot * win.slot_ms)] += g.n
    return [{"date": day.isoformat(), "count": n} for day, n in zip(win.days, counts, strict=True)]


def _change(current: int, previous: int) -> float | None:
    return _percent(current - previous, previous)


def _percent(part: int, whole: int) -> float | None:
    return round(part / whole * 100, 2) if whole else None
