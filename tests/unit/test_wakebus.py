"""Wake-ups relayed from the API process to the worker process over a Unix datagram socket."""

from __future__ import annotations

import asyncio
from pathlib import Path

from zapgate import wakebus
from zapgate.container import Wakeups


def test_a_nudge_in_one_process_sets_the_same_event_in_the_listener(tmp_path: Path) -> None:
    path = str(tmp_path / "wake.sock")

    async def run() -> list[str]:
        local = Wakeups()
        listener = wakebus.Listener(path, wakebus.events_of(local))
        listener.start()
        relay = wakebus.Relay(path)
        remote = Wakeups.relayed(relay)
        try:
            remote.inbox.set()
            remote.numbers.set()
            remote.numbers.set()  # a burst of one kind: one datagram
            await asyncio.wait_for(local.inbox.wait(), 5)
            await asyncio.wait_for(local.numbers.wait(), 5)
            assert remote.inbox.is_set()  # the sender's own event is set too
            return [kind for kind, event in wakebus.events_of(local).items() if event.is_set()]
        finally:
            relay.close()
            listener.close()

    assert sorted(asyncio.run(run())) == ["inbox", "numbers"]


def test_a_nudge_with_no_listener_is_dropped_quietly(tmp_path: Path) -> None:
    async def run() -> bool:
        relay = wakebus.Relay(str(tmp_path / "nobody.sock"))
        wake = Wakeups.relayed(relay)
        wake.dispatch.set()
        await asyncio.sleep(0)  # let the relay try (and fail) to send
        await asyncio.sleep(0)
        relay.close()
        return wake.dispatch.is_set()

    assert asyncio.run(run())
