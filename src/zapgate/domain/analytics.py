"""Delivery figures of one number over a period, as records (pure): the period's window of local
days, what the store counts in it (:class:`PeriodCounts`) and the figures computed from those
counts (:class:`Figures`). The definitions of the figures are in ``services.analytics``."""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from zapgate.domain.lifecycle import Status

PERIODS = {"7d": 7, "30d": 30, "90d": 90}
DEFAULT_PERIOD = "30d"
DEFAULT_ZONE = "UTC"
SENT = frozenset({Status.SENT, Status.DELIVERED, Status.READ})
DISTRIBUTION = (Status.QUEUED, Status.SENT, Status.DELIVERED, Status.READ, Status.FAILED, Status.CANCELED)


# -- the query and its window ----------------------------------------------------------------


@dataclass(frozen=True)
class DashboardQuery:
    """One number's figures over the last ``period`` days (a key of :data:`PERIODS`), the days
    being local to the IANA time zone ``zone_name`` (both checked: see ``web.views.analytics``)."""

    number_id: str
    period: str = DEFAULT_PERIOD
    zone_name: str = DEFAULT_ZONE


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


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def known_zone(name: str | None) -> bool:
    return name == DEFAULT_ZONE or name in _zone_names()


def zone(name: str | None) -> tuple[str, tzinfo]:
    """The IANA time zone called ``name`` (``UTC`` when absent). A name this server does not
    know is a ``ValueError`` (requests are checked first: ``web.views.analytics``)."""
    if name is None or name == "":
        name = DEFAULT_ZONE
    if name == DEFAULT_ZONE:  # needs no tz database
        return name, UTC
    if not known_zone(name):
        raise ValueError(f"Unknown time zone: {name[:64]}")
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


# -- what the store counts -------------------------------------------------------------------


@dataclass(frozen=True)
class SlotCount:
    """The period's messages of one status created in one slot (``Window.slot_ms`` long, the
    ``slot``-th from ``Window.start``)."""

    status: Status
    slot: int
    count: int
    delivered: int  # of them, with a delivery receipt


@dataclass(frozen=True)
class StatusCount:
    status: Status
    count: int


@dataclass(frozen=True)
class Latency:
    """Nearest-rank percentiles of the time from due to delivered, in whole milliseconds;
    None when nothing was delivered."""

    p50: int | None = None
    p95: int | None = None


@dataclass(frozen=True)
class PeriodCounts:
    """One window's counts: the period's per status and slot, the previous period's per
    status, and the period's time to delivered."""

    slots: tuple[SlotCount, ...]
    previous: tuple[StatusCount, ...]
    latency: Latency


# -- the figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    day: date
    count: int


@dataclass(frozen=True)
class Figures:
    """One number's figures over a window (percentages rounded to 2 decimals)."""

    total_sent: int
    total_failed: int
    # Versus the previous period; 0.0 when both are 0, 100.0 when the previous one had none.
    sent_percent_change: float
    failed_percent_change: float
    previous_sent: int
    previous_failed: int
    failure_rate: float
    daily_messages: tuple[DayCount, ...]
    daily_sent: tuple[DayCount, ...]
    daily_failed: tuple[DayCount, ...]
    status_distribution: tuple[StatusCount, ...]  # every status of DISTRIBUTION, in its order
    latency: Latency
    period: str
    zone_name: str
    start: int  # epoch ms: the period's first local midnight
    now: int  # epoch ms: the end of the period (inclusive)
