"""Runs background loops until stopped: each loop ticks, then sleeps until woken or polled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from zapgate.storage.database import is_unavailable

_log = logging.getLogger("zapgate.workers")


class Loop(Protocol):
    name: str

    @property
    def wake(self) -> asyncio.Event | None: ...

    async def tick(self) -> bool:
        """Do one batch of work; True when there may be more right away."""
        ...

    async def close(self) -> None: ...


class Runner:
    """``fleet_wait`` and ``peers`` (how many worker processes are alive, this one included):
    a woken loop waits ``fleet_wait`` per other live worker before its tick. Every worker is
    woken by the same events, so without it M workers would split each burst into M small
    batches, and a batch costs the same statements (a claim, a fan-out, a commit) for a few
    rows as for a hundred: the fleet would spend more per message the more workers it has."""

    def __init__(
        self,
        loops: list[Loop],
        *,
        poll_interval: float,
        fleet_wait: float = 0.0,
        peers: Callable[[], int] | None = None,
    ) -> None:
        self._loops = loops
        self._poll = poll_interval
        self._fleet_wait = fleet_wait
        self._peers = peers
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    def start(self) -> None:
        for loop in self._loops:
            self._tasks.append(asyncio.create_task(self._run(loop), name=f"zapgate:{loop.name}"))

    async def stop(self, *, grace: float = 5.0) -> None:
        """Let each loop finish its current tick (no connection is cut mid-query), then stop."""
        self._stopping.set()
        for loop in self._loops:
            if loop.wake is not None:
                loop.wake.set()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for loop in self._loops:
            await loop.close()

    async def _run(self, loop: Loop) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                busy = await loop.tick()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                if not is_unavailable(exc):
                    _log.exception("worker loop %s failed (%d in a row)", loop.name, failures)
                elif failures == 1:  # an outage: one line, not a traceback every few seconds
                    _log.warning(
                        "worker loop %s is waiting for the database (%s)", loop.name, type(exc).__name__
                    )
                busy = False
                await asyncio.sleep(min(5.0, 0.1 * 2**failures))
            if busy:
                await asyncio.sleep(0)
                continue
            await self._idle(loop)

    def fleet_wait(self) -> float:
        """The extra wait of a woken loop: none for a lone worker."""
        if self._peers is None or not self._fleet_wait:
            return 0.0
        return self._fleet_wait * max(0, self._peers() - 1)

    async def _idle(self, loop: Loop) -> None:
        wake = loop.wake
        if wake is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._poll)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=self._poll)
        # Coalesce a burst of wake-ups (every accepted send wakes the dispatcher) into one tick.
        debounce = getattr(loop, "debounce", 0.0) + self.fleet_wait()
        if debounce:
            await asyncio.sleep(debounce)
        wake.clear()
