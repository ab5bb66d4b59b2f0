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
  rounded to 2 decimals; always a number, as the SDK types it: when the previous period had
  none, ``100`` if this one has some and ``0`` if it has none too (``previousTotalSent`` /
  ``previousTotalFailed``, additive, tell that case apart).
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

The SQL is ``storage.repositories.analytics``'s (it counts per status and time slot; the slots
are summed into local days here); the query parameters and the JSON shape are
``web.views.analytics``'s.
"""

from __future__ import annotations

from collections import Counter

from zapgate.container import Container
from zapgate.domain.analytics import (
    DISTRIBUTION,
    SENT,
    DashboardQuery,
    DayCount,
    Figures,
    PeriodCounts,
    StatusCount,
    Window,
    window,
    zone,
)
from zapgate.domain.lifecycle import Status

__all__ = ["dashboard", "has_messages", "window", "zone"]


async def dashboard(container: Container, query: DashboardQuery) -> Figures:
    """The figures of ``GET /v1/analytics/dashboard`` for one number (see the module doc)."""
    win = window(container.clock.now_ms(), query.period, *zone(query.zone_name))
    counts = await container.repos.analytics.period_counts(query.number_id, win)
    return _figures(win, counts)


async def has_messages(container: Container, *, number_id: str) -> bool:
    """Whether the number ever queued a message (the overview's empty state)."""
    return await container.repos.analytics.has_messages(number_id)


def _figures(win: Window, counts: PeriodCounts) -> Figures:
    statuses: Counter[Status] = Counter()
    for g in counts.slots:
        statuses[g.status] += g.count
    previous = {c.status: c.count for c in counts.previous}
    sent = sum(statuses[s] for s in SENT)
    failed = statuses[Status.FAILED]
    previous_sent = sum(previous.get(s, 0) for s in SENT)
    previous_failed = previous.get(Status.FAILED, 0)
    rate = _percent(failed, sent + failed)
    return Figures(
        total_sent=sent,
        total_failed=failed,
        sent_percent_change=_change(sent, previous_sent),
        failed_percent_change=_change(failed, previous_failed),
        previous_sent=previous_sent,
        previous_failed=previous_failed,
        failure_rate=rate if rate is not None else 0.0,
        daily_messages=_daily(win, counts, None),
        daily_sent=_daily(win, counts, SENT),
        daily_failed=_daily(win, counts, frozenset({Status.FAILED})),
        status_distribution=tuple(StatusCount(s, statuses[s]) for s in DISTRIBUTION),
        latency=counts.latency,
        period=win.period,
        zone_name=win.zone_name,
        start=win.start,
        now=win.end - 1,
    )


def _daily(win: Window, counts: PeriodCounts, only: frozenset[Status] | None) -> tuple[DayCount, ...]:
    per_day = [0] * len(win.days)
    for g in counts.slots:
        if only is None or g.status in only:
            per_day[win.day_index(win.start + g.slot * win.slot_ms)] += g.count
    return tuple(DayCount(day, n) for day, n in zip(win.days, per_day, strict=True))


def _change(current: int, previous: int) -> float:
    if not previous:
        return 100.0 if current else 0.0
    return round((current - previous) / previous * 100, 2)


def _percent(part: int, whole: int) -> float | None:
    return round(part / whole * 100, 2) if whole else None
