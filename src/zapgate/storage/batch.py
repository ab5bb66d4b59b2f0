"""Group commit: many concurrent callers, one transaction.

Each caller submits an item and awaits its own result; a single task takes everything pending,
writes it in one transaction (``write_batch``) and answers every caller. Under load this turns N
commits into one, which is what lets SQLite (one writer at a time) keep up with the API. A caller
is answered only after the commit, so a 2xx still means "durably written".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate.storage.database import Database

T = TypeVar("T")
# Returns, per item, None (written) or the exception to raise to that item's caller.
WriteBatch = Callable[[AsyncConnection, list[T]], Awaitable[list[Exception | None]]]


class Batcher(Generic[T]):
    def __init__(
        self, db: Database, write_batch: WriteBatch[T], *, max_batch: int = 500, priority: bool = False
    ) -> None:
        """``priority``: a client waits on this batch (see ``Database.write``)."""
        self._db = db
        self._priority = priority
        self._write_batch = write_batch
        self._max = max_batch
        self._pending: list[tuple[T, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._drained.clear()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="zapgate:batcher")
        self._wake.set()
        await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                await self._flush()
            self._drained.set()

    async def _flush(self) -> None:
        """One transaction. The batch is taken once the write lock is held, so whatever
        arrived while this task waited for the lock rides along (under contention, waiting
        fills the batch instead of starting the next one)."""
        batch: list[tuple[T, asyncio.Future[None]]] = []
        try:
            async with self._db.write(priority=self._priority) as conn:
                batch = self._pending[: self._max]
                del self._pending[: self._max]
                outcomes = await self._write_batch(conn, [item for item, _ in batch])
        except Exception as exc:
            if not batch:  # failed before the batch was taken (no connection, say)
                batch = self._pending[: self._max]
                del self._pending[: self._max]
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if outcome is None:
                future.set_result(None)
            else:
                future.set_exception(outcome)

    async def close(self) -> None:
        if self._task is not None:
            if self._pending:
                await self._drained.wait()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
