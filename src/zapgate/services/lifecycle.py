"""Applying status changes to messages: timeline rows, timestamps and webhook events in one
transaction (the caller's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate.domain.lifecycle import TIMESTAMP_COLUMN, Status, path
from zapgate.metrics import Metrics
from zapgate.services import events
from zapgate.storage import tables as t
from zapgate.webhooks import payloads


@dataclass(frozen=True)
class Change:
    target: Status
    source: str  # api | dispatcher | provider | sweeper
    code: str | None = None
    detail: str | None = None
    provider_message_id: str | None = None
    meta_pricing: dict[str, Any] | None = None


@dataclass
class Outcome:
    entered: list[Status]
    webhooks: int


async def load_for_update(conn: AsyncConnection, message_id: str) -> Any:
    query = (
        sa.select(t.messages, t.numbers.c.number.label("from_number"))
        .join(t.numbers, t.numbers.c.id == t.messages.c.number_id)
        .where(t.messages.c.id == message_id)
        .with_for_update(of=t.messages)
    )
    return (await conn.execute(query)).first()


async def apply(conn: AsyncConnection, message: Any, change: Change, *, now_ms: int,
                metrics: Metrics | None = None,
                endpoints: events.EndpointCache | None = None) -> Outcome:
    """Move ``message`` (a row from :func:`load_for_update`) towards ``change.target``.

    A duplicate, stale or impossible change is recorded in the timeline with ``applied=False``
    and changes nothing else.
    """
    entered = path(Status(message.status), change.target)
    if not entered:
        await _timeline(conn, message.id, change, change.target, now_ms, applied=False)
        return Outcome([], 0)
    updates = _updates(message, change, entered, now_ms)
    await conn.execute(sa.update(t.messages).where(t.messages.c.id == message.id)
                       .values(**updates))
    merged = _merged(message, updates)
    webhooks = 0
    for status in entered:
        seq = await _timeline(conn, message.id, change, status, now_ms, applied=True)
        webhooks += await _emit(conn, merged, status, change, now_ms, seq, endpoints)
        if metrics is not None:
            metrics.transitions.labels(status.value).inc()
            metrics.status_lag.labels(status.value).observe(
                max(0.0, (now_ms - message.created_at) / 1000))
    return Outcome(entered, webhooks)


def _updates(message: Any, change: Change, entered: list[Status], now_ms: int) -> dict[str, Any]:
    updates: dict[str, Any] = {"status": entered[-1].value, "updated_at": now_ms,
                               "lease_until": None}
    for status in entered:
        column = TIMESTAMP_COLUMN.get(status)
        if column and getattr(message, column) is None:
            updates[column] = now_ms
    if change.provider_message_id and not message.provider_message_id:
        updates["provider_message_id"] = change.provider_message_id
    if change.meta_pricing is not None:
        updates["meta_pricing"] = change.meta_pricing
    if entered[-1] is Status.FAILED:
        updates["error_code"] = change.code or "PROVIDER_REJECTED"
        updates["error_message"] = change.detail or change.code
    return updates


class _Merged:
    """A message row with pending updates applied, for building event payloads."""

    def __init__(self, row: Any, updates: dict[str, Any]) -> None:
        self._row = row
        self._updates = updates

    def __getattr__(self, name: str) -> Any:
        if name in self._updates:
            return self._updates[name]
        return getattr(self._row, name)


def _merged(row: Any, updates: dict[str, Any]) -> Any:
    return _Merged(row, updates)


async def _timeline(conn: AsyncConnection, message_id: str, change: Change, status: Status,
                    now_ms: int, *, applied: bool) -> int:
    result = await conn.execute(
        sa.insert(t.message_events).values(
            message_id=message_id, status=status.value, at=now_ms, source=change.source,
            applied=applied, code=change.code, detail=change.detail,
        ).returning(t.message_events.c.id)
    )
    return int(result.scalar_one())


async def _emit(conn: AsyncConnection, message: Any, status: Status, change: Change,
                now_ms: int, seq: int, endpoints: events.EndpointCache | None) -> int:
    event = payloads.STATUS_EVENTS.get(status.value)
    if event is None:
        return 0
    data = payloads.message_status_data(
        message, status=status.value, at_ms=now_ms, from_number=message.from_number,
        error=(change.detail or change.code) if status is Status.FAILED else None,
        error_code=change.code if status is Status.FAILED else None,
    )
    return await events.emit(conn, number_id=message.number_id, event=event, data=data,
                             order_key=message.id, seq=seq, now_ms=now_ms, cache=endpoints)


async def record_queued(conn: AsyncConnection, message_id: str, now_ms: int) -> None:
    await conn.execute(sa.insert(t.message_events).values(
        message_id=message_id, status=Status.QUEUED.value, at=now_ms, source="api",
        applied=True))


async def requeue(conn: AsyncConnection, message: Any, *, next_at: int, now_ms: int, code: str,
                  detail: str) -> None:
    """Put a SENT message back in the queue: the provider reported a transient failure after it
    had taken the message (the one backwards step of the state machine; the timeline says why,
    and the next attempt emits ``message.sent`` again)."""
    await conn.execute(sa.update(t.messages).where(t.messages.c.id == message.id).values(
        status=Status.QUEUED.value, next_attempt_at=next_at, lease_until=None,
        provider_message_id=None, sent_at=None, updated_at=now_ms, error_message=detail))
    await conn.execute(sa.insert(t.message_events).values(
        message_id=message.id, status=Status.QUEUED.value, at=now_ms, source="provider",
        applied=True, code=code, detail=detail))
