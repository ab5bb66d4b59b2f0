"""Backoff for transient provider errors: exponential with full jitter, honouring hints."""

from __future__ import annotations

import random


def backoff_seconds(
    attempt: int, *, base: float, cap: float, hint: float | None = None, rng: random.Random | None = None
) -> float:
    """Delay before attempt ``attempt + 1`` (``attempt`` >= 1 attempts already made)."""
    exp = min(cap, base * (2 ** max(0, attempt - 1)))
    jittered = exp / 2 + (rng or random).random() * exp / 2
    if hint is not None:
        return float(min(cap, max(hint, jittered)))
    return float(jittered)
