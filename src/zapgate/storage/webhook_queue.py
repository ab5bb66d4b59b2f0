"""The customer-webhook queue (``webhook_deliveries``): queue verbs over SQL, so the workers and
services that fill and drain it never write its statements.

Chains. Deliveries sharing an endpoint and an order key (one message's events) are delivered one
after another. A delivery queued while an earlier one of its chain is PENDING is stored
``blocked``; the sender claims only unblocked, due deliveries (a range scan of a partial index,
whatever the backlog behind them), and finishing a delivery unblocks the head of its chain.
Unblocking a chain's head is always safe (nothing earlier is pending) and idempotent.

On PostgreSQL, queueing and finishing run in different transactions at the same time; without
care a delivery could be queued blocked behind one that is finishing while the finisher looks
for a next that it cannot see yet, and wait forever. So whoever queues into a chain holds a
shared advisory lock on that chain until it commits, and whoever finishes deliveries first
tries the exclusive lock of each of their chains: a finisher then sees every delivery queued
into the chains it holds, and a queuer that comes later sees the finished one. The locks are
per chain (a hash of endpoint and order key), so work on different messages never waits on
each other, and a finisher never waits at all: the deliveries whose chain it could not take
are left for its next batch. Queuers take their locks in key order and finishers never block,
so no cycle can form. SQLite serialises writers; it needs none of this.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate.storage import tables as t
from zapgate.storage.lists import among

# pg_advisory_xact_lock(classid, objid): the class of webhook-chain locks ("zgwh"); the object
# is a 32-bit hash of the chain (a collision only makes two chains share a lock).
CHAIN_LOCK_CLASS = 0x7A67_7768

Chain = tuple[str, str]  # (endpoint id, order key)
# Written as the partial index ``ix_webhook_deliveries_ready`` is, literally: the planners
# (SQLite's above all) use a partial index only for a predicate they can match to its own.
_READY = sa.text("webhook_deliveries.status = 'PENDING' AND NOT webhook_deliveries.blocked")
# For queries meant to use ``ix_webhook_deliveries_pending`` (a bound "PENDING" would not).
PENDING = sa.text("webhook_deliveries.status = 'PENDING'")


def _postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


class ChainBusy(Exception):
    """A delivery's chain was being queued into: finish it in a later transaction."""


def chain_key(chain: Chain) -> int:
    """The chain's advisory lock object id (a signed 32-bit hash)."""
    value = zlib.crc32(f"{chain[0]}\x00{chain[1]}".encode())
    return value - (1 << 32) if value >= 1 << 31 else value


async def hold_for_queueing(conn: AsyncConnection, chains: Iterable[Chain]) -> None:
    """Before reading chains to queue into them: their shared locks, in key order, held until
    the transaction ends (one statement)."""
    if not _postgres(conn):
        return
    keys = sorted({chain_key(chain) for chain in chains})
    if keys:
        await conn.execute(
            sa.text(
                "SELECT pg_advisory_xact_lock_shared(:cls, k) FROM unnest(CAST(:keys AS integer[])) AS k"
            ),
            {"cls": CHAIN_LOCK_CLASS, "keys": keys},
        )


async def hold_for_finishing(conn: AsyncConnection, chains: Iterable[Chain]) -> set[Chain]:
    """The first statement of a transaction that finishes deliveries: the exclusive lock of
    each chain it can take now, without waiting (one statement); the chains held. A chain
    whose lock a queuer holds is not held: finish its deliveries in a later transaction."""
    wanted = set(chains)
    if not _postgres(conn) or not wanted:
        return wanted
    keys = sorted({chain_key(chain) for chain in wanted})
    rows = await conn.execute(
        sa.text(
            "SELECT k, pg_try_advisory_xact_lock(:cls, k) AS held FROM unnest(CAST(:keys AS integer[])) AS k"
        ),
        {"cls": CHAIN_LOCK_CLASS, "keys": keys},
    )
    held = {row.k for row in rows if row.held}
    return {chain for chain in wanted if chain_key(chain) in held}


async def busy_chains_of(conn: AsyncConnection, chains: Iterable[Chain]) -> set[Chain]:
    """The chains among ``chains`` with a PENDING delivery (one statement)."""
    wanted = set(chains)
    if not wanted:
        return set()
    await hold_for_queueing(conn, wanted)
    d = t.webhook_deliveries.c
    rows = (
        await conn.execute(
            sa.select(d.endpoint_id, d.order_key)
            .distinct()
            .where(
                among(conn, d.endpoint_id, sorted({e for e, _ in wanted})),
                among(conn, d.order_key, sorted({k for _, k in wanted})),
                d.status == "PENDING",
            )
        )
    ).all()
    return {(r.endpoint_id, r.order_key) for r in rows} & wanted


async def enqueue(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Insert deliveries (``blocked`` already decided under :func:`hold_for_queueing`)."""
    await conn.execute(sa.insert(t.webhook_deliveries), rows)


async def unblock_heads(conn: AsyncConnection, chains: Iterable[Chain]) -> None:
    """After finishing deliveries: the earliest PENDING delivery of each chain may go (one
    statement for the whole batch, one statement text whatever its size on PostgreSQL).

    It ranks the PENDING deliveries of every (endpoint, order key) pair of the batch's
    endpoints and keys, a few more than the chains finished (unblocking any chain's head is
    safe), and unblocks each chain's first. Only the batch's own chains are read, through
    ``ix_webhook_deliveries_order`` (two IN lists: a row-value IN made SQLite scan every PENDING
    row). The ``NOT EXISTS (an earlier PENDING delivery)`` this replaced let PostgreSQL hash
    every PENDING delivery on each call: 8 ms with 30,000 pending, against 0.7 ms now
    (bench/RESULTS.md, session 11)."""
    unique = set(chains)
    if not unique:
        return
    d = t.webhook_deliveries.c
    first = sa.func.row_number().over(partition_by=(d.endpoint_id, d.order_key), order_by=(d.seq, d.id))
    ranked = (
        sa.select(d.id, d.blocked, first.label("rank"))
        .where(
            among(conn, d.endpoint_id, sorted({e for e, _ in unique})),
            among(conn, d.order_key, sorted({k for _, k in unique})),
            d.status == sa.literal_column("'PENDING'"),
        )
        .subquery("pending")
    )
    heads = sa.select(ranked.c.id).where(ranked.c.rank == 1, ranked.c.blocked.is_(True))
    await conn.execute(sa.update(t.webhook_deliveries).where(d.id.in_(heads)).values(blocked=False))


def claim_query(now: int, limit: int, *, skip_endpoints: Iterable[str] = ()) -> sa.Select[Any]:
    """Due, unblocked, unleased deliveries of active endpoints, oldest first, locked for the
    claim (rows another worker is claiming are skipped)."""
    d, e = t.webhook_deliveries.c, t.webhook_endpoints.c
    query = (
        sa.select(
            d.id,
            d.endpoint_id,
            d.event_id,
            d.event,
            d.body,
            d.attempts,
            d.order_key,
            e.url,
            e.workspace_id,
            e.secret_enc,
            e.previous_secret_enc,
            e.previous_secret_until,
        )
        .join(t.webhook_endpoints, e.id == d.endpoint_id)
        .where(_READY, d.next_attempt_at <= now, lease_free(now), e.active.is_(True))
        .order_by(d.next_attempt_at, d.id)
        .limit(limit)
        .with_for_update(of=t.webhook_deliveries, skip_locked=True)
    )
    skip = list(skip_endpoints)
    if skip:
        # Otherwise one endpoint's backlog could fill the whole candidate window.
        query = query.where(d.endpoint_id.not_in(skip))
    return query


def lease_free(now: int) -> sa.ColumnElement[bool]:
    d = t.webhook_deliveries.c
    return sa.or_(d.lease_until.is_(None), d.lease_until < now)


@dataclass(frozen=True)
class Finished:
    """One attempt's result for its delivery: ``status`` PENDING (retry at
    ``next_attempt_at``), SUCCESS or FAILED."""

    delivery_id: str
    attempt: int
    status: str
    status_code: int | None
    next_attempt_at: int | None


async def finish(conn: AsyncConnection, results: list[Finished], *, now_ms: int) -> set[str]:
    """Record attempt results; returns the ids of the deliveries that still exist.

    Each update is guarded by the attempt count: when a lease ran out and another worker
    already recorded this attempt, its result stands. Results that share their values (a batch
    of first-attempt successes, typically) go in one statement.
    """
    d = t.webhook_deliveries.c
    groups: dict[tuple[int, str, int | None, int | None], list[str]] = defaultdict(list)
    for r in results:
        groups[(r.attempt, r.status, r.status_code, r.next_attempt_at)].append(r.delivery_id)
    for (attempt, status, code, next_at), ids_ in groups.items():
        values: dict[str, Any] = {
            "status": status,
            "attempts": attempt,
            "lease_until": None,
            "last_status_code": code,
            "updated_at": now_ms,
        }
        if next_at is not None:
            values["next_attempt_at"] = next_at
        await conn.execute(
            sa.update(t.webhook_deliveries)
            .where(among(conn, d.id, ids_), d.status == "PENDING", d.attempts == attempt - 1)
            .values(**values)
        )
    return set(
        (await conn.execute(sa.select(d.id).where(among(conn, d.id, [r.delivery_id for r in results]))))
        .scalars()
        .all()
    )


async def log_attempts(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(sa.insert(t.webhook_attempts), rows)


# An endpoint's last-triggered time is refreshed at most this often: every finishing batch
# touching every endpoint it delivered to made concurrent finishers queue on those rows.
TOUCH_EVERY_MS = 1000


async def touch_endpoints(conn: AsyncConnection, endpoint_ids: list[str], *, now_ms: int) -> None:
    """Endpoints that just took a delivery: last triggered now, no longer failing. Only rows
    that need it (failing, or not touched for ``TOUCH_EVERY_MS``), in id order, skipping a row
    another finisher is touching right now: no finisher waits here for another."""
    if not endpoint_ids:
        return
    e = t.webhook_endpoints.c
    stale = (
        sa.select(e.id)
        .where(
            among(conn, e.id, sorted(endpoint_ids)),
            sa.or_(
                e.failing_since.is_not(None),
                e.last_triggered_at.is_(None),
                e.last_triggered_at < now_ms - TOUCH_EVERY_MS,
            ),
        )
        .order_by(e.id)
        .with_for_update(skip_locked=True, key_share=True)
    )
    await conn.execute(
        sa.update(t.webhook_endpoints)
        .where(e.id.in_(stale.scalar_subquery()))
        .values(last_triggered_at=now_ms, failing_since=None)
    )


async def lock_endpoints(conn: AsyncConnection, endpoint_ids: list[str]) -> None:
    """Lock these endpoints' rows in id order (before updating several of them one by one)."""
    if endpoint_ids:
        e = t.webhook_endpoints.c
        await conn.execute(
            sa.select(e.id)
            .where(among(conn, e.id, sorted(endpoint_ids)))
            .order_by(e.id)
            .with_for_update(key_share=True)
        )


async def next_due(conn: AsyncConnection, *, after_ms: int) -> int | None:
    """When the next delivery waiting for a retry is due (None: none waits)."""
    d = t.webhook_deliveries.c
    value = (
        await conn.execute(
            sa.select(sa.func.min(d.next_attempt_at)).where(PENDING, d.next_attempt_at > after_ms)
        )
    ).scalar()
    return None if value is None else int(value)


async def backlog(conn: AsyncConnection, cap: int) -> int:
    """Deliveries still to make, counted up to ``cap`` (an index range, not a table scan)."""
    capped = sa.select(sa.literal(1)).select_from(t.webhook_deliveries).where(PENDING).limit(cap).subquery()
    return int((await conn.execute(sa.select(sa.func.count()).select_from(capped))).scalar_one())
