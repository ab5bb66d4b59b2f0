"""Provider callback secrets, decrypted once and kept briefly, so authenticating a callback costs
no database round trip and no decryption.

What is kept is each adapter's own prepared keys (``Provider.callback_keys``), opaque here: for a
kind whose callbacks share one URL (``CallbackScope.APP``, Meta) one table for all its live
numbers, reloaded every ``ttl`` seconds, and at once (at most every ``reload_gap`` seconds, so
forged traffic cannot turn into a reload per request) when it does not authenticate a body; for
a kind with a URL per number (Evolution), the keys of each number.
"""

from __future__ import annotations


class CallbackSecrets:
    def __init__(self, ttl_seconds: float, *, reload_gap_seconds: float = 1.0) -> None:
        self._ttl_ms = int(ttl_seconds * 1000)
        self._gap_ms = int(reload_gap_seconds * 1000)
        self._apps: dict[str, tuple[int, object]] = {}
        self._loaded_at: dict[str, int] = {}
        self._numbers: dict[tuple[str, str], tuple[int, object]] = {}

    # -- one table per kind (CallbackScope.APP) ------------------------------------------------

    def app(self, kind: str, now_ms: int) -> tuple[bool, object]:
        """(found, keys): not found when the table must be (re)loaded."""
        entry = self._apps.get(kind)
        if entry is None or now_ms - entry[0] > self._ttl_ms:
            return False, None
        return True, entry[1]

    def may_reload(self, kind: str, now_ms: int) -> bool:
        """After a refusal: whether a fresh load is allowed yet."""
        return now_ms - self._loaded_at.get(kind, -self._gap_ms) >= self._gap_ms

    def put_app(self, kind: str, keys: object, now_ms: int) -> None:
        self._apps[kind] = (now_ms, keys)
        self._loaded_at[kind] = now_ms

    # -- per number (CallbackScope.NUMBER) -----------------------------------------------------

    def number(self, kind: str, number_id: str, now_ms: int) -> tuple[bool, object]:
        """(found, keys) of a live number; only numbers that exist are kept."""
        entry = self._numbers.get((kind, number_id))
        if entry is None or now_ms - entry[0] > self._ttl_ms:
            return False, None
        return True, entry[1]

    def put_number(self, kind: str, number_id: str, keys: object, now_ms: int) -> None:
        if len(self._numbers) > 50_000:
            self._numbers.clear()
        self._numbers[(kind, number_id)] = (now_ms, keys)

    def clear(self) -> None:
        """A number was added, changed or removed on this node: load afresh on the next
        callback (other nodes reload on a refusal, or when ``ttl`` runs out)."""
        self._apps.clear()
        self._numbers.clear()
