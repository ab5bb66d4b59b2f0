"""Provider callback secrets, decrypted once and kept briefly, so authenticating a callback costs
no database round trip and no decryption.

Meta signs every callback of an app with that app's secret, so Meta secrets are kept as one table
of apps (secret -> the numbers it speaks for), reloaded every ``ttl`` seconds, and at once (at most
every ``reload_gap`` seconds, so forged traffic cannot turn into a reload per request) when no
secret verifies a body. Evolution secrets are kept per number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MetaNumber:
    id: str
    phone_number_id: str
    waba_id: str


@dataclass(frozen=True)
class MetaApp:
    """One Meta app secret and the live numbers whose callbacks it signs."""

    secret: str
    numbers: tuple[MetaNumber, ...]


class CallbackSecrets:
    def __init__(self, ttl_seconds: float, *, reload_gap_seconds: float = 1.0) -> None:
        self._ttl_ms = int(ttl_seconds * 1000)
        self._gap_ms = int(reload_gap_seconds * 1000)
        self._meta: tuple[MetaApp, ...] | None = None
        self._meta_at = 0
        self._numbers: dict[str, tuple[int, dict[str, Any]]] = {}

    # -- Meta -----------------------------------------------------------------------------------

    def meta_apps(self, now_ms: int) -> tuple[MetaApp, ...] | None:
        """The app table, or None when it must be (re)loaded."""
        if self._meta is None or now_ms - self._meta_at > self._ttl_ms:
            return None
        return self._meta

    def may_reload_meta(self, now_ms: int) -> bool:
        """After a miss: whether a fresh load is allowed yet."""
        return now_ms - self._meta_at >= self._gap_ms

    def put_meta(self, apps: tuple[MetaApp, ...], now_ms: int) -> None:
        self._meta, self._meta_at = apps, now_ms

    def clear(self) -> None:
        """A number was added, changed or removed on this node: load afresh on the next
        callback (other nodes reload on a miss, or when ``ttl`` runs out)."""
        self._meta = None
        self._numbers.clear()

    # -- per number (Evolution) -----------------------------------------------------------------

    def number(self, key: str, now_ms: int) -> tuple[bool, dict[str, Any] | None]:
        """(found, credentials) of a live number; only numbers that exist are kept."""
        entry = self._numbers.get(key)
        if entry is None or now_ms - entry[0] > self._ttl_ms:
            return False, None
        return True, entry[1]

    def put_number(self, key: str, credentials: dict[str, Any], now_ms: int) -> None:
        if len(self._numbers) > 50_000:
            self._numbers.clear()
        self._numbers[key] = (now_ms, credentials)

    def forget(self) -> None:
        """A number was added, changed or removed on this node: read everything afresh."""
        self._meta = None
        self._meta_at = 0
        self._numbers.clear()
