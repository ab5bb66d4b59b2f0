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
    def now_ms(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


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
