"""``CallbackSender``, the simulators' outgoing callback queue, against a loopback HTTP/1.1
receiver (uvicorn, keep-alive): one at a time by default, up to ``callbackConcurrency`` in
flight over pooled keep-alive connections, retries that do not hold up the queue."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from zapgate.sim.common import Callback, CallbackSender, SimState
from zapgate.testing import UvicornThread

GATE_TIMEOUT = 5.0


@dataclass
class Gate:
    """The receiver's state. Request number ``k`` (in arrival order) is held until
    ``min(total, (k // hold + 1) * hold)`` requests have arrived, so with ``hold`` = N each
    group of N is answered only once all N are in flight together; a sender that posts one at
    a time never gets past the first (it is answered after ``timeout`` seconds and counted in
    ``timed_out``). ``fail_first`` answers 500 to the first attempt of those callback indexes."""

    hold: int = 1
    total: int = 0
    timeout: float = GATE_TIMEOUT
    fail_first: set[int] = field(default_factory=set)
    arrived: int = 0
    active: int = 0
    max_active: int = 0
    timed_out: int = 0
    order: list[int] = field(default_factory=list)  # callback index, in arrival order
    peers: set[tuple[str, int]] = field(default_factory=set)  # client (host, port)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _cond: asyncio.Condition | None = None

    async def endpoint(self, request: Request) -> Response:
        if self._cond is None:
            self._cond = asyncio.Condition()
        index = int((await request.json())["i"])
        client = request.client
        async with self._cond:
            with self.lock:
                position = self.arrived
                self.arrived += 1
                self.active += 1
                self.max_active = max(self.max_active, self.active)
                self.order.append(index)
                if client is not None:
                    self.peers.add((client.host, client.port))
                first_try = index in self.fail_first
                self.fail_first.discard(index)
            target = min(self.total, (position // self.hold + 1) * self.hold)
            self._cond.notify_all()
            try:
                await asyncio.wait_for(self._cond.wait_for(lambda: self.arrived >= target), self.timeout)
            except TimeoutError:
                self.timed_out += 1
            # Give a sender that wrongly overlaps posts the chance to show it.
            await asyncio.sleep(0.002)
            with self.lock:
                self.active -= 1
        return Response(b"no" if first_try else b"ok", status_code=500 if first_try else 200)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[UvicornThread, list[Gate]]]:
    """One uvicorn receiver for the module; each test installs its own ``Gate``."""
    current: list[Gate] = [Gate()]

    async def hook(request: Request) -> Response:
        return await current[0].endpoint(request)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    with UvicornThread(app) as running:
        yield running, current


@pytest.fixture
def gate_for(server: tuple[UvicornThread, list[Gate]]) -> Callable[..., tuple[str, Gate]]:
    running, current = server

    def install(**kwargs: Any) -> tuple[str, Gate]:
        current[0] = Gate(**kwargs)
        return running.url + "/hook", current[0]

    return install


def run(total: int, url: str, **config: Any) -> list[Callback]:
    """Queue ``total`` callbacks at once on a fresh sender with ``config`` and wait until each
    has been answered (2xx) or has used up its attempts."""

    async def main() -> list[Callback]:
        state = SimState()
        state.config.update({"callbackRetrySeconds": 0.05, **config})
        sender = CallbackSender(state)
        await sender.start()
        try:
            posted = [sender.post(url, {"i": i}) for i in range(total)]
            deadline = time.monotonic() + 20
            while not all(
                c.status == 200 or c.attempt >= int(state.config["callbackMaxAttempts"]) for c in posted
            ):
                assert time.monotonic() < deadline, "callbacks were not all answered"
                await asyncio.sleep(0.01)
            return posted
        finally:
            await sender.stop()

    return asyncio.run(main())


def test_default_posts_one_at_a_time_in_order(gate_for: Callable[..., tuple[str, Gate]]) -> None:
    url, gate = gate_for(hold=1, total=12)
    posted = run(12, url)
    assert gate.max_active == 1
    assert gate.order == list(range(12))
    assert all(c.status == 200 and c.attempt == 1 for c in posted)
    # Each callback was posted only after the previous one had been answered.
    for before, after in itertools.pairwise(posted):
        assert before.answered_at is not None and after.posted_at is not None
        assert after.posted_at >= before.answered_at


def test_callback_concurrency_overlaps_posts(gate_for: Callable[..., tuple[str, Gate]]) -> None:
    url, gate = gate_for(hold=4, total=12)
    posted = run(12, url, callbackConcurrency=4)
    assert gate.timed_out == 0  # every group of 4 was in flight together
    assert gate.max_active == 4  # and never more than 4
    assert sorted(gate.order) == list(range(12))
    assert all(c.status == 200 and c.attempt == 1 for c in posted)


def test_concurrency_of_one_never_reaches_the_gate(gate_for: Callable[..., tuple[str, Gate]]) -> None:
    """The same gate as above with the default: the first post waits alone until the gate
    gives up, so nothing ever overlaps."""
    url, gate = gate_for(hold=2, total=2, timeout=0.5)
    run(2, url)
    assert gate.max_active == 1
    assert gate.timed_out == 1


def test_pool_keeps_every_connection_alive(gate_for: Callable[..., tuple[str, Gate]]) -> None:
    """30 in flight (httpx keeps 20 alive by default): two rounds of 30 use the same 30
    keep-alive connections."""
    url, gate = gate_for(hold=30, total=60)
    run(60, url, callbackConcurrency=30)
    assert gate.timed_out == 0
    assert gate.max_active == 30
    assert len(gate.peers) == 30


def test_concurrent_retries_do_not_hold_up_the_queue(gate_for: Callable[..., tuple[str, Gate]]) -> None:
    url, gate = gate_for(hold=1, total=10, fail_first={0})
    posted = run(10, url, callbackConcurrency=3, callbackRetrySeconds=0.3)
    first, rest = posted[0], posted[1:]
    assert first.status == 200 and first.attempt == 2
    assert gate.order.count(0) == 2 and sorted(set(gate.order)) == list(range(10))
    assert all(c.status == 200 and c.attempt == 1 for c in rest)
    # The others went out while callback 0 waited for its retry.
    assert first.answered_at is not None
    assert all(c.answered_at is not None and c.answered_at < first.answered_at for c in rest)


def test_sequential_retry_keeps_todays_queue_order(gate_for: Callable[..., tuple[str, Gate]]) -> None:
    """With one at a time a failed callback goes to the back of the queue, as before."""
    url, gate = gate_for(hold=1, total=4, fail_first={0})
    posted = run(4, url)
    assert gate.order == [0, 1, 2, 3, 0]
    assert posted[0].attempt == 2 and posted[0].status == 200
    assert gate.max_active == 1


def test_bad_concurrency_values_mean_one(gate_for: Callable[..., tuple[str, Gate]]) -> None:
    url, gate = gate_for(hold=1, total=6)
    run(6, url, callbackConcurrency="many")
    assert gate.max_active == 1
    url, gate = gate_for(hold=1, total=6)
    run(6, url, callbackConcurrency=0)
    assert gate.max_active == 1
