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
    def __init__(self, db: Database, write_batch: WriteBatch[T], *, max_batch: int = 500) -> None:
        self._db = db
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
                batch = self._pending[: self._max]
                del self._pending[: self._max]
                await self._flush(batch)
            self._drained.set()

    async def _flush(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        items = [item for item, _ in batch]
        try:
            async with self._db.write() as conn:
                outcomes = await self._write_batch(conn, items)
        except Exception as exc:
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
