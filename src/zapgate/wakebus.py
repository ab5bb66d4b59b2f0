"""Wake-ups across processes on one machine.

When ``zapgate serve`` runs its workers in a process of their own, the API process still knows
first that there is work (a message accepted, a callback stored, a number connected). Its
:class:`Wakeups` relay each nudge as a one-byte datagram on a Unix socket that the worker process
listens on, so the workers react at once instead of at their next poll. Nudges are hints: a lost
datagram (the worker restarting, a full socket buffer) costs at most one poll interval, because
the workers poll anyway. A burst of nudges of one kind sends one datagram per event-loop turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket

_log = logging.getLogger("zapgate.wakebus")
KINDS = ("dispatch", "webhooks", "inbox", "numbers")
_CODE = {kind: bytes([index]) for index, kind in enumerate(KINDS)}


class RelayedEvent(asyncio.Event):
    """An :class:`asyncio.Event` whose ``set`` also tells another process."""

    def __init__(self, kind: str, relay: Relay) -> None:
        super().__init__()
        self._kind = kind
        self._relay = relay

    def set(self) -> None:
        super().set()
        self._relay.nudge(self._kind)


class Relay:
    """The sending side: datagrams to the worker's socket, at most one per kind per loop
    turn."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self._pending: set[str] = set()

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
        for kind in kinds:
            try:
                self._sock.sendto(_CODE[kind], self._path)
            except OSError:
                # No listener (yet), or its buffer is full: the worker's poll picks the work up.
                return

    def close(self) -> None:
        self._sock.close()


class Listener:
    """The receiving side, in the worker process: sets ``events[kind]`` for every datagram."""

    def __init__(self, path: str, events: dict[str, asyncio.Event]) -> None:
        self._path = path
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
                    self._events[KINDS[code]].set()

    def close(self) -> None:
        if self._sock is None:
            return
        if self._loop is not None:
            self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        self._sock = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path)


def events_of(wake: object) -> dict[str, asyncio.Event]:
    """The named events of a :class:`zapgate.container.Wakeups`."""
    found: dict[str, asyncio.Event] = {}
    for kind in KINDS:
        event = getattr(wake, kind)
        assert isinstance(event, asyncio.Event)
        found[kind] = event
    return found

