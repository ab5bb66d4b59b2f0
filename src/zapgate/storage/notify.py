"""Wake-ups between machines over PostgreSQL's LISTEN/NOTIFY.

``serve``'s own processes on one machine nudge each other through Unix sockets
(zapgate.wakebus). API nodes and ``zapgate worker`` processes on other machines share only the
database, so there the nudges travel as ``NOTIFY zapgate_wake, '<kinds>|<sender>'``: an accepted
send wakes a worker elsewhere at once instead of at its next poll. Polling stays the fallback:
a notification lost while a listener reconnects costs at most one poll interval, and a listener
that reconnects wakes every loop once in case it missed one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Mapping
from typing import Any

import asyncpg
import sqlalchemy as sa

_log = logging.getLogger("zapgate.notify")
CHANNEL = "zapgate_wake"
RECONNECT_SECONDS = 1.0


def asyncpg_dsn(url: str) -> str:
    """The asyncpg DSN of a ``postgresql+asyncpg://`` URL."""
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class NotifyRelay:
    """The sending side: one task sends the kinds nudged since its last NOTIFY as one NOTIFY,
    on a connection of its own, outside any transaction (a nudge follows a commit). Under load
    that is one NOTIFY per round trip, whatever the number of nudges."""

    def __init__(self, url: str, sender: str | None = None) -> None:
        self._dsn = asyncpg_dsn(url)
        self.sender = sender or secrets.token_hex(6)
        self._pending: set[str] = set()
        self._wake: asyncio.Event | None = None
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    def nudge(self, kind: str) -> None:
        self._pending.add(kind)
        if self._task is None or self._task.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no running loop (shutdown): polling covers it
                return
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run(), name="zapgate:notify-send")
        assert self._wake is not None
        self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            kinds, self._pending = self._pending, set()
            if kinds:
                await self._send(kinds)

    async def _send(self, kinds: set[str]) -> None:
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(self._dsn)
            await self._conn.execute(
                "SELECT pg_notify($1, $2)", CHANNEL, ",".join(sorted(kinds)) + "|" + self.sender
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # A hint only: the workers poll anyway.
            _log.debug("wake-up NOTIFY failed: %s", exc)
            await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=1)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._drop()


class NotifyListener:
    """The receiving side, in a worker process: LISTEN on a connection of its own, set
    ``events[kind]`` for every kind notified by another process (its own ``sender`` skipped);
    reconnect after a second when the connection is lost."""

    def __init__(
        self, url: str, events: Mapping[str, asyncio.Event], *, sender: str, kinds: frozenset[str]
    ) -> None:
        self._dsn = asyncpg_dsn(url)
        self._events = events
        self._sender = sender
        self._kinds = kinds
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="zapgate:notify")

    async def _run(self) -> None:
        first = True
        while True:
            lost = asyncio.Event()
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn)
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._heard)
                self.listening.set()
                if not first:  # notifications sent while we were away are gone: look now
                    for kind in self._kinds:
                        self._set(kind)
                first = False
                await lost.wait()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                _log.debug("wake-up LISTEN connection failed: %s", exc)
            finally:
                self.listening.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=1)
            await asyncio.sleep(RECONNECT_SECONDS)

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        kinds, _, sender = payload.partition("|")
        if sender == self._sender:
            return
        for kind in kinds.split(","):
            if kind in self._kinds:
                self._set(kind)

    def _set(self, kind: str) -> None:
        event = self._events.get(kind)
        if event is None:
            return
        set_here = getattr(event, "set_here", None)  # a relayed event: do not relay it again
        if set_here is not None:
            set_here()
        else:
            event.set()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
