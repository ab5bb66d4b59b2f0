"""Loopback fixtures shared by the simulator tests (``tests/sim``) and the provider-adapter tests
(``tests/integration/providers``); their conftests register them.

A module runs its simulator once, as a module-scoped ``running_sim`` fixture of its own, and
posts webhooks to one module-wide ``receiver``; ``sim`` hands each test that simulator reset.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zapgate.sim.common import SimThread
from zapgate.testing import WebhookReceiver


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    """One loopback webhook receiver for the whole module (the root conftest's is per test)."""
    with WebhookReceiver() as hooks:
        yield hooks


@pytest.fixture
def sim(running_sim: SimThread, receiver: WebhookReceiver) -> SimThread:
    """The module's simulator with earlier tests forgotten; the receiver forgets what it got and
    answers 200 again."""
    running_sim.control("POST", "/_sim/reset")
    receiver.clear()
    receiver.respond = None
    return running_sim
