"""The fake clock, and the time-bound state that reads it: the key cache's TTL and the dashboard's
sign-in lockout window expire exactly when the clock says so. Time is moved, never slept, so
these hold to the millisecond on any machine."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from zapgate.clock import FakeClock, SystemClock
from zapgate.keycache import KeyCache
from zapgate.web.dashboard.auth import LoginLimiter


def test_the_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(1_767_225_600_000, monotonic_start=50.0)
    assert (clock.now_ms(), clock.monotonic()) == (1_767_225_600_000, 50.0)
    clock.advance(1.5)
    clock.advance(0.001)
    assert (clock.now_ms(), clock.monotonic()) == (1_767_225_601_501, 51.501)
    clock.set_ms(1_000)  # the wall time may be set back; the monotonic reading never goes back
    assert (clock.now_ms(), clock.monotonic()) == (1_000, 51.501)
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_the_fake_clock_starts_at_the_real_time_by_default() -> None:
    before = SystemClock().now_ms()
    assert before <= FakeClock().now_ms() <= SystemClock().now_ms()


def test_a_cached_key_expires_after_its_ttl() -> None:
    clock = FakeClock()
    cache = KeyCache(5.0, clock=clock)
    principal = SimpleNamespace(key_id="k1")
    assert cache.get("a") == (False, None)
    cache.put("a", principal)
    clock.advance(4.999)
    assert cache.get("a") == (True, principal)
    clock.advance(0.001)  # 5 s after it was put: gone (revocation reaches every node within the TTL)
    assert cache.get("a") == (False, None)
    cache.put("a", principal)  # put again: another full TTL
    clock.advance(4.999)
    assert cache.get("a") == (True, principal)


def test_a_key_cache_with_no_ttl_caches_nothing() -> None:
    clock = FakeClock()
    cache = KeyCache(0.0, clock=clock)
    cache.put("a", SimpleNamespace(key_id="k1"))
    assert cache.get("a") == (False, None)  # even with the clock standing still


def test_the_sign_in_lockout_ends_when_the_window_has_passed() -> None:
    clock = FakeClock()
    limiter = LoginLimiter(3, 60.0, clock=clock)
    keys = ("ip:127.0.0.1", "email:ana@example.com")
    for _ in range(2):
        limiter.failed(*keys)
        clock.advance(10)
    assert limiter.blocked(*keys) == 0.0  # two failures: not yet
    limiter.failed(*keys)  # the third, at +20 s: blocked until the first leaves the window
    assert limiter.blocked(*keys) == pytest.approx(40.0)
    clock.advance(30)
    assert limiter.blocked(*keys) == pytest.approx(10.0)
    clock.advance(10)  # the first failure is exactly a window old: no wait left
    assert limiter.blocked(*keys) == pytest.approx(0.0)
    clock.advance(0.001)
    assert limiter.blocked(*keys) == 0.0  # it left the window: two failures in it
    limiter.failed(*keys)  # a third again, at +60.001 s: blocked until the one at +10 s leaves
    assert limiter.blocked(*keys) == pytest.approx(9.999)
    limiter.succeeded(*keys)
    assert limiter.blocked(*keys) == 0.0


def test_the_lockout_counts_each_key_on_its_own() -> None:
    clock = FakeClock()
    limiter = LoginLimiter(2, 60.0, clock=clock)
    limiter.failed("ip:a", "email:x")
    clock.advance(61)
    limiter.failed("ip:a", "email:y")
    assert limiter.blocked("ip:a", "email:y") == 0.0  # the first failure left the window
    limiter.failed("ip:b", "email:y")
    assert limiter.blocked("ip:c", "email:y") == pytest.approx(60.0)  # the email's two failures
    assert limiter.blocked("ip:c", "email:z") == 0.0
