"""Wake-ups across processes on one machine.

When ``zapgate serve`` runs its workers in processes of their own, whoever learns first that
there is work nudges the others: the API (a message accepted, a callback stored, a number
connected), and the worker processes each other (a dispatcher's outcome queues webhooks that
another process's webhook sender may be waiting for). Every worker process listens on a Unix
datagram socket of its own in one folder (the ``wake_dir`` setting); every process relays each
nudge as a one-byte datagram to all the sockets there but its own, so the workers react at once
instead of at their next poll.

Two kinds are queues (``inbox``: stored provider callbacks; ``webhooks``: customer
deliveries). A worker keeps the queue work it creates itself (its receipts queue webhooks that
its own sender posts; its sends' receipts are its own to apply). Webhooks are drained by any
one worker: a nudge goes to one worker, the next in turn, not to all (two workers woken for the
same few rows would both take the write lock and one of them would find nothing: on SQLite, at
moderate rates, that doubled the time the lock was held). Provider events are applied by the
worker that leases their number, which the sender does not know, so an ``inbox`` nudge from
the API goes to every worker running the inbox, as ``dispatch`` and ``numbers`` do.

Nudges are hints: a lost datagram (a worker restarting, a full socket buffer) costs at most
one poll interval, because the workers poll anyway. A burst of nudges of one kind sends one
datagram per peer per event-loop turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import time
from typing import Protocol

_log = logging.getLogger("zapgate.wakebus")
KINDS = ("dispatch", "webhooks", "inbox", "numbers")
# Work any one worker drains: a nudge goes to one worker in turn (see the module's text).
QUEUES = frozenset({"webhooks", "inbox"})
# Of those, the ones any one worker drains: a nudge goes to one worker in turn.
IN_TURN = frozenset({"webhooks"})
_CODE = {kind: bytes([index]) for index, kind in enumerate(KINDS)}


class Nudger(Protocol):
    """Whatever carries nudges to other processes: :class:`Relay` (Unix sockets, one machine)
    or ``storage.notify.NotifyRelay`` (PostgreSQL NOTIFY, any machine)."""

    def nudge(self, kind: str) -> None: ...


class RelayedEvent(asyncio.Event):
    """An :class:`asyncio.Event` whose ``set`` also tells other processes."""

    def __init__(self, kind: str, relay: Nudger) -> None:
        super().__init__()
        self._kind = kind
        self._relay = relay

    def set(self) -> None:
        super().set()
        self._relay.nudge(self._kind)

    def set_here(self) -> None:
        """Set by a nudge from another process: not relayed again."""
        super().set()


class Relay:
    """The sending side: datagrams to the workers' sockets in ``folder`` (but ``own``) that
    listen for the kind, at most one per kind per peer per loop turn: a queue kind to one
    worker in turn, the others to all. The folder is listed again at most once a second, so a
    restarted worker hears nudges within a second of starting."""

    RESCAN_SECONDS = 1.0

    def __init__(self, folder: str) -> None:
        self._folder = folder
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self._pending: set[str] = set()
        self._own: str | None = None
        self._peers: list[tuple[str, frozenset[str]]] = []
        self._scanned_at = float("-inf")
        self._turn = 0

    def exclude(self, path: str) -> None:
        """This process's own listening socket (it sets its own events directly)."""
        self._own = path
        self._scanned_at = float("-inf")

    def nudge(self, kind: str) -> None:
        if kind in self._pending:
            return
        if not self._pending:
            try:
                asyncio.get_running_loop().call_soon(self._flush)
            except RuntimeError:  # no running loop (shutdown): polling covers it
                return
        self._pending.add(kind)

    def _flush(self) -> None:
        kinds, self._pending = self._pending, set()
        peers = self._current_peers()
        for kind in kinds:
            listening = [path for path, wanted in peers if kind in wanted]
            if kind not in IN_TURN:
                for peer in listening:
                    self._send(kind, peer)
                continue
            # One worker, the next in turn; the one after it if that one is gone.
            self._turn += 1
            for step in range(len(listening)):
                if self._send(kind, listening[(self._turn + step) % len(listening)]):
                    break

    def _send(self, kind: str, peer: str) -> bool:
        try:
            self._sock.sendto(_CODE[kind], peer)
        except OSError as exc:
            # No listener any more (a worker that died, its socket file left behind): skip it
            # until the next listing. A full buffer: that worker's poll picks the work up.
            if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
                self._peers = [(path, kinds) for path, kinds in self._peers if path != peer]
            return False
        return True

    def _current_peers(self) -> list[tuple[str, frozenset[str]]]:
        """``(socket path, kinds it listens for)`` of every other worker."""
        now = time.monotonic()
        if now - self._scanned_at >= self.RESCAN_SECONDS:
            self._scanned_at = now
            try:
                names = os.listdir(self._folder)
            except OSError:
                names = []
            self._peers = [
                (path, _kinds_in(name))
                for name in sorted(names)
                if name.endswith(".sock") and (path := os.path.join(self._folder, name)) != self._own
            ]
        return self._peers

    def close(self) -> None:
        self._sock.close()


class Listener:
    """The receiving side, in a worker process: ``<folder>/<pid>.sock``, or
    ``<pid>.<kind>+<kind>.sock`` for a worker that runs only some loops (the relays send it only
    those kinds); sets ``events[kind]`` for every datagram (without relaying it again)."""

    def __init__(
        self, folder: str, events: dict[str, asyncio.Event], kinds: frozenset[str] | None = None
    ) -> None:
        suffix = "" if kinds is None or kinds >= set(KINDS) else "." + "+".join(sorted(kinds))
        self._path = os.path.join(folder, f"{os.getpid()}{suffix}.sock")
        self._events = events
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(self._path)
        sock.setblocking(False)
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        _log.debug("listening for wake-ups on %s", self._path)
        self._loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data = self._sock.recv(64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                _log.exception("wake socket failed; the workers fall back to polling")
                self.close()
                return
            for code in data:
                if code < len(KINDS):
                    event = self._events[KINDS[code]]
                    if isinstance(event, RelayedEvent):
                        event.set_here()
                    else:
                        event.set()

    @property
    def path(self) -> str:
        return self._path

    def close(self) -> None:
        if self._sock is None:
            return
        if self._loop is not None:
            self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        self._sock = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path)


def _kinds_in(name: str) -> frozenset[str]:
    """The kinds a socket named ``<pid>[.<kind>+<kind>].sock`` listens for."""
    parts = name[: -len(".sock")].split(".", 1)
    if len(parts) == 1:
        return frozenset(KINDS)
    return frozenset(kind for kind in parts[1].split("+") if kind in KINDS)


def events_of(wake: object) -> dict[str, asyncio.Event]:
    """The named events of a :class:`zapgate.container.Wakeups`."""
    found: dict[str, asyncio.Event] = {}
    for kind in KINDS:
        event = getattr(wake, kind)
        assert isinstance(event, asyncio.Event)
        found[kind] = event
    return found
