"""Applying status changes to messages: timeline rows, timestamps and webhook events in one
transaction (the caller's)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from zapgate.domain.lifecycle import TIMESTAMP_COLUMN, Status, path
from zapgate.domain.queue import LockedMessage
from zapgate.metrics import Metrics
from zapgate.services import events
from zapgate.storage.database import Connection
from zapgate.storage.repositories import statuses
from zapgate.webhooks import payloads


@dataclass(frozen=True)
class Change:
    target: Status
    source: str  # api | dispatcher | provider | sweeper
    code: str | None = None
    detail: str | None = None
    provider_message_id: str | None = None
    meta_pricing: dict[str, Any] | None = None

    @property
    def taken_by_provider(self) -> bool:
        """A provider's receipt naming its message id: the provider had accepted the message."""
        return self.source == "provider" and self.provider_message_id is not None


@dataclass
class Outcome:
    entered: list[Status]
    webhooks: int


async def load_for_update(conn: Connection, message_id: str) -> LockedMessage | None:
    return await statuses.lock(conn, message_id)


async def apply(
    conn: Connection,
    message: LockedMessage,
    change: Change,
    *,
    now_ms: int,
    metrics: Metrics | None = None,
    endpoints: events.EndpointCache | None = None,
) -> Outcome:
    """Move ``message`` (a row from :func:`load_for_update`) towards ``change.target``.

    A duplicate, stale or impossible change is recorded in the timeline with ``applied=False``
    and changes nothing else.
    """
    outcomes = await apply_many(
        conn,
        {message.id: message},
        [(message.id, change)],
        now_ms=now_ms,
        metrics=metrics,
        endpoints=endpoints,
    )
    return outcomes[0]


async def apply_many(
    conn: Connection,
    messages: Mapping[str, LockedMessage],
    changes: Sequence[tuple[str, Change]],
    *,
    now_ms: int,
    metrics: Metrics | None = None,
    endpoints: events.EndpointCache | None = None,
) -> list[Outcome]:
    """Apply ``changes`` (message id, change), in order, to ``messages`` (rows from
    :func:`message_store.lock`, by id) with a constant number of statements: the timeline rows
    in one INSERT, the message rows in one UPDATE per shape, the webhooks in one INSERT.

    Several changes of one message in a batch see each other (a DELIVERED after a SENT of the
    same batch moves on from SENT). Returns one :class:`Outcome` per change.
    """
    views: dict[str, _Merged] = {}
    updates: dict[str, dict[str, Any]] = {}
    timeline: list[statuses.TimelineRow] = []
    emitted: list[tuple[int, events.Event]] = []  # (timeline index, event without its seq)
    outcomes: list[Outcome] = []
    for message_id, change in changes:
        view = views.get(message_id)
        if view is None:
            row = messages[message_id]
            view = views[message_id] = _Merged(row, updates.setdefault(message_id, {}))
        entered = path(Status(view.status), change.target, provider_took_it=change.taken_by_provider)
        if not entered:
            timeline.append(_timeline_row(message_id, change, change.target, now_ms, False))
            view.updates.update(_late_facts(view, change))
            outcomes.append(Outcome([], 0))
            continue
        view.updates.update(_updates(view, change, entered, now_ms))
        webhooks = 0
        for status in entered:
            emitted_event = _event(view, status, change, now_ms)
            if emitted_event is not None:
                emitted.append((len(timeline), emitted_event))
                webhooks += 1
            timeline.append(_timeline_row(message_id, change, status, now_ms, True))
            if metrics is not None:
                metrics.transitions.labels(status.value).inc()
                metrics.status_lag.labels(status.value).observe(max(0.0, (now_ms - view.created_at) / 1000))
        outcomes.append(Outcome(entered, webhooks))
    seqs = await statuses.record(conn, timeline, {k: v for k, v in updates.items() if v})
    if emitted:
        await events.emit_many(
            conn,
            [replace(event, seq=seqs[index]) for index, event in emitted],
            now_ms=now_ms,
            cache=endpoints,
        )
    return outcomes


def _updates(message: _Merged, change: Change, entered: list[Status], now_ms: int) -> dict[str, Any]:
    updates: dict[str, Any] = {"status": entered[-1].value, "updated_at": now_ms, "lease_until": None}
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


def _late_facts(message: _Merged, change: Change) -> dict[str, Any]:
    """What a receipt that moves nothing still tells: Meta's pricing, and the provider's id,
    when the receipt came after the status it reports (a ``sent`` receipt that waited for the
    dispatcher's own record of the send)."""
    facts: dict[str, Any] = {}
    if change.meta_pricing is not None:
        facts["meta_pricing"] = change.meta_pricing
    if change.provider_message_id and not message.provider_message_id:
        facts["provider_message_id"] = change.provider_message_id
    return facts


class _Merged:
    """A message row with pending updates applied, for building event payloads (a
    :class:`LockedMessage` itself, to the type checker's eyes)."""

    def __init__(self, row: LockedMessage, updates: dict[str, Any]) -> None:
        self.row = row
        self.updates = updates

    def __getattr__(self, name: str) -> Any:
        if name in self.updates:
            return self.updates[name]
        return getattr(self.row, name)


def _timeline_row(
    message_id: str, change: Change, status: Status, now_ms: int, applied: bool
) -> statuses.TimelineRow:
    return {
        "message_id": message_id,
        "status": status.value,
        "at": now_ms,
        "source": change.source,
        "applied": applied,
        "code": change.code,
        "detail": change.detail,
    }


def _event(message: _Merged, status: Status, change: Change, now_ms: int) -> events.Event | None:
    """The customer event for entering ``status`` (its seq is set once the timeline row has its
    id); the data is taken now, as the message is at this step."""
    event = payloads.STATUS_EVENTS.get(status.value)
    if event is None:
        return None
    data = payloads.message_status_data(
        message,
        status=status.value,
        at_ms=now_ms,
        from_number=message.from_number,
        error=(change.detail or change.code) if status is Status.FAILED else None,
        error_code=change.code if status is Status.FAILED else None,
    )
    return events.Event(message.number_id, event, data, message.id, 0)


async def record_queued(conn: Connection, message_id: str, now_ms: int) -> None:
    await statuses.record_queued(conn, message_id, now_ms)


async def requeue(
    conn: Connection, message: LockedMessage, *, next_at: int, now_ms: int, code: str, detail: str
) -> None:
    """Put a SENT message back in the queue: the provider reported a transient failure after it
    had taken the message (the one backwards step of the state machine; the timeline says why,
    and the next attempt emits ``message.sent`` again)."""
    await statuses.requeue(conn, message.id, next_at=next_at, now_ms=now_ms, code=code, detail=detail)
