"""Resolved API keys, cached briefly (revocation reaches every node within the TTL)."""

from __future__ import annotations

import time
from typing import Any


class KeyCache:
    """Resolved keys for a few seconds: revocation reaches every node within ``ttl``."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._entries: dict[str, tuple[float, Any]] = {}

    def get(self, lookup: str) -> tuple[bool, Any]:
        entry = self._entries.get(lookup)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, lookup: str, principal: Any) -> None:
        if len(self._entries) > 50_000:
            self._entries.clear()
        self._entries[lookup] = (time.monotonic() + self._ttl, principal)

    def forget_key(self, key_id: str) -> None:
        stale = [k for k, (_, p) in self._entries.items() if p is not None and p.key_id == key_id]
        for k in stale:
            del self._entries[k]

    def clear(self) -> None:
        self._entries.clear()
