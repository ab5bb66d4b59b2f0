"""Deadlines and housekeeping: deliverUntil / 7-day expiry, sandbox template approval,
idempotency key expiry, PII redaction, retention, queue gauges."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import sqlalchemy as sa

from zapgate.container import Container
from zapgate.domain import ids
from zapgate.domain.lifecycle import Status
from zapgate.domain.queue import LockedMessage
from zapgate.services import redaction, status_changes
from zapgate.storage import message_store, webhook_queue
from zapgate.storage import tables as t

BATCH = 500
# The queue gauges count exactly up to this many rows (beyond: an estimate, or the cap).
GAUGE_CAP = 10_000


class Sweeper:
    name = "sweeper"
    wake: asyncio.Event | None = None

    def __init__(self, container: Container) -> None:
        self._c = container
        self._next_sweep = 0

    async def tick(self) -> bool:
        now = self._c.clock.now_ms()
        if now < self._next_sweep:
            return False
        self._next_sweep = now + int(self._c.settings.sweep_interval_seconds * 1000)
        expired = await self._expire(now)
        await self._approve_sandbox_templates(now)
        await self._purge_idempotency(now)
        await self._redact(now)
        await self._purge_old(now)
        await self._gauges(now)
        return expired >= BATCH

    async def close(self) -> None:
        return None

    async def _expire(self, now: int) -> int:
        m = t.messages.c
        max_age = int(self._c.settings.never_attempted_max_age_seconds * 1000)
        not_leased = sa.or_(m.lease_until.is_(None), m.lease_until < now)
        # Three range reads of ix_messages_status_until (status, deliver_until, deliver_at),
        # each bounded by what is due, whatever the backlog behind it: queued past deliverUntil;
        # queued with no deliverUntil for longer than the maximum age; sent past deliverUntil.
        due = [
            sa.and_(m.status == "QUEUED", m.deliver_until <= now, not_leased),
            sa.and_(
                m.status == "QUEUED", m.deliver_until.is_(None), m.deliver_at <= now - max_age, not_leased
            ),
            sa.and_(m.status == "SENT", m.deliver_until <= now),
        ]
        webhooks = 0
        ids_: list[str] = []
        # Find candidates without the write lock; each is re-checked under it.
        async with self._c.db.read() as conn:
            for late in due:
                ids_ += (
                    (await conn.execute(sa.select(m.id).where(late).limit(BATCH - len(ids_)))).scalars().all()
                )
                if len(ids_) >= BATCH:
                    break
        if not ids_:
            return 0
        async with self._c.db.write() as conn:
            rows = await message_store.lock(conn, ids_)
            changes = [(row.id, change) for row in rows.values() if (change := _expiry(row, now)) is not None]
            outcomes = await status_changes.apply_many(
                conn, rows, changes, now_ms=now, metrics=self._c.metrics
            )
            webhooks = sum(outcome.webhooks for outcome in outcomes)
        if webhooks:
            self._c.wake.webhooks.set()
        return len(ids_)

    async def _approve_sandbox_templates(self, now: int) -> None:
        c = t.templates.c
        async with self._c.db.read() as conn:
            due = (
                await conn.execute(
                    sa.select(c.id, c.version).where(c.meta_status == "PENDING", c.approve_at <= now)
                )
            ).all()
        if not due:
            return
        async with self._c.db.write() as conn:
            for row in due:
                # Only the version that was due: a PUT committed in between starts a new review.
                approved = await conn.execute(
                    sa.update(t.templates)
                    .where(c.id == row.id, c.version == row.version, c.meta_status == "PENDING")
                    .values(meta_status="APPROVED", updated_at=now)
                )
                if approved.rowcount == 0:
                    continue
                await conn.execute(
                    sa.update(t.template_versions)
                    .where(
                        t.template_versions.c.template_id == row.id,
                        t.template_versions.c.version == row.version,
                    )
                    .values(meta_status="APPROVED")
                )

    async def _purge_idempotency(self, now: int) -> None:
        async with self._c.db.write() as conn:
            await conn.execute(sa.delete(t.idempotency_keys).where(t.idempotency_keys.c.expires_at < now))

    async def _redact(self, now: int) -> None:
        """Each number's PII mode: content past its window goes, a batch per table a sweep."""
        async with self._c.db.read() as conn:
            policies = await redaction.policies(conn)
        if not policies:
            return
        grace = int(self._c.settings.relay_only_delivered_grace_seconds * 1000)
        async with self._c.db.write() as conn:
            await redaction.redact_messages(conn, policies, now_ms=now, grace_ms=grace, limit=BATCH)
        async with self._c.db.write() as conn:
            await redaction.redact_inbound(conn, policies, now_ms=now, limit=BATCH)
        async with self._c.db.write() as conn:
            await redaction.purge_media(conn, policies, now_ms=now, limit=BATCH)

    async def _purge_old(self, now: int) -> None:
        """Retention, in batches: finished messages and webhook deliveries (with their
        attempts) by creation time, a range of their time-ordered ids; applied provider events
        by when they were applied. Each read is a range of an index bounded by what is old
        enough, not a scan of the history still kept."""
        s = self._c.settings
        day = 86_400_000
        m, d, e = t.messages.c, t.webhook_deliveries.c, t.provider_events.c
        targets = [
            (
                t.messages,
                m.id,
                sa.and_(
                    m.id < ids.floor("msg", now - int(s.message_retention_days * day)),
                    m.status.in_(("READ", "FAILED", "CANCELED", "DELIVERED")),
                ),
            ),
            (
                t.webhook_deliveries,
                d.id,
                sa.and_(
                    d.id < ids.floor("whd", now - int(s.webhook_log_retention_days * day)),
                    d.status != "PENDING",
                ),
            ),
            (
                t.provider_events,
                e.id,
                sa.and_(
                    e.processed_at.is_not(None),
                    e.processed_at < now - int(s.provider_event_retention_days * day),
                ),
            ),
        ]
        for table, key, old in targets:
            async with self._c.db.write() as conn:
                ids_ = (
                    (await conn.execute(sa.select(key).where(old).order_by(key).limit(BATCH))).scalars().all()
                )
                if ids_:
                    if table is t.webhook_deliveries:
                        await conn.execute(
                            sa.delete(t.webhook_attempts).where(t.webhook_attempts.c.delivery_id.in_(ids_))
                        )
                    await conn.execute(sa.delete(table).where(key.in_(ids_)))

    async def _gauges(self, now: int) -> None:
        """Queue gauges at a cost bounded by a constant, not by the backlog: each depth is
        counted exactly up to GAUGE_CAP rows, and beyond it PostgreSQL's planner estimates it
        (SQLite reports the cap); the oldest due message is the head of each number's queue
        (one index probe per number)."""
        m, n = t.messages.c, t.numbers.c
        head = (
            sa.select(m.next_attempt_at)
            .where(m.number_id == n.id, m.status == "QUEUED")
            .order_by(m.next_attempt_at)
            .limit(1)
            .correlate(t.numbers)
            .scalar_subquery()
        )
        depths: dict[str, int] = {}
        async with self._c.db.read() as conn:
            for status in ("QUEUED", "SENT"):
                depths[status] = await _capped_count(
                    conn, sa.select(sa.literal(1)).select_from(t.messages).where(m.status == status)
                )
            oldest = (await conn.execute(sa.select(sa.func.min(head)).select_from(t.numbers))).scalar()
            backlog = await webhook_queue.backlog(conn, GAUGE_CAP)
        for status, depth in depths.items():
            self._c.metrics.queue_depth.labels(status).set(depth)
        due = oldest is not None and oldest <= now
        self._c.metrics.oldest_queued_age.set((now - oldest) / 1000 if due else 0)
        self._c.metrics.webhook_backlog.set(backlog)


async def _capped_count(conn: Any, rows: sa.Select[Any]) -> int:
    """How many rows ``rows`` gives: exact up to GAUGE_CAP; past it, PostgreSQL's estimate
    (EXPLAIN: no row is read), SQLite's cap."""
    counted = int(
        (
            await conn.execute(sa.select(sa.func.count()).select_from(rows.limit(GAUGE_CAP).subquery()))
        ).scalar_one()
    )
    if counted < GAUGE_CAP or conn.dialect.name != "postgresql":
        return counted
    compiled = rows.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    plan = (await conn.execute(sa.text(f"EXPLAIN (FORMAT JSON) {compiled}"))).scalar_one()
    plan = orjson.loads(plan) if isinstance(plan, str | bytes) else plan
    return max(counted, int(plan[0]["Plan"]["Plan Rows"]))


def _expiry(row: LockedMessage | None, now: int) -> status_changes.Change | None:
    if row is None:
        return None
    if row.status == "SENT":
        return status_changes.Change(
            Status.FAILED,
            "sweeper",
            code="DELIVERED_NOT_CONFIRMED",
            detail="No delivery receipt before deliverUntil",
        )
    if row.status != "QUEUED" or (row.lease_until is not None and row.lease_until > now):
        return None  # finished, or claimed by a dispatcher since it was selected
    if row.deliver_until is not None and row.deliver_until <= now:
        if row.attempts > 0:
            return status_changes.Change(
                Status.FAILED,
                "sweeper",
                code="EXPIRED_AFTER_ATTEMPTS",
                detail="deliverUntil passed after delivery attempts",
            )
        return status_changes.Change(
            Status.FAILED, "sweeper", code="MESSAGE_EXPIRED", detail="deliverUntil passed before any attempt"
        )
    if row.attempts > 0:
        return status_changes.Change(
            Status.FAILED, "sweeper", code="EXPIRED_AFTER_ATTEMPTS", detail="Not delivered within 7 days"
        )
    return status_changes.Change(
        Status.FAILED,
        "sweeper",
        code="NEVER_ATTEMPTED_MAX_AGE_EXCEEDED",
        detail="Stayed queued for 7 days without an attempt",
    )
