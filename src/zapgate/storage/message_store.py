"""Set-based statements over messages, so a worker stage that changes many
messages costs a constant number of statements per batch, not a round trip per message.

- :func:`lock` reads a batch of messages (with the sending number) in one statement, locked for
  the caller's transaction on PostgreSQL, always in id order so that two batches locking
  overlapping sets cannot deadlock.

The writes of a status change (timeline rows, message columns) are in
``storage/repositories/statuses.py``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate.domain.queue import DispatchNumber, LockedMessage, QueuedMessage
from zapgate.storage import tables as t
from zapgate.storage.lists import among

_LOCK_CHUNK = 500  # ids per statement: far below both databases' parameter limits


# Stored for the API's views only: a status change never reads them (``request`` is the whole
# original request; decoding it per locked row was a measurable share of a receipt's cost).
_VIEW_ONLY = frozenset({"request", "labels", "meta_pricing"})
_WORKING_COLUMNS = [c for c in t.messages.c if c.name not in _VIEW_ONLY]


def _with_number() -> sa.Select[Any]:
    return sa.select(*_WORKING_COLUMNS, t.numbers.c.number.label("from_number")).join(
        t.numbers, t.numbers.c.id == t.messages.c.number_id
    )


async def lock(conn: AsyncConnection, message_ids: Collection[str]) -> dict[str, LockedMessage]:
    """The messages named, with ``from_number``, by id (missing ids are absent)."""
    wanted = sorted(set(message_ids))
    found: dict[str, LockedMessage] = {}
    m = t.messages.c
    for start in range(0, len(wanted), _LOCK_CHUNK):
        chunk = wanted[start : start + _LOCK_CHUNK]
        query = (
            _with_number()
            .where(among(conn, m.id, chunk))
            .order_by(m.id)
            .with_for_update(of=t.messages, key_share=True)
        )
        found.update((row.id, row) for row in (await conn.execute(query)).all())
    return found


# Written as the partial indexes ``ix_messages_due`` / ``ix_messages_attempted`` are, literally
# (a planner matches a partial index only to its own predicate, never to a bound parameter).
_QUEUED = sa.text("messages.status = 'QUEUED'")


def _lease_free(now: int) -> sa.ColumnElement[bool]:
    m = t.messages.c
    return sa.or_(m.lease_until.is_(None), m.lease_until < now)


async def held_contacts(conn: AsyncConnection, number_id: str, now: int) -> set[str]:
    """Contacts of the number with a message in flight (leased) or waiting for its retry: their
    later messages wait (per-contact order). Reads only attempted, queued messages."""
    statement = _HELD_SQLITE if conn.dialect.name == "sqlite" else _HELD
    rows = await conn.execute(statement, {"number_id": number_id, "now": now})
    return set(rows.scalars().all())


# SQLite's planner would take ix_messages_queue (every queued message of the number) without
# being told; INDEXED BY is SQLite's own syntax, hence two spellings.
_HELD_SQL = (
    "SELECT destination FROM messages{hint} WHERE number_id = :number_id"
    " AND status = 'QUEUED' AND attempts > 0"
    " AND (lease_until > :now OR next_attempt_at > :now)"
)
_HELD = sa.text(_HELD_SQL.format(hint=""))
_HELD_SQLITE = sa.text(_HELD_SQL.format(hint=" INDEXED BY ix_messages_attempted"))


async def due(
    conn: AsyncConnection, number_id: str, now: int, limit: int, *, skip_contacts: Collection[str] = ()
) -> list[QueuedMessage]:
    """Up to ``limit`` due, unleased messages of the number in queue order (``deliver_at``,
    then id: the order they were accepted, a scheduled one at its time), with the contact's
    24 h window. An index range scan of the number's queued messages from the head."""
    m, c = t.messages.c, t.contacts.c
    query = (
        sa.select(*_WORKING_COLUMNS, c.last_inbound_at, c.last_inbound_provider_id)
        .select_from(
            t.messages.outerjoin(t.contacts, sa.and_(c.number_id == m.number_id, c.contact == m.destination))
        )
        .where(
            m.number_id == number_id,
            _QUEUED,
            m.deliver_at <= now,
            m.next_attempt_at <= now,
            _lease_free(now),
            sa.or_(m.deliver_until.is_(None), m.deliver_until > now),
        )
        .order_by(m.deliver_at, m.id)
        .limit(limit)
    )
    if skip_contacts:
        query = query.where(among(conn, m.destination, sorted(skip_contacts), negate=True))
    rows: list[QueuedMessage] = list((await conn.execute(query)).all())
    return rows


async def claim(
    conn: AsyncConnection,
    number_id: str,
    message_ids: Collection[str],
    *,
    now: int,
    lease_ms: int,
    owner: str,
) -> set[str]:
    """Lease the named messages of the number that are still queued and unleased (an attempt
    begins), if ``owner`` still holds the number's lease at ``now`` (a worker whose number lease
    ran out claims nothing, whatever it believes); the ids actually claimed. The lease check
    is one uncorrelated probe (evaluated once, not per row)."""
    if not message_ids:
        return set()
    m, lz = t.messages.c, t.number_leases.c
    fenced = sa.exists().where(lz.number_id == number_id, lz.owner == owner, lz.lease_until > now)
    rows = await conn.execute(
        sa.update(t.messages)
        .where(
            among(conn, m.id, sorted(message_ids)),
            _unindexed(conn, m.number_id) == number_id,
            _unindexed(conn, m.status) == "QUEUED",
            _lease_free(now),
            fenced,
        )
        .values(lease_until=now + lease_ms, attempts=m.attempts + 1, last_attempt_at=now, updated_at=now)
        .returning(m.id)
    )
    return set(rows.scalars().all())


def _unindexed(conn: AsyncConnection, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """On SQLite, ``+column``: a term its planner will not answer from an index, so that a
    statement naming its rows by id reads them by primary key. Without statistics (or with
    stale ones) SQLite took the status or number index and read every queued message."""
    if conn.dialect.name != "sqlite":
        return column
    return sa.literal_column(f"+{t.messages.name}.{column.key}")


async def release(conn: AsyncConnection, message_ids: Collection[str], *, now: int) -> None:
    """Give up the lease of these messages if still queued (their attempt was cut off)."""
    if not message_ids:
        return
    m = t.messages.c
    await conn.execute(
        sa.update(t.messages)
        .where(among(conn, m.id, sorted(message_ids)), m.status == "QUEUED")
        .values(lease_until=None, updated_at=now)
    )


async def release_claims(conn: AsyncConnection, number_ids: Collection[str], now: int) -> int:
    """Free at once the messages of these numbers still leased for an attempt (their worker's
    number lease ran out: it is gone, so its claims are void). How many were freed. Rows are
    locked in id order, skipping any locked now: a worker that is still alive and recording
    its answer for one is finishing it (locking in another order than the outcome writer's
    would deadlock with it)."""
    if not number_ids:
        return 0
    m = t.messages.c
    claimed = (
        sa.select(m.id)
        .where(among(conn, m.number_id, sorted(number_ids)), _QUEUED, _ATTEMPTED, m.lease_until > now)
        .order_by(m.id)
        .with_for_update(skip_locked=True, key_share=True)
    )
    result = await conn.execute(
        sa.update(t.messages)
        .where(m.id.in_(claimed.scalar_subquery()))
        .values(lease_until=None, updated_at=now)
    )
    return int(result.rowcount or 0)


# With _QUEUED, the predicate of ix_messages_attempted (a leased message has been attempted).
_ATTEMPTED = sa.text("messages.attempts > 0")


async def find_by_provider_ids(
    conn: AsyncConnection, provider_ids: Collection[str]
) -> dict[tuple[str, str], str]:
    """``{(number id, provider message id): message id}`` for the provider ids named."""
    wanted = sorted(set(provider_ids))
    found: dict[tuple[str, str], str] = {}
    m = t.messages.c
    for start in range(0, len(wanted), _LOCK_CHUNK):
        chunk = wanted[start : start + _LOCK_CHUNK]
        rows = (
            await conn.execute(
                sa.select(m.id, m.number_id, m.provider_message_id).where(
                    among(conn, m.provider_message_id, chunk)
                )
            )
        ).all()
        found.update(((r.number_id, r.provider_message_id), r.id) for r in rows)
    return found


async def open_numbers(conn: AsyncConnection, number_ids: Collection[str]) -> list[DispatchNumber]:
    """Those of the numbers that are live with a link OPEN (the ones the dispatcher may send
    for; a dual number sends through its secondary link while the primary is down)."""
    n = t.numbers.c
    open_link = sa.or_(n.state == "OPEN", n.secondary_state == "OPEN")
    rows: list[DispatchNumber] = list(
        (
            await conn.execute(
                sa.select(t.numbers).where(n.id.in_(number_ids), n.deleted_at.is_(None), open_link)
            )
        ).all()
    )
    return rows


async def retry_later(
    conn: AsyncConnection, message_id: str, *, next_at: int, now: int, error: str, detail: str
) -> None:
    """Put an attempted message back in the queue until ``next_at`` (a transient provider
    error): its lease ends, and the timeline says why (``RETRY_SCHEDULED``, not applied)."""
    m = t.messages.c
    await conn.execute(
        sa.update(t.messages)
        .where(m.id == message_id)
        .values(next_attempt_at=next_at, lease_until=None, updated_at=now, error_message=error)
    )
    await conn.execute(
        sa.insert(t.message_events).values(
            message_id=message_id,
            status="QUEUED",
            at=now,
            source="dispatcher",
            applied=False,
            code="RETRY_SCHEDULED",
            detail=detail,
        )
    )


async def add_provider_events(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Queue provider events for the inbox (a simulated provider's receipts, say)."""
    if rows:
        await conn.execute(sa.insert(t.provider_events), rows)
