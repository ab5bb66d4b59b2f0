"""Customer events into the webhook outbox, in the caller's transaction (transactional outbox)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from zapgate.domain import ids
from zapgate.domain.outbox import Subscriber
from zapgate.storage.database import Connection
from zapgate.storage.repositories import outbox
from zapgate.webhooks import payloads


def subscribed(events: Any, event: str) -> bool:
    if not isinstance(events, list):
        return False
    if "*" in events:
        return True
    return event in events and event not in payloads.WILDCARD_ONLY_EVENTS


# A number's active endpoints, by number id, read once per transaction.
EndpointCache = dict[str, list[Subscriber]]


@dataclass(frozen=True)
class Event:
    """One customer event of a number, ordered after the earlier events of ``order_key`` (one
    message, one number) by ``seq``."""

    number_id: str
    event: str
    data: dict[str, Any]
    order_key: str
    seq: int


async def emit(
    conn: Connection,
    *,
    number_id: str,
    event: str,
    data: dict[str, Any],
    order_key: str,
    seq: int,
    now_ms: int,
    cache: EndpointCache | None = None,
) -> int:
    """Queue one event for every active endpoint of the number subscribed to it (see
    :func:`emit_many`)."""
    return await emit_many(conn, [Event(number_id, event, data, order_key, seq)], now_ms=now_ms, cache=cache)


async def emit_many(
    conn: Connection, items: Sequence[Event], *, now_ms: int, cache: EndpointCache | None = None
) -> int:
    """Queue events for every active endpoint of their numbers subscribed to them, in the
    caller's transaction, with a constant number of statements whatever the batch size: the
    endpoints of numbers not in ``cache`` (one query), the chains already busy (one query), the
    deliveries (one INSERT).

    ``cache`` lets several batches in one transaction read each number's endpoints once. Returns
    how many deliveries were queued; the caller wakes the sender after its commit.
    """
    if not items:
        return 0
    endpoints = cache if cache is not None else {}
    await outbox.load_subscribers(conn, {item.number_id for item in items} - endpoints.keys(), endpoints)
    rows: list[dict[str, Any]] = []
    for item in items:
        targets = [r.id for r in endpoints[item.number_id] if subscribed(r.events, item.event)]
        if not targets:
            continue
        event_id = ids.new_id("evt")
        body = orjson.dumps(payloads.envelope(event_id, item.event, now_ms, item.data)).decode()
        rows += [
            {
                "id": ids.new_id("whd"),
                "endpoint_id": endpoint_id,
                "event_id": event_id,
                "event": item.event,
                "body": body,
                "order_key": item.order_key,
                "seq": item.seq,
                "status": "PENDING",
                "attempts": 0,
                "next_attempt_at": now_ms,
                "blocked": False,
                "created_at": now_ms,
                "updated_at": now_ms,
            }
            for endpoint_id in targets
        ]
    if not rows:
        return 0
    await outbox.queue(conn, rows)  # stored blocked behind an earlier delivery of its chain
    return len(rows)
