"""Short-lived caches: resolved API keys, and the accept path's numbers and templates."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from zapgate.clock import Clock, SystemClock

V = TypeVar("V")


class TtlCache(Generic[V]):
    """Values for a few seconds: a change made by another process reaches this one within ``ttl``.

    Time is the ``clock``'s monotonic reading (the container's clock; a ``FakeClock`` in tests).
    An entry is served for less than ``ttl`` seconds, so a ``ttl`` of 0 caches nothing. Past
    ``limit`` entries the cache starts again empty (cheaper than tracking use)."""

    def __init__(self, ttl: float, *, clock: Clock | None = None, limit: int = 50_000) -> None:
        self._ttl = ttl
        self._clock = clock or SystemClock()
        self._limit = limit
        self._entries: dict[str, tuple[float, V]] = {}

    def get(self, lookup: str) -> tuple[bool, V | None]:
        entry = self._entries.get(lookup)
        if entry is None or entry[0] <= self._clock.monotonic():
            return False, None
        return True, entry[1]

    def put(self, lookup: str, value: V) -> None:
        if len(self._entries) > self._limit:
            self._entries.clear()
        self._entries[lookup] = (self._clock.monotonic() + self._ttl, value)

    def clear(self) -> None:
        self._entries.clear()


class KeyCache(TtlCache[Any]):
    """Resolved keys (a principal, or None for a key that does not exist): revocation reaches
    every node within ``ttl``; this process's own revocations forget at once."""

    def forget_key(self, key_id: str) -> None:
        stale = [k for k, (_, p) in self._entries.items() if p is not None and p.key_id == key_id]
        for k in stale:
            del self._entries[k]
