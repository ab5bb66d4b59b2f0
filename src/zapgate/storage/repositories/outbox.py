"""The webhook outbox: customer events become ``webhook_deliveries`` rows in the caller's
transaction (functions taking ``conn``), a constant number of statements per batch.

Deliveries are measured per event (status changes fan out to them): :func:`queue` takes the
rows as ``webhook_deliveries`` dicts and inserts them as they are, in one statement."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from zapgate.domain.outbox import Subscriber
from zapgate.storage import tables as t
from zapgate.storage import webhook_queue
from zapgate.storage.database import Connection
from zapgate.storage.lists import among


async def load_subscribers(conn: Connection, number_ids: set[str], into: dict[str, list[Subscriber]]) -> None:
    """The active endpoints of each of ``number_ids`` (one query), into ``into`` by number id
    (an empty list for a number without any)."""
    if not number_ids:
        return
    e = t.webhook_endpoints.c
    for number_id in number_ids:
        into[number_id] = []
    rows = (
        await conn.execute(
            sa.select(e.id, e.number_id, e.events)
            .where(among(conn, e.number_id, sorted(number_ids)), e.active.is_(True))
            .order_by(e.id)
        )
    ).all()
    for row in rows:
        into[row.number_id].append(Subscriber(id=row.id, events=row.events))


async def queue(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert deliveries in their order; one behind an earlier one of its chain (still pending,
    or earlier in ``rows``) is stored blocked (sets each row's ``blocked``). Two statements
    (and the chains' locks on PostgreSQL: :func:`webhook_queue.hold_for_queueing`)."""
    busy = await webhook_queue.busy_chains_of(conn, {(row["endpoint_id"], row["order_key"]) for row in rows})
    for row in rows:
        chain = (row["endpoint_id"], row["order_key"])
        row["blocked"] = chain in busy
        busy.add(chain)
    await webhook_queue.enqueue(conn, rows)
