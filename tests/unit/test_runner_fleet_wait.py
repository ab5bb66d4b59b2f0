"""A woken worker loop waits a little longer per other live worker (Runner.fleet_wait), so a
fleet of workers keeps its batches as full as one worker's."""

from __future__ import annotations

import pytest

from zapgate.workers.runner import Runner


@pytest.mark.parametrize(("peers", "expected"), [(1, 0.0), (2, 0.015), (3, 0.030), (0, 0.0)])
def test_the_wait_grows_with_the_other_live_workers(peers: int, expected: float) -> None:
    runner = Runner([], poll_interval=0.5, fleet_wait=0.015, peers=lambda: peers)
    assert runner.fleet_wait() == pytest.approx(expected)


def test_no_wait_without_a_lease_keeper_or_when_switched_off() -> None:
    assert Runner([], poll_interval=0.5, fleet_wait=0.015).fleet_wait() == 0.0
    assert Runner([], poll_interval=0.5, fleet_wait=0.0, peers=lambda: 3).fleet_wait() == 0.0
