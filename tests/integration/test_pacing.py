"""Pacing that holds (issue 10 point 6), on a fake clock: the per-number token bucket of official
numbers never lets more than its bucket through at once and meets its rate over a long window;
the gap pacer of unofficial numbers sends one at a time, 1-3 s apart at its defaults. The
consumers below drive the pacers as the dispatcher does (``available()`` -> ``take()`` per message
claimed, then a wake-up ``max(1 ms, seconds_until_token())`` later), so no test here depends on
how fast the machine is. End to end over the simulators: tests/integration/providers/
test_pacing_e2e.py; measured at scale: bench/pacing.py."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from typing import Any

import pytest

from zapgate.providers.registry import build_registry
from zapgate.workers.pacing import GapPacer, TokenBucket

MIN_WAKE = 0.001  # the dispatcher's floor for a wake-up (Dispatcher._wake_in)


class FakeClock:
    def __init__(self, start: float = 10_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


def drive(
    bucket: TokenBucket,
    clock: FakeClock,
    *,
    seconds: float,
    lateness: float = 0.0,
    max_claim: int = 200,
    rng: random.Random | None = None,
) -> list[tuple[float, int]]:
    """Consume like the dispatcher for ``seconds`` of fake time: take every token available (at
    most ``max_claim`` per claim), otherwise sleep until the next token, waking up to
    ``lateness`` seconds late (a busy event loop). Returns ``(time, messages)`` per claim."""
    rng = rng or random.Random(1)
    end = clock() + seconds
    claims: list[tuple[float, int]] = []
    while clock() < end:
        n = min(bucket.available(), max_claim)
        if n:
            for _ in range(n):
                bucket.take()
            claims.append((clock(), n))
            wait = 0.0 if n == max_claim else bucket.seconds_until_token()
        else:
            wait = bucket.seconds_until_token()
        clock.advance(max(MIN_WAKE, wait) + rng.random() * lateness)
    return claims


def needed_depth(claims: list[tuple[float, int]], rate: float) -> float:
    """The smallest bucket depth that explains the sends at ``rate``: the largest
    ``sends(t_i..t_j) - rate * (t_j - t_i)`` over every window (what bench/pacing.py reports)."""
    worst, best_start, count = 0.0, float("-inf"), 0
    for at, n in claims:
        best_start = max(best_start, rate * at - count)  # a window may start at this claim
        count += n
        worst = max(worst, count - rate * at + best_start)
    return worst


def max_in_window(claims: list[tuple[float, int]], width: float) -> int:
    """Most messages in any window ``[t, t + width)`` starting at a claim."""
    best, total, j = 0, 0, 0
    for i in range(len(claims)):
        while j < len(claims) and claims[j][0] < claims[i][0] + width:
            total += claims[j][1]
            j += 1
        best = max(best, total)
        total -= claims[i][1]
    return best


def sent_between(claims: list[tuple[float, int]], start: float, end: float) -> int:
    return sum(n for at, n in claims if start <= at < end)


# -- TokenBucket (official numbers) ------------------------------------------------------------


def test_the_bucket_starts_full_and_never_holds_more_than_its_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(80, clock=clock)
    assert bucket.burst == 80  # the default bucket is one second of the pace
    assert bucket.available() == 80
    for _ in range(80):
        bucket.take()
    assert bucket.available() == 0
    clock.advance(3600)  # idle for an hour: still one bucket, not 288,000 tokens
    assert bucket.available() == 80
    assert TokenBucket(80, burst=5, clock=clock).available() == 5
    assert TokenBucket(0.5, clock=clock).burst == 1  # below 1 msg/s: one message at a time


def test_seconds_until_token_is_when_the_next_token_is_there() -> None:
    clock = FakeClock()
    bucket = TokenBucket(8, clock=clock)
    for _ in range(bucket.available()):
        bucket.take()
    wait = bucket.seconds_until_token()
    assert wait == pytest.approx(1 / 8)
    clock.advance(wait * 0.99)
    assert bucket.available() == 0 and bucket.seconds_until_token() > 0
    clock.advance(wait * 0.02)
    assert bucket.available() == 1 and bucket.seconds_until_token() == 0


@pytest.mark.parametrize(
    ("rate", "burst", "lateness"),
    [
        (80, None, 0.0),
        (80, None, 0.05),
        (8, None, 0.2),
        (0.5, None, 0.0),
        (80, 20, 0.01),
        (1000, None, 0.02),
    ],
)
def test_the_bucket_meets_its_rate_and_never_bursts_above_its_depth(
    rate: float, burst: float | None, lateness: float
) -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate, burst, clock=clock)
    depth = bucket.burst
    start = clock()
    seconds = 600 if rate >= 8 else 3600
    claims = drive(bucket, clock, seconds=seconds, lateness=lateness)

    assert max(n for _, n in claims) <= depth  # never more than the bucket at once
    # Every window conforms to the bucket: sends <= depth + rate * its length.
    assert needed_depth(claims, rate) <= depth + 1e-6
    # After the first second (the bucket it starts with), a 1 s window holds the pace plus
    # the tokens one late wake-up lets gather (the consumer always takes them all).
    after = [c for c in claims if c[0] >= start + 1]
    assert max_in_window(after, 1.0) <= rate + rate * (lateness + MIN_WAKE) + 1
    # The rate over the long window, the first second excluded: within a token or 0.1 %.
    sent = sent_between(claims, start + 1, start + seconds)
    expected = rate * (seconds - 1)
    assert abs(sent - expected) <= max(2, expected * 0.001), (sent, expected)


def test_a_consumer_slower_than_the_pace_gets_no_catch_up_burst() -> None:
    # A claim every 2 s of a 10 msg/s bucket: 10 a claim (the bucket), not the 20 earned.
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock)
    claims = []
    for _ in range(50):
        n = bucket.available()
        for _ in range(n):
            bucket.take()
        claims.append((clock(), n))
        clock.advance(2.0)
    assert {n for _, n in claims} == {10}


def test_a_new_pace_gives_a_new_bucket_of_the_new_size() -> None:
    # The dispatcher replaces a number's bucket when its pace changes (PATCH pacePerSecond).
    clock = FakeClock()
    old = TokenBucket(80, clock=clock)
    new = TokenBucket(8, clock=clock)
    assert (old.available(), new.available()) == (80, 8)


# -- GapPacer (unofficial numbers) --------------------------------------------------------------


def drive_gaps(
    pacer: GapPacer, clock: FakeClock, *, sends: int, lateness: float = 0.0, rng: random.Random | None = None
) -> list[float]:
    """Send ``sends`` messages one at a time as the dispatcher does with one slot in flight;
    returns the send times."""
    rng = rng or random.Random(2)
    times: list[float] = []
    while len(times) < sends:
        ready = pacer.available()
        assert ready in (0, 1)  # never more than one message at once
        if ready:
            pacer.take()
            times.append(clock())
            assert pacer.available() == 0  # the next one waits for its gap
        clock.advance(max(MIN_WAKE, pacer.seconds_until_token()) + rng.random() * lateness)
    return times


def test_unofficial_numbers_send_one_at_a_time_1_to_3_seconds_apart() -> None:
    clock = FakeClock()
    pacer = GapPacer(0.5, 0.5, random.Random(7), clock=clock)
    times = drive_gaps(pacer, clock, sends=1000)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1.0 - 1e-9 and max(gaps) <= 3.0 + MIN_WAKE + 1e-9
    # Randomised over the whole range, not a metronome: a robot's rhythm gets numbers banned.
    assert min(gaps) < 1.1 and max(gaps) > 2.9
    assert sum(gaps) / len(gaps) == pytest.approx(2.0, abs=0.1)
    assert len({round(g, 3) for g in gaps}) > 500


def test_a_late_wake_up_never_shortens_the_next_gap() -> None:
    # The gap runs from the send itself, so waking late (a busy loop) only lengthens it.
    clock = FakeClock()
    pacer = GapPacer(0.5, 0.5, random.Random(3), clock=clock)
    times = drive_gaps(pacer, clock, sends=300, lateness=1.5)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1.0 - 1e-9


def test_after_a_long_idle_the_gap_pacer_still_lets_one_message_through() -> None:
    clock = FakeClock()
    pacer = GapPacer(0.5, 0.5, random.Random(4), clock=clock)
    pacer.take()
    clock.advance(3600)
    assert pacer.available() == 1
    pacer.take()
    assert pacer.available() == 0
    assert 1.0 <= pacer.seconds_until_token() <= 3.0


# -- what the dispatcher builds from the defaults -------------------------------------------------


def test_default_pacing_of_each_provider(make_settings: Callable[..., Any]) -> None:
    """Meta: a bucket of 80 msg/s (burst 80), at least 32 in flight and a second of the pace;
    Evolution: one in flight, 0.5 msg/s with jitter 0.5, which the dispatcher paces with a
    GapPacer (gaps of 1-3 s above)."""
    registry = build_registry(make_settings())
    meta = registry.get("meta").capabilities(official=True)
    assert (meta.default_pace_per_second, meta.max_in_flight, meta.in_flight_seconds, meta.pace_jitter) == (
        80,
        32,
        1.0,
        0,
    )
    for kind in ("evolution-v2", "evolution-go"):
        caps = registry.get(kind).capabilities(official=False)
        assert (caps.default_pace_per_second, caps.max_in_flight, caps.pace_jitter) == (0.5, 1, 0.5), kind
