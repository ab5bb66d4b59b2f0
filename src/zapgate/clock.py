"""Time in one place: epoch milliseconds inside, ISO-8601 UTC with milliseconds at the edges."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


def iso(ms: int | None) -> str | None:
    """Epoch milliseconds to the API's timestamp form, e.g. ``2026-02-24T15:00:00.000Z``."""
    if ms is None:
        return None
    seconds, millis = divmod(ms, 1000)
    text = _EPOCH_SECOND_CACHE.get(seconds)
    if text is None:
        text = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        if len(_EPOCH_SECOND_CACHE) > 4096:
            _EPOCH_SECOND_CACHE.clear()
        _EPOCH_SECOND_CACHE[seconds] = text
    return f"{text}{millis:03d}Z"


# Formatting dominates on hot paths and most timestamps fall in a few recent seconds.
_EPOCH_SECOND_CACHE: dict[int, str] = {}


def parse_iso(value: str) -> int:
    """ISO-8601 string to epoch milliseconds. Naive times are taken as UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def month_start_ms(now_ms: int) -> int:
    dt = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    start = dt.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(start.timestamp() * 1000)
