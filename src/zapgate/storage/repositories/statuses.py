"""Status changes applied to messages: their timeline rows (``message_events``) and the columns
they set. Functions of the caller's transaction (``conn``).

A hot path (the dispatcher and the inbox apply changes in batches): a batch costs a constant
number of statements, and its rows go in as the plain dicts the service built, straight to a
multi-row INSERT or an ``executemany``; no record is built per row. Locked message rows are
SQLAlchemy rows (attribute access), as :func:`message_store.lock` reads them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import sqlalchemy as sa

from zapgate.domain.lifecycle import Status
from zapgate.domain.queue import LockedMessage
from zapgate.storage import message_store
from zapgate.storage import tables as t
from zapgate.storage.database import Connection

_m, _e = t.messages.c, t.message_events.c


class TimelineRow(TypedDict):
    """A ``message_events`` row as inserted (its id is given by :func:`record`)."""

    message_id: str
    status: str
    at: int
    source: str
    applied: bool
    code: str | None
    detail: str | None


async def lock(conn: Connection, message_id: str) -> LockedMessage | None:
    """The message (with ``from_number``) locked for the caller's transaction, or ``None``."""
    return (await message_store.lock(conn, [message_id])).get(message_id)


async def record(
    conn: Connection, timeline: Sequence[TimelineRow], updates: Mapping[str, Mapping[str, Any]]
) -> list[int]:
    """Insert the ``timeline`` rows, then write ``updates`` (``{message id: {column: value}}``);
    the timeline ids, in the order of ``timeline``."""
    seqs = await _insert_timeline(conn, timeline)
    await _update(conn, updates)
    return seqs


async def _insert_timeline(conn: Connection, rows: Sequence[TimelineRow]) -> list[int]:
    if not rows:
        return []
    if conn.dialect.name == "sqlite":
        # SQLAlchemy can only return ordered ids from SQLite one INSERT per row. SQLite has one
        # writer at a time and this runs inside its write transaction, so the ids can be chosen
        # here (as SQLite itself would: after the largest) and written in one executemany.
        first = int((await conn.execute(sa.select(sa.func.coalesce(sa.func.max(_e.id), 0)))).scalar_one()) + 1
        ids = list(range(first, first + len(rows)))
        await conn.execute(
            sa.insert(t.message_events), [{**row, "id": id_} for row, id_ in zip(rows, ids, strict=True)]
        )
        return ids
    result = await conn.execute(
        sa.insert(t.message_events).returning(_e.id, sort_by_parameter_order=True), list(rows)
    )
    return [int(row[0]) for row in result.all()]


async def _update(conn: Connection, changes: Mapping[str, Mapping[str, Any]]) -> None:
    """One ``executemany`` per set of columns (a batch has one to three: SENT, DELIVERED/READ,
    FAILED)."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for message_id, values in changes.items():
        columns = tuple(sorted(values))
        shapes.setdefault(columns, []).append({"b_id": message_id, **{f"b_{c}": values[c] for c in columns}})
    for columns, params in shapes.items():
        statement = (
            sa.update(t.messages)
            .where(_m.id == sa.bindparam("b_id"))
            .values({c: sa.bindparam(f"b_{c}") for c in columns})
        )
        await conn.execute(statement, params)


async def record_queued(conn: Connection, message_id: str, now_ms: int) -> None:
    await conn.execute(
        sa.insert(t.message_events).values(
            message_id=message_id, status=Status.QUEUED.value, at=now_ms, source="api", applied=True
        )
    )


async def requeue(
    conn: Connection, message_id: str, *, next_at: int, now_ms: int, code: str, detail: str
) -> None:
    """Back to QUEUED, unsent, with its timeline row (source ``provider``)."""
    await conn.execute(
        sa.update(t.messages)
        .where(_m.id == message_id)
        .values(
            status=Status.QUEUED.value,
            next_attempt_at=next_at,
            lease_until=None,
            provider_message_id=None,
            sent_at=None,
            updated_at=now_ms,
            error_message=detail,
        )
    )
    await conn.execute(
        sa.insert(t.message_events).values(
            message_id=message_id,
            status=Status.QUEUED.value,
            at=now_ms,
            source="provider",
            applied=True,
            code=code,
            detail=detail,
        )
    )
