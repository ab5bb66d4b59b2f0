"""Resolved API keys, cached briefly (revocation reaches every node within the TTL)."""

from __future__ import annotations

from typing import Any

from zapgate.clock import Clock, SystemClock


class KeyCache:
    """Resolved keys for a few seconds: revocation reaches every node within ``ttl``.

    Time is the ``clock``'s monotonic reading (the container's clock; a ``FakeClock`` in tests).
    An entry is served for less than ``ttl`` seconds, so a ``ttl`` of 0 caches nothing."""

    def __init__(self, ttl: float, *, clock: Clock | None = None) -> None:
        self._ttl = ttl
        self._clock = clock or SystemClock()
        self._entries: dict[str, tuple[float, Any]] = {}

    def get(self, lookup: str) -> tuple[bool, Any]:
        entry = self._entries.get(lookup)
        if entry is None or entry[0] <= self._clock.monotonic():
            return False, None
        return True, entry[1]

    def put(self, lookup: str, principal: Any) -> None:
        if len(self._entries) > 50_000:
            self._entries.clear()
        self._entries[lookup] = (self._clock.monotonic() + self._ttl, principal)

    def forget_key(self, key_id: str) -> None:
        stale = [k for k, (_, p) in self._entries.items() if p is not None and p.key_id == key_id]
        for k in stale:
            del self._entries[k]

    def clear(self) -> None:
        self._entries.clear()
