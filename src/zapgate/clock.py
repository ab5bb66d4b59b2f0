"""Time in one place: epoch milliseconds inside, ISO-8601 UTC with milliseconds at the edges."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

# The dates a request may carry (UTC): wide enough for any schedule, deadline or log filter,
# narrow enough that every stored timestamp has a plain four-digit year.
EARLIEST_YEAR = 2000
LATEST_YEAR = 2099
EARLIEST_MS = 946_684_800_000  # 2000-01-01T00:00:00.000Z
LATEST_MS = 4_102_444_799_999  # 2099-12-31T23:59:59.999Z
BOUNDS_TEXT = f"between {EARLIEST_YEAR}-01-01 and {LATEST_YEAR}-12-31 (UTC)"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
_GREGORIAN_CYCLE_SECONDS = 146_097 * 86_400  # 400 years; the calendar repeats after them


class Clock(Protocol):
    """Wall time for what is stored and compared across processes (``now_ms``), and a monotonic
    reading for in-process intervals: caches, sign-in windows, pacing (``monotonic``)."""

    def now_ms(self) -> int:
        """Epoch milliseconds."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, never going back."""
        ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that moves only when told, for tests: ``build_container(settings, clock=clock)``
    (or ``KeyCache(ttl, clock=clock)``, ...), then ``clock.advance(seconds)`` instead of sleeping,
    so a TTL, window or lease is tested exactly and as fast on a slow machine as on a quick one.

    It starts at ``start_ms`` (default: the real time now, so rows written elsewhere with a real
    clock still compare sensibly); ``advance`` moves both readings, ``set_ms`` sets the wall time
    only (the monotonic reading never goes back). A server thread may read it while the test
    moves it: each reading is one attribute read."""

    def __init__(self, start_ms: int | None = None, *, monotonic_start: float = 1_000.0) -> None:
        self._wall_ns = (time.time_ns() // 1_000_000 if start_ms is None else start_ms) * 1_000_000
        self._mono_ns = round(monotonic_start * 1e9)

    def now_ms(self) -> int:
        return self._wall_ns // 1_000_000

    def monotonic(self) -> float:
        return self._mono_ns / 1e9

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass (both readings); rounded to the nanosecond."""
        if seconds < 0:
            raise ValueError("a clock does not go back: use set_ms for the wall time")
        step = round(seconds * 1e9)
        self._wall_ns += step
        self._mono_ns += step

    def set_ms(self, ms: int) -> None:
        """Set the wall time (epoch milliseconds); the monotonic reading does not move."""
        self._wall_ns = ms * 1_000_000


class DateOutOfRange(ValueError):
    """An ISO-8601 date-time outside :data:`EARLIEST_MS` .. :data:`LATEST_MS`."""


def iso(ms: int | None) -> str | None:
    """Epoch milliseconds to the API's timestamp form, e.g. ``2026-02-24T15:00:00.000Z``.

    Total: any integer formats, a value outside years 0-9999 in the expanded form JavaScript's
    ``Date`` also writes (``+010000-01-01T00:00:00.000Z``), so a bad stored value cannot break a
    read."""
    if ms is None:
        return None
    seconds, millis = divmod(ms, 1000)
    text = _EPOCH_SECOND_CACHE.get(seconds)
    if text is None:
        text = _second_text(seconds)
        if len(_EPOCH_SECOND_CACHE) > 4096:
            _EPOCH_SECOND_CACHE.clear()
        _EPOCH_SECOND_CACHE[seconds] = text
    return f"{text}{millis:03d}Z"


# Formatting dominates on hot paths and most timestamps fall in a few recent seconds.
_EPOCH_SECOND_CACHE: dict[int, str] = {}


def _second_text(seconds: int) -> str:
    # Shifting by whole 400-year cycles keeps datetime inside its years 1-9999 for any input.
    cycles, rest = divmod(seconds, _GREGORIAN_CYCLE_SECONDS)
    dt = _EPOCH + timedelta(seconds=rest)
    year = dt.year + 400 * cycles
    year_text = f"{year:04d}" if 0 <= year <= 9999 else f"{year:+07d}"
    return f"{year_text}-{dt:%m-%dT%H:%M:%S}."


def parse_iso(value: str) -> int:
    """ISO-8601 string to epoch milliseconds. Naive times are taken as UTC.

    Raises ``ValueError`` when the text is not ISO-8601, and its subclass
    :class:`DateOutOfRange` when the moment falls outside :data:`BOUNDS_TEXT`."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    # Exact integer arithmetic: ``timestamp() * 1000`` loses a millisecond to float rounding.
    ms = (dt - _EPOCH) // _ONE_MS
    if not EARLIEST_MS <= ms <= LATEST_MS:
        raise DateOutOfRange(f"{value!r} is not {BOUNDS_TEXT}")
    return ms


def month_start_ms(now_ms: int) -> int:
    dt = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    start = dt.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(start.timestamp() * 1000)
