"""The engine and transaction helpers for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.expression import Executable

_WRITE = "zapgate_write"
_log = logging.getLogger("zapgate.database")
# How often a SQLite file's write-ahead log is copied back into the database, off the write
# path (see _Checkpointer).
ANALYZE_SECONDS = 300.0  # planner statistics refreshed (sampled: milliseconds)
CHECKPOINT_SECONDS = 0.5

# What a unit of work hands to repositories (services name it without importing SQLAlchemy).
Connection = AsyncConnection


class Database:
    """One engine; ``write()`` is a transaction that takes the write lock up front.

    SQLite allows one writer at a time. A deferred transaction that reads first and writes later
    can fail at once with SQLITE_BUSY when another writer got in between, so write transactions
    start with ``BEGIN IMMEDIATE`` and, inside one process, queue on an asyncio lock instead of
    spinning in SQLite's busy handler.

    On a SQLite file, a write transaction runs its statements on a plain ``sqlite3`` connection
    in the event loop's own thread, each statement to completion: the write lock is held only
    for the work itself. Through aiosqlite every statement is a hop to a thread and back, and
    under load the way back waits behind every other ready task of the loop, with the lock that
    every other writer (of both processes) queues on held all the while. Reads stay on aiosqlite.
    """

    def __init__(self, url: str, *, pool_size: int = 10, shared_file: bool = True) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {
            "json_serializer": lambda obj: orjson.dumps(obj).decode(),
            "json_deserializer": orjson.loads,
        }
        if self.is_sqlite:
            if _lock_path(url) is not None:  # a file (an in-memory database has its own pool)
                # Every aiosqlite connection is a thread: keep enough of them that a burst of
                # requests and the workers do not open (and close) overflow connections.
                kwargs.update(pool_size=pool_size * 3, max_overflow=pool_size * 3)
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        self._writer = self.engine.execution_options(**{_WRITE: True})
        # PostgreSQL reads run without BEGIN and ROLLBACK around them: two round trips fewer
        # per read (bench/pg_reads.py: 0.38 against 0.49-0.53 ms of CPU a read), and no
        # snapshot is lost, since READ COMMITTED takes one per statement anyway.
        self._reader = (
            self.engine if self.is_sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._sqlite_lock = asyncio.Lock() if self.is_sqlite else None
        self._lock_path = _lock_path(url) if self.is_sqlite and shared_file else None
        self._lock_fd: int | None = None
        self._gate_fd: int | None = None
        self._inline_writer: sa.Engine | None = None
        self._checkpointer: _Checkpointer | None = None
        if self.is_sqlite:
            _configure_sqlite(self.engine)
            if _lock_path(url) is not None:
                self._inline_writer = _inline_writer(url, kwargs)
                self._checkpointer = _Checkpointer(str(sa.engine.make_url(url).database))

    @asynccontextmanager
    async def write(self, *, priority: bool = False) -> AsyncIterator[AsyncConnection]:
        """A write transaction. On a SQLite file shared by processes, ``priority`` writers (the
        API's group commits, which a client waits on) go ahead of the others (the workers')
        at the file lock; see ``_file_lock``."""
        if self._sqlite_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._sqlite_lock, self._file_lock(priority):
            if self._inline_writer is None:
                async with self._writer.begin() as conn:
                    yield conn
                return
            with self._inline_writer.connect() as sync_connection:
                conn = _InlineConnection(self.engine, sync_connection)
                async with conn.begin():
                    yield conn

    @asynccontextmanager
    async def _file_lock(self, priority: bool) -> AsyncIterator[None]:
        """Between processes writing one SQLite file (``serve`` with worker processes): a
        kernel file lock taken before ``BEGIN IMMEDIATE``. A waiter wakes as soon as the holder
        commits, where SQLite's own busy handler would sleep (1 to 100 ms at a time).

        A second file, the gate, gives priority writers the next turn: a priority writer holds
        the gate (shared) while it waits for the lock; any other writer first passes the gate
        (exclusive, released at once), so it does not start waiting while a priority writer
        does. A priority writer thus waits for the current holder and at most one writer
        already queued, and the others still get a turn whenever no priority writer waits."""
        if self._lock_path is None:
            yield
            return
        if self._lock_fd is None:
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._gate_fd = os.open(self._lock_path + "-gate", os.O_RDWR | os.O_CREAT, 0o600)
        fd, gate = self._lock_fd, self._gate_fd
        assert gate is not None
        if priority:
            await _flock(gate, fcntl.LOCK_SH)
            try:
                await _flock(fd, fcntl.LOCK_EX)
            finally:
                fcntl.flock(gate, fcntl.LOCK_UN)
        else:
            await _flock(gate, fcntl.LOCK_EX)
            fcntl.flock(gate, fcntl.LOCK_UN)
            await _flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self._reader.connect() as conn:
            yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._inline_writer is not None:
            self._inline_writer.dispose()
        if self._checkpointer is not None:
            self._checkpointer.stop()
        for fd in (self._lock_fd, self._gate_fd):
            if fd is not None:
                os.close(fd)
        self._lock_fd = self._gate_fd = None


class _InlineConnection(AsyncConnection):
    """An AsyncConnection over a sqlite3 connection whose statements run to completion at once
    (AsyncConnection itself insists that a statement awaits something)."""

    async def execute(
        self,
        statement: Executable,
        parameters: Any = None,
        *,
        execution_options: Any = None,
    ) -> sa.CursorResult[Any]:
        return self._proxied.execute(statement, parameters, execution_options=execution_options)

    async def exec_driver_sql(
        self,
        statement: str,
        parameters: Any = None,
        execution_options: Any = None,
    ) -> sa.CursorResult[Any]:
        return self._proxied.exec_driver_sql(statement, parameters, execution_options)


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) means the database cannot be reached or used right
    now (refused or lost connection, server shutting down or starting, pool exhausted, SQLite
    busy): the request may succeed if tried again, unlike a bug."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sqlite3.OperationalError):
            # SQLite says "operational" for a missing table too: only these are transient.
            return any(text in str(current) for text in _SQLITE_UNAVAILABLE)
        if isinstance(current, (sa.exc.OperationalError, sa.exc.InterfaceError)) and not isinstance(
            current.orig, sqlite3.Error
        ):
            return True
        if isinstance(current, (sa.exc.TimeoutError, ConnectionError, *_DRIVER_UNAVAILABLE)):
            return True
        if isinstance(current, sa.exc.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False


def _driver_unavailable() -> tuple[type[BaseException], ...]:
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return ()
    return (
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.OperatorInterventionError,
    )


_DRIVER_UNAVAILABLE = _driver_unavailable()
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk I/O error")


async def _flock(fd: int, operation: int) -> None:
    """``flock`` without blocking the event loop: at once when free, else in a thread."""
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        await asyncio.to_thread(fcntl.flock, fd, operation)


def _lock_path(url: str) -> str | None:
    """``<database file>.lock`` for a SQLite file URL (None for an in-memory database)."""
    path = sa.engine.make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return path + ".lock"


def _inline_writer(url: str, kwargs: dict[str, Any]) -> sa.Engine:
    """The sqlite3 engine behind ``Database.write`` on a SQLite file: one connection, since the
    process's writers take turns on a lock anyway."""
    sync_url = sa.engine.make_url(url).set(drivername="sqlite+pysqlite")
    engine = sa.create_engine(
        sync_url,
        pool_size=1,
        max_overflow=0,
        json_serializer=kwargs["json_serializer"],
        json_deserializer=kwargs["json_deserializer"],
        connect_args={"check_same_thread": False},
    )
    _configure_connection(engine, always_immediate=True)

    @event.listens_for(engine, "connect")
    def _no_checkpoint_at_commit(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")  # _Checkpointer does it

    return engine


class _Checkpointer:
    """Copies a SQLite file's write-ahead log back into the database every
    ``CHECKPOINT_SECONDS``, in a thread of its own, instead of at a commit.

    SQLite's default runs a checkpoint inside whichever commit pushes the log past 1,000 pages,
    with the write lock held: every few seconds under load one writer's commit (the API's
    group commit as often as any) took milliseconds longer and every other writer waited
    behind it. A PASSIVE checkpoint takes no write lock: writers go on while it copies.
    ``Database.write``'s connection turns the automatic one off; a checkpoint that fails is
    logged and tried again next time, and closing the last connection checkpoints anyway.

    The same thread keeps the query planner's statistics current: an ANALYZE that samples a
    thousand rows per index (``PRAGMA analysis_limit``: milliseconds at any size, 1 ms for a
    million rows here), soon after start and then every ``ANALYZE_SECONDS``. Without them
    SQLite guessed that ``status = 'QUEUED'`` picks out few rows and, with a large backlog,
    read every queued message through that index to claim a handful by primary key.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="zapgate-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        failing = False
        next_analyze = time.monotonic() + 1.0
        while not self._stop.wait(CHECKPOINT_SECONDS):
            try:
                if connection is None:
                    connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
                    connection.execute("PRAGMA busy_timeout=1000")
                    connection.execute("PRAGMA analysis_limit=1000")
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                if time.monotonic() >= next_analyze:
                    next_analyze = time.monotonic() + ANALYZE_SECONDS
                    connection.execute("ANALYZE")
                failing = False
            except sqlite3.Error:
                if not failing:  # once per run of failures, not every half second
                    _log.warning("SQLite checkpoint of %s failed; trying again", self._path, exc_info=True)
                failing = True
        if connection is not None:
            connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _configure_sqlite(engine: AsyncEngine) -> None:
    _configure_connection(engine.sync_engine, always_immediate=False)


def _configure_connection(sync_engine: sa.Engine, *, always_immediate: bool) -> None:
    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit transactions are not what we want).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives a process crash; only an OS crash can lose the
        # last transactions. That is the durability the restart guarantee needs.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        if always_immediate or conn.get_execution_options().get(_WRITE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")
