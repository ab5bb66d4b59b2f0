"""The 24-hour customer-service window (Meta rules)."""

from __future__ import annotations

WINDOW_MS = 24 * 3600 * 1000


def is_open(last_inbound_at: int | None, now_ms: int) -> bool:
    return last_inbound_at is not None and now_ms - last_inbound_at < WINDOW_MS
