"""Per-number token bucket."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

# Seconds from an arbitrary origin, never going back: the dispatcher passes its container's
# ``clock.monotonic`` (a ``FakeClock``'s in tests); ``time.monotonic`` when none is given.
Clock = Callable[[], float]


class TokenBucket:
    """``rate`` tokens a second into a bucket of ``burst`` (default: ``rate``, at least 1),
    full at the start."""

    def __init__(self, rate: float, burst: float | None = None, *, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self._clock = clock
        self._tokens = self.burst
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def available(self) -> int:
        self._refill()
        return int(self._tokens)

    def take(self, n: int = 1) -> None:
        self._refill()
        self._tokens -= n

    def seconds_until_token(self) -> float:
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate


class GapPacer:
    """One message at a time with a randomised gap: ``1/rate`` seconds +- ``jitter`` (relative),
    never a burst. For unofficial numbers, where a robot's regular rhythm is what gets numbers
    banned (0.5 msg/s with jitter 0.5 gives gaps of 1-3 s)."""

    def __init__(
        self, rate: float, jitter: float, rng: random.Random | None = None, *, clock: Clock = time.monotonic
    ) -> None:
        self.rate = rate
        self.jitter = jitter
        self._rng = rng or random.Random()
        self._clock = clock
        self._next = clock()

    def available(self) -> int:
        return 1 if self._clock() >= self._next else 0

    def take(self, n: int = 1) -> None:
        for _ in range(n):
            gap = (1 / self.rate) * (1 + self.jitter * (2 * self._rng.random() - 1))
            self._next = max(self._next, self._clock()) + gap

    def seconds_until_token(self) -> float:
        return max(0.0, self._next - self._clock())


Pacer = TokenBucket | GapPacer
