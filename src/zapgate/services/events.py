"""Customer events into the webhook outbox, in the caller's transaction (transactional outbox)."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate.domain import ids
from zapgate.storage import tables as t
from zapgate.storage import webhook_queue
from zapgate.webhooks import payloads


def subscribed(events: Any, event: str) -> bool:
    if not isinstance(events, list):
        return False
    if "*" in events:
        return True
    return event in events and event not in payloads.WILDCARD_ONLY_EVENTS


EndpointCache = dict[str, list[Any]]


async def emit(conn: AsyncConnection, *, number_id: str, event: str, data: dict[str, Any],
               order_key: str, seq: int, now_ms: int, cache: EndpointCache | None = None) -> int:
    """Queue one event for every active endpoint of the number subscribed to it.

    ``cache`` lets a batch that applies many changes in one transaction read each number's
    endpoints once. Returns how many deliveries were queued; the caller wakes the sender after
    its commit.
    """
    rows = cache.get(number_id) if cache is not None else None
    if rows is None:
        e = t.webhook_endpoints.c
        rows = list((await conn.execute(
            sa.select(e.id, e.events).where(e.number_id == number_id, e.active.is_(True))
        )).all())
        if cache is not None:
            cache[number_id] = rows
    targets = [r.id for r in rows if subscribed(r.events, event)]
    if not targets:
        return 0
    event_id = ids.new_id("evt")
    body = orjson.dumps(payloads.envelope(event_id, event, now_ms, data)).decode()
    # Behind an earlier delivery of the same message still pending: wait for it.
    busy = await webhook_queue.busy_chains(conn, targets, order_key)
    await conn.execute(sa.insert(t.webhook_deliveries), [
        {"id": ids.new_id("whd"), "endpoint_id": endpoint_id, "event_id": event_id,
         "event": event, "body": body, "order_key": order_key, "seq": seq,
         "status": "PENDING", "attempts": 0, "next_attempt_at": now_ms,
         "blocked": endpoint_id in busy, "created_at": now_ms, "updated_at": now_ms}
        for endpoint_id in targets
    ])
    return len(targets)
