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
            self.wake = Wakeups.relayed(self.relay, handled=frozenset(wakebus.KINDS))
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
            first.wake.numbers.set()
            await asyncio.wait_for(second.wake.numbers.wait(), 5)
            first.wake.numbers.clear()
            # The echo would arrive as a datagram on first's socket; a later nudge of another
            # kind from first proves first's socket was drained past anything sent before it.
            second.wake.dispatch.set()
            await asyncio.wait_for(first.wake.dispatch.wait(), 5)
            return (first.wake.numbers.is_set(), second.wake.dispatch.is_set(), second.wake.inbox.is_set())
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
            return (
                live.dispatch.is_set(),
                live.webhooks.is_set(),
                [path for path, _kinds in relay._current_peers()],
            )
        finally:
            relay.close()
            listener.close()

    dispatch, webhooks, peers = asyncio.run(run())
    assert dispatch and webhooks
    assert peers == [str(tmp_path / f"{os.getpid()}.sock")]


def _workers(tmp_path: Path, names: list[str]) -> list[tuple[Wakeups, wakebus.Listener]]:
    found = []
    for name in names:
        wake = Wakeups()
        listener = wakebus.Listener(str(tmp_path), wakebus.events_of(wake))
        listener._path = str(tmp_path / f"{name}.sock")  # several "processes", one pid
        listener.start()
        found.append((wake, listener))
    return found


def test_webhook_work_wakes_one_worker_in_turn_and_dispatch_wakes_every_worker(tmp_path: Path) -> None:
    async def run() -> list[tuple[bool, bool]]:
        workers = _workers(tmp_path, ["a", "b"])
        relay = wakebus.Relay(str(tmp_path))
        api = Wakeups.relayed(relay)
        seen = []
        try:
            for _ in range(2):
                for wake, _listener in workers:
                    wake.webhooks.clear()
                    wake.dispatch.clear()
                api.webhooks.set()
                await asyncio.sleep(0)  # one loop turn: the nudges go out separately
                api.dispatch.set()  # to both, after the webhooks nudge on the same sockets
                for wake, _listener in workers:
                    await asyncio.wait_for(wake.dispatch.wait(), 5)
                seen.append(tuple(wake.webhooks.is_set() for wake, _ in workers))
        finally:
            relay.close()
            for _, listener in workers:
                listener.close()
        return seen

    first, second = asyncio.run(run())
    assert sorted([first, second]) == [(False, True), (True, False)]


def test_a_worker_keeps_the_queue_work_it_creates(tmp_path: Path) -> None:
    """A worker's receipts queue webhooks: its own sender posts them; the other worker is
    not woken for them (the later dispatch nudge proves its socket was read past them)."""

    async def run() -> tuple[bool, bool, bool]:
        [(other, listener)] = _workers(tmp_path, ["other"])
        relay = wakebus.Relay(str(tmp_path))
        worker = Wakeups.relayed(relay, handled=frozenset(wakebus.KINDS))
        try:
            worker.webhooks.set()
            worker.inbox.set()
            await asyncio.sleep(0)
            worker.dispatch.set()
            await asyncio.wait_for(other.dispatch.wait(), 5)
            return worker.webhooks.is_set(), other.webhooks.is_set(), other.inbox.is_set()
        finally:
            relay.close()
            listener.close()

    own, theirs_webhooks, theirs_inbox = asyncio.run(run())
    assert own and not theirs_webhooks and not theirs_inbox


def test_a_worker_running_some_loops_hears_only_their_wake_ups(tmp_path: Path) -> None:
    """``serve``'s two worker processes split the loops (dispatcher + inbox, webhooks +
    sweeper): each socket's name says what it listens for, and the relays send each kind only
    there. A worker that queues work for a loop it does not run (the dispatcher's outcomes
    queue webhooks) relays it to the one that does."""

    async def run() -> tuple[list[str], list[str]]:
        folder = str(tmp_path)
        front = Wakeups()
        front_listener = wakebus.Listener(
            folder, wakebus.events_of(front), kinds=frozenset({"dispatch", "numbers", "inbox"})
        )
        front_listener._path = str(tmp_path / "1.dispatch+inbox+numbers.sock")
        back_relay = wakebus.Relay(folder)
        back = Wakeups.relayed(back_relay, handled=frozenset({"webhooks"}))
        back_listener = wakebus.Listener(folder, wakebus.events_of(back), kinds=frozenset({"webhooks"}))
        back_listener._path = str(tmp_path / "2.webhooks.sock")
        front_relay = wakebus.Relay(folder)
        front_wake = Wakeups.relayed(front_relay, handled=frozenset({"inbox"}))
        api_relay = wakebus.Relay(folder)
        api = Wakeups.relayed(api_relay)
        for listener, relay in ((front_listener, front_relay), (back_listener, back_relay)):
            listener.start()
            relay.exclude(listener.path)
        try:
            api.inbox.set()
            api.dispatch.set()
            front_wake.webhooks.set()  # the front worker's outcomes queued webhooks
            await asyncio.wait_for(back.webhooks.wait(), 5)
            await asyncio.wait_for(front.dispatch.wait(), 5)
            await asyncio.wait_for(front.inbox.wait(), 5)
            back.webhooks.clear()
            api.numbers.set()  # to the front only; proves the back socket got nothing else
            await asyncio.wait_for(front.numbers.wait(), 5)
            api.webhooks.set()
            await asyncio.wait_for(back.webhooks.wait(), 5)
            return (
                [kind for kind, e in wakebus.events_of(front).items() if e.is_set()],
                [kind for kind, e in wakebus.events_of(back).items() if e.is_set()],
            )
        finally:
            for relay in (api_relay, front_relay, back_relay):
                relay.close()
            front_listener.close()
            back_listener.close()

    front_heard, back_heard = asyncio.run(run())
    assert sorted(front_heard) == ["dispatch", "inbox", "numbers"]
    assert back_heard == ["webhooks"]


def test_a_stored_callback_wakes_every_worker_running_the_inbox(tmp_path: Path) -> None:
    """Provider events are applied by the worker leasing their number: the API's nudge goes to
    every worker, not to one in turn."""

    async def run() -> list[bool]:
        workers = _workers(tmp_path, ["a", "b"])
        relay = wakebus.Relay(str(tmp_path))
        api = Wakeups.relayed(relay)
        try:
            api.inbox.set()
            for wake, _listener in workers:
                await asyncio.wait_for(wake.inbox.wait(), 5)
            return [wake.inbox.is_set() for wake, _ in workers]
        finally:
            relay.close()
            for _, listener in workers:
                listener.close()

    assert asyncio.run(run()) == [True, True]
