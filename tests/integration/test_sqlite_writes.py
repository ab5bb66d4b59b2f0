"""Writers on one SQLite file: the file lock's priority gate and the group commit's batches.

Two ``Database`` objects on one file hold their own lock files open, exactly as two processes
do (``flock`` locks belong to the open file), so one test process stands for several.

Where a test needs a writer to be waiting for a lock before it goes on, it waits until the kernel
lists that writer as blocked on the lock file (``/proc/locks``): a fixed sleep let a slow machine
go on before the writer asked, and the test then passed without testing anything."""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import BACKEND
from zapgate.storage.batch import Batcher
from zapgate.storage.database import Database

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's file lock")
needs_proc_locks = pytest.mark.skipif(
    not Path("/proc/locks").exists(), reason="sees a blocked flock() in /proc/locks (Linux)"
)


def _url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'writes.db'}"


async def _table(db: Database) -> None:
    async with db.write() as conn:
        await conn.execute(sa.text("CREATE TABLE IF NOT EXISTS turns (who TEXT)"))


def _blocked_on(path: Path) -> bool:
    """Whether a ``flock`` of this process waits for ``path``: ``/proc/locks`` lists a waiter as
    ``N: -> FLOCK ADVISORY WRITE <pid> <major>:<minor>:<inode> 0 EOF``."""
    st = path.stat()
    where = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    with open("/proc/locks") as locks:
        return any(
            fields[1:3] == ["->", "FLOCK"] and fields[5] == str(os.getpid()) and fields[6] == where
            for fields in (line.split() for line in locks)
            if len(fields) >= 7
        )


async def _until_blocked_on(path: Path) -> None:
    deadline = time.monotonic() + 10
    while not _blocked_on(path):
        assert time.monotonic() < deadline, f"no writer started waiting for {path.name}"
        await asyncio.sleep(0.005)


@needs_proc_locks
def test_no_other_writer_starts_waiting_while_a_priority_writer_waits(tmp_path: Path) -> None:
    """Another process's priority writer (the API's group commit) is waiting for the lock:
    it holds the gate shared, as this test does by hand. A worker-side writer that asks now
    queues behind the gate, so the next priority writer still goes first."""

    async def run() -> list[str]:
        api, worker = Database(_url(tmp_path)), Database(_url(tmp_path))
        await _table(api)
        order: list[str] = []
        gate = os.open(str(tmp_path / "writes.db.lock-gate"), os.O_RDWR)
        try:

            async def write(db: Database, who: str, priority: bool) -> None:
                async with db.write(priority=priority) as conn:
                    order.append(who)
                    await conn.execute(sa.text("INSERT INTO turns VALUES (:w)"), {"w": who})

            fcntl.flock(gate, fcntl.LOCK_SH)  # a priority writer elsewhere is waiting
            later = asyncio.create_task(write(worker, "worker", False))
            await _until_blocked_on(tmp_path / "writes.db.lock-gate")  # the worker's writer queued
            await write(api, "api", True)
            fcntl.flock(gate, fcntl.LOCK_UN)
            await later
        finally:
            os.close(gate)
            await api.dispose()
            await worker.dispose()
        return order

    assert asyncio.run(run()) == ["api", "worker"]


@needs_proc_locks
def test_a_group_commit_takes_what_arrived_while_it_waited_for_the_lock(tmp_path: Path) -> None:
    async def run() -> list[list[int]]:
        other, mine = Database(_url(tmp_path)), Database(_url(tmp_path))
        await _table(other)
        batches: list[list[int]] = []

        async def write_batch(conn: Any, items: list[int]) -> list[Exception | None]:
            batches.append(items)
            return [None] * len(items)

        batcher: Batcher[int] = Batcher(mine, write_batch)
        try:
            release = asyncio.Event()
            held = asyncio.Event()

            async def hold() -> None:
                async with other.write():
                    held.set()
                    await release.wait()

            holding = asyncio.create_task(hold())
            await held.wait()
            first = asyncio.create_task(batcher.submit(1))
            await _until_blocked_on(tmp_path / "writes.db.lock")  # the batcher waits for the lock
            later = [asyncio.create_task(batcher.submit(n)) for n in (2, 3)]
            await asyncio.sleep(0)
            release.set()
            await asyncio.gather(holding, first, *later)
        finally:
            await batcher.close()
            await other.dispose()
            await mine.dispose()
        return batches

    assert asyncio.run(run()) == [[1, 2, 3]]


def test_the_write_ahead_log_is_copied_into_the_database_off_the_write_path(
    tmp_path: Path, wait: Any
) -> None:
    """2 MB written: fewer pages than SQLite's own automatic checkpoint waits for (1,000), so
    only the background checkpointer moves them from the log into the database file."""
    db_file = tmp_path / "writes.db"

    async def write() -> Database:
        db = Database(_url(tmp_path))
        await _table(db)
        async with db.write() as conn:
            await conn.execute(sa.text("CREATE TABLE blobs (data BLOB)"))
            await conn.execute(
                sa.text("INSERT INTO blobs VALUES (:d)"), [{"d": os.urandom(256 * 1024)} for _ in range(8)]
            )
        return db

    loop = asyncio.new_event_loop()
    db = loop.run_until_complete(write())
    try:
        assert db_file.stat().st_size < 1024 * 1024  # committed to the log, not yet copied
        wait(lambda: db_file.stat().st_size >= 2 * 1024 * 1024)
    finally:
        loop.run_until_complete(db.dispose())
        loop.close()


def test_a_group_commit_that_cannot_start_fails_its_callers_instead_of_retrying_forever(
    tmp_path: Path,
) -> None:
    async def run() -> str:
        db = Database(_url(tmp_path))

        async def write_batch(conn: Any, items: list[int]) -> list[Exception | None]:
            return [None] * len(items)

        batcher: Batcher[int] = Batcher(db, write_batch)
        (tmp_path / "writes.db.lock").unlink(missing_ok=True)
        (tmp_path / "writes.db.lock").mkdir()  # the lock file cannot be opened
        try:
            await asyncio.wait_for(batcher.submit(1), 5)
        except OSError as exc:
            return type(exc).__name__
        finally:
            await batcher.close()
            await db.dispose()
        return "written"

    assert asyncio.run(run()) == "IsADirectoryError"
