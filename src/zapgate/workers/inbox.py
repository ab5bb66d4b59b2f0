"""The provider inbox: applies stored provider events (status receipts, inbound messages) once
they are due. Real callbacks are stored with ``due_at = now``; sandbox receipts with their
simulated delay."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate.container import Container
from zapgate.domain.lifecycle import Status
from zapgate.services import callbacks, events, lifecycle
from zapgate.storage import tables as t

_log = logging.getLogger("zapgate.inbox")
BATCH = 200


class Inbox:
    name = "inbox"

    def __init__(self, container: Container) -> None:
        self._c = container
        self._timer: asyncio.TimerHandle | None = None
        self._numbers_changed = False

    @property
    def wake(self) -> asyncio.Event:
        return self._c.wake.inbox

    async def tick(self) -> bool:
        now = self._c.clock.now_ms()
        e = t.provider_events.c
        async with self._c.db.write() as conn:
            rows = (await conn.execute(
                sa.select(t.provider_events)
                .where(e.processed_at.is_(None), e.due_at <= now)
                .order_by(e.due_at, e.id).limit(BATCH)
                .with_for_update(skip_locked=True))).all()
            queued = await self._apply_batch(conn, rows, now) if rows else 0
        if queued:  # most callbacks (e.g. a provider's own "sent") queue no customer webhook
            self._c.wake.webhooks.set()
        if self._numbers_changed:
            self._numbers_changed = False
            self._c.wake.numbers.set()
            self._c.wake.dispatch.set()
        if len(rows) < BATCH:
            await self._schedule_next(now)
        return len(rows) == BATCH

    async def _apply_batch(self, conn: AsyncConnection, rows: Sequence[Any], now: int) -> int:
        """Apply the whole batch under one savepoint; if any event fails, redo it one event per
        savepoint so that only the bad event is set aside. Returns the webhooks queued."""
        try:
            async with conn.begin_nested():
                return await self._apply_all(conn, rows, now)
        except Exception as exc:
            if not isinstance(exc, callbacks.NotYetKnown):
                _log.warning("a provider event batch failed; applying its events one by one")
            endpoints: events.EndpointCache = {}
            return sum([await self._apply_one(conn, row, now, endpoints) for row in rows])

    async def _apply_all(self, conn: AsyncConnection, rows: Sequence[Any], now: int) -> int:
        e = t.provider_events.c
        endpoints: events.EndpointCache = {}
        preloaded = await _preload(conn, rows)
        queued = 0
        for row in rows:
            queued += await self._apply(conn, row, now, endpoints, preloaded)
        await conn.execute(sa.update(t.provider_events)
                           .where(e.id.in_([r.id for r in rows]), e.processed_at.is_(None))
                           .values(processed_at=now))
        return queued

    async def _apply_one(self, conn: AsyncConnection, row: Any, now: int,
                         endpoints: events.EndpointCache) -> int:
        e = t.provider_events.c
        try:
            async with conn.begin_nested():
                webhooks = await self._apply(conn, row, now, endpoints, {})
                await conn.execute(sa.update(t.provider_events).where(e.id == row.id)
                                   .values(processed_at=now))
            return webhooks
        except Exception as exc:
            if isinstance(exc, callbacks.NotYetKnown):
                _log.debug("receipt for %s arrived before its send was recorded; retrying", exc)
            else:
                _log.exception("provider event %s could not be applied", row.id)
            await conn.execute(sa.update(t.provider_events).where(e.id == row.id).values(
                attempts=row.attempts + 1, error=repr(exc)[:500],
                due_at=now + min(300_000, 500 * 2 ** min(row.attempts, 9)),
                processed_at=now if row.attempts >= 10 else None))
            return 0

    async def _apply(self, conn: AsyncConnection, row: Any, now: int,
                     endpoints: events.EndpointCache, preloaded: dict[str, Any]) -> int:
        if row.kind == "callback":
            ctx = callbacks.Context(registry=self._c.providers, settings=self._c.settings,
                                    metrics=self._c.metrics, now_ms=now, endpoints=endpoints)
            applied = await callbacks.apply_callback(conn, row, ctx)
            if applied.numbers_changed:
                self._numbers_changed = True
            return applied.webhooks
        if row.kind != "status":
            _log.warning("unknown provider event kind %s", row.kind)
            return 0
        payload = row.payload
        # A preloaded row is used once: a second receipt for the same message must see the
        # state the first one left, so it is read again.
        message = preloaded.pop(str(payload.get("messageId")), None) \
            or await _find_message(conn, payload)
        if message is None:
            _log.info("receipt for unknown message %s", payload.get("providerMessageId"))
            return 0
        change = lifecycle.Change(
            Status(payload["status"]), "provider", code=payload.get("code"),
            detail=payload.get("detail"), provider_message_id=payload.get("providerMessageId"),
            meta_pricing=payload.get("pricing"))
        outcome = await lifecycle.apply(conn, message, change, now_ms=now,
                                        metrics=self._c.metrics, endpoints=endpoints)
        return outcome.webhooks

    async def _schedule_next(self, now: int) -> None:
        e = t.provider_events.c
        async with self._c.db.read() as conn:
            next_due = (await conn.execute(sa.select(sa.func.min(e.due_at))
                                           .where(e.processed_at.is_(None)))).scalar()
        if next_due is None:
            return
        if self._timer is not None:
            self._timer.cancel()
        delay = max(0.001, (next_due - now) / 1000)
        self._timer = asyncio.get_running_loop().call_later(delay, self.wake.set)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


async def _preload(conn: AsyncConnection, rows: Sequence[Any]) -> dict[str, Any]:
    """The messages a batch of receipts refers to by our id, in one query."""
    ids_ = {str(r.payload.get("messageId")) for r in rows
            if r.kind == "status" and r.payload.get("messageId")}
    if not ids_:
        return {}
    query = (
        sa.select(t.messages, t.numbers.c.number.label("from_number"))
        .join(t.numbers, t.numbers.c.id == t.messages.c.number_id)
        .where(t.messages.c.id.in_(ids_))
        .with_for_update(of=t.messages)
    )
    return {row.id: row for row in (await conn.execute(query)).all()}


async def _find_message(conn: AsyncConnection, payload: dict[str, Any]) -> Any:
    message_id = payload.get("messageId")
    if not message_id and payload.get("providerMessageId"):
        message_id = (await conn.execute(sa.select(t.messages.c.id).where(
            t.messages.c.provider_message_id == payload["providerMessageId"]))).scalar()
    if not message_id:
        return None
    return await lifecycle.load_for_update(conn, str(message_id))
