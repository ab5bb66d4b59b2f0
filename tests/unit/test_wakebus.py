"""Wake-ups relayed between ``serve``'s processes over Unix datagram sockets in one folder."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from zapgate import wakebus
from zapgate.container import Wakeups


def test_a_nudge_in_one_process_sets_the_same_event_in_the_listener(tmp_path: Path) -> None:
    folder = str(tmp_path)

    async def run() -> list[str]:
        local = Wakeups()
        listener = wakebus.Listener(folder, wakebus.events_of(local))
        listener.start()
        relay = wakebus.Relay(folder)
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


def test_worker_processes_nudge_each_other_and_never_echo_a_nudge_back(tmp_path: Path) -> None:
    """Two worker processes (each a listener and a relay on the same folder): a nudge in one
    reaches the other; the receiver does not relay it again, and a process does not hear its
    own nudges through its socket."""
    folder = str(tmp_path)

    class Worker:
        def __init__(self, name: str) -> None:
            self.relay = wakebus.Relay(folder)
            self.wake = Wakeups.relayed(self.relay)
            self.listener = wakebus.Listener(folder, wakebus.events_of(self.wake))
            self.listener._path = str(tmp_path / f"{name}.sock")  # two "processes", one pid

        def start(self) -> None:
            self.listener.start()
            self.relay.exclude(self.listener.path)

        def close(self) -> None:
            self.relay.close()
            self.listener.close()

    async def run() -> tuple[bool, bool, bool]:
        first, second = Worker("first"), Worker("second")
        first.start()
        second.start()
        try:
            first.wake.webhooks.set()
            await asyncio.wait_for(second.wake.webhooks.wait(), 5)
            first.wake.webhooks.clear()
            # The echo would arrive as a datagram on first's socket; a later nudge of another
            # kind from first proves first's socket was drained past anything sent before it.
            second.wake.dispatch.set()
            await asyncio.wait_for(first.wake.dispatch.wait(), 5)
            return (first.wake.webhooks.is_set(), second.wake.dispatch.is_set(),
                    second.wake.inbox.is_set())
        finally:
            first.close()
            second.close()

    echoed, own_set, unrelated = asyncio.run(run())
    assert not echoed
    assert own_set
    assert not unrelated


def test_a_nudge_with_no_listener_is_dropped_quietly(tmp_path: Path) -> None:
    async def run() -> bool:
        (tmp_path / "4242.sock").touch()  # a dead worker's socket file: nobody listens
        relay = wakebus.Relay(str(tmp_path))
        wake = Wakeups.relayed(relay)
        wake.dispatch.set()
        await asyncio.sleep(0)  # let the relay try (and fail) to send
        await asyncio.sleep(0)
        relay.close()
        return wake.dispatch.is_set()

    assert asyncio.run(run())


def test_a_dead_workers_socket_is_skipped_and_the_live_ones_still_hear(tmp_path: Path) -> None:
    """A worker killed with -9 leaves its socket file behind: sending to it fails, the relay
    drops it until its next listing of the folder, and the live worker is nudged every time."""
    (tmp_path / "1.sock").touch()  # sorted first: tried before the live one

    async def run() -> tuple[bool, bool, list[str]]:
        live = Wakeups()
        listener = wakebus.Listener(str(tmp_path), wakebus.events_of(live))
        listener.start()
        relay = wakebus.Relay(str(tmp_path))
        remote = Wakeups.relayed(relay)
        try:
            remote.dispatch.set()
            await asyncio.wait_for(live.dispatch.wait(), 5)
            remote.webhooks.set()
            await asyncio.wait_for(live.webhooks.wait(), 5)
            return live.dispatch.is_set(), live.webhooks.is_set(), relay._current_peers()
        finally:
            relay.close()
            listener.close()

    dispatch, webhooks, peers = asyncio.run(run())
    assert dispatch and webhooks
    assert peers == [str(tmp_path / f"{os.getpid()}.sock")]
