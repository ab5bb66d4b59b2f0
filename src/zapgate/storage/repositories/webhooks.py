"""Customer webhook endpoints, their delivery log and the deliveries queued by hand (a test
event, a redelivery). Methods taking ``conn`` run in the caller's unit of work."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate.domain.webhooks import (
    Attempt,
    DeliveredEvent,
    Endpoint,
    EndpointPatch,
    KeyRef,
    Scope,
    Unattempted,
)
from zapgate.storage import tables as t
from zapgate.storage.database import Database

_e, _d, _a, _k, _n = (
    t.webhook_endpoints.c,
    t.webhook_deliveries.c,
    t.webhook_attempts.c,
    t.api_keys.c,
    t.numbers.c,
)


def _scoped(scope: Scope) -> sa.ColumnElement[bool]:
    """The endpoints a scope may see."""
    clause = _e.workspace_id == scope.workspace_id
    if scope.number_id is not None:
        clause = sa.and_(clause, _e.number_id == scope.number_id)
    return clause


def _endpoint(row: Any, key_refs: tuple[KeyRef, ...]) -> Endpoint:
    return Endpoint(
        id=row.id,
        workspace_id=row.workspace_id,
        number_id=row.number_id,
        name=row.name,
        url=row.url,
        active=bool(row.active),
        events=tuple(row.events),
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_triggered_at=row.last_triggered_at,
        disabled_reason=row.disabled_reason,
        api_keys=key_refs,
    )


def _delivered(row: Any) -> DeliveredEvent:
    return DeliveredEvent(delivery_id=row.delivery_id, event_id=row.event_id, event=row.event, body=row.body)


class WebhookRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- endpoints ---------------------------------------------------------------------------

    @staticmethod
    async def _row(conn: AsyncConnection, scope: Scope, webhook_id: str, *, for_update: bool = False) -> Any:
        query = sa.select(t.webhook_endpoints).where(t.webhook_endpoints.c.id == webhook_id, _scoped(scope))
        if for_update:
            query = query.with_for_update()
        return (await conn.execute(query)).first()

    @staticmethod
    async def _key_refs(conn: AsyncConnection, number_ids: set[str]) -> dict[str, tuple[KeyRef, ...]]:
        """``apiKeys`` of each number: its live keys."""
        if not number_ids:
            return {}
        rows = (
            await conn.execute(
                sa.select(_k.id, _k.name, _k.number_id)
                .where(_k.number_id.in_(number_ids), _k.revoked_at.is_(None))
                .order_by(_k.created_at)
            )
        ).all()
        refs: dict[str, list[KeyRef]] = {}
        for r in rows:
            refs.setdefault(r.number_id, []).append(KeyRef(id=r.id, name=r.name))
        return {number_id: tuple(found) for number_id, found in refs.items()}

    async def endpoint(
        self,
        conn: AsyncConnection,
        scope: Scope,
        webhook_id: str,
        *,
        for_update: bool = False,
        with_keys: bool = True,
    ) -> Endpoint | None:
        """The endpoint in scope (with its number's live keys unless not ``with_keys``); None
        when there is none."""
        row = await self._row(conn, scope, webhook_id, for_update=for_update)
        if row is None:
            return None
        refs = await self._key_refs(conn, {row.number_id}) if with_keys else {}
        return _endpoint(row, refs.get(row.number_id, ()))

    async def get(self, scope: Scope, webhook_id: str) -> Endpoint | None:
        async with self._db.read() as conn:
            return await self.endpoint(conn, scope, webhook_id)

    async def endpoints(self, scope: Scope) -> tuple[Endpoint, ...]:
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(t.webhook_endpoints).where(_scoped(scope)).order_by(_e.created_at, _e.id)
                )
            ).all()
            refs = await self._key_refs(conn, {r.number_id for r in rows})
        return tuple(_endpoint(r, refs.get(r.number_id, ())) for r in rows)

    @staticmethod
    async def live_number(conn: AsyncConnection, *, workspace_id: str, number_id: str) -> bool:
        found = (
            await conn.execute(
                sa.select(_n.id).where(
                    _n.id == number_id, _n.workspace_id == workspace_id, _n.deleted_at.is_(None)
                )
            )
        ).first()
        return found is not None

    @staticmethod
    async def insert(
        conn: AsyncConnection,
        *,
        webhook_id: str,
        workspace_id: str,
        number_id: str,
        name: str,
        url: str,
        events: tuple[str, ...],
        secret_enc: str,
        now_ms: int,
    ) -> None:
        await conn.execute(
            sa.insert(t.webhook_endpoints).values(
                id=webhook_id,
                workspace_id=workspace_id,
                number_id=number_id,
                name=name,
                url=url,
                events=list(events),
                active=True,
                secret_enc=secret_enc,
                created_at=now_ms,
                updated_at=now_ms,
            )
        )

    @staticmethod
    async def update(
        conn: AsyncConnection, webhook_id: str, patch: EndpointPatch, *, restart: bool, now_ms: int
    ) -> None:
        """Apply a patch; ``restart`` also clears an automatic disable and the failure clock."""
        values: dict[str, Any] = {
            f: getattr(patch, f) for f in ("name", "url", "active") if getattr(patch, f) is not None
        }
        if patch.events is not None:
            values["events"] = list(patch.events)
        if restart:
            values.update(disabled_reason=None, failing_since=None)
        await conn.execute(
            sa.update(t.webhook_endpoints)
            .where(t.webhook_endpoints.c.id == webhook_id)
            .values(**values, updated_at=now_ms)
        )

    @staticmethod
    async def delete(conn: AsyncConnection, webhook_id: str) -> None:
        """Its deliveries and attempts go with it (ON DELETE CASCADE)."""
        await conn.execute(sa.delete(t.webhook_endpoints).where(t.webhook_endpoints.c.id == webhook_id))

    @staticmethod
    async def rotate_secret(
        conn: AsyncConnection, webhook_id: str, *, secret_enc: str, previous_until: int, now_ms: int
    ) -> None:
        """The current secret becomes the previous one (until ``previous_until``)."""
        await conn.execute(
            sa.update(t.webhook_endpoints)
            .where(t.webhook_endpoints.c.id == webhook_id)
            .values(
                secret_enc=secret_enc,
                previous_secret_enc=t.webhook_endpoints.c.secret_enc,
                previous_secret_until=previous_until,
                updated_at=now_ms,
            )
        )

    @staticmethod
    async def audit(
        conn: AsyncConnection,
        *,
        workspace_id: str,
        actor: str,
        action: str,
        detail: dict[str, Any],
        now_ms: int,
    ) -> None:
        await conn.execute(
            sa.insert(t.audit_log).values(
                workspace_id=workspace_id, actor=actor, action=action, detail=detail, created_at=now_ms
            )
        )

    # --- deliveries --------------------------------------------------------------------------

    async def drop_pending_batch(self, endpoint_id: str, *, limit: int, now_ms: int) -> int:
        """In one transaction: while the endpoint is inactive, fail up to ``limit`` of its
        PENDING deliveries; returns how many."""
        async with self._db.write() as conn:
            active = (
                await conn.execute(sa.select(_e.active).where(_e.id == endpoint_id).with_for_update())
            ).scalar()
            batch = (
                []
                if active is not False
                else (
                    await conn.execute(
                        sa.select(_d.id)
                        .where(_d.endpoint_id == endpoint_id, _d.status == "PENDING")
                        .limit(limit)
                    )
                )
                .scalars()
                .all()
            )
            if batch:
                await conn.execute(
                    sa.update(t.webhook_deliveries)
                    .where(_d.id.in_(batch))
                    .values(status="FAILED", lease_until=None, updated_at=now_ms)
                )
        return len(batch)

    async def delivery_log(
        self, scope: Scope, webhook_id: str, *, limit: int, event: str | None
    ) -> tuple[tuple[Attempt, ...], tuple[Unattempted, ...]] | None:
        """The newest ``limit`` attempts and deliveries without one (PENDING, or dropped as
        FAILED with no attempt); None when the endpoint is not in scope."""
        delivery_cols = (_d.id.label("delivery_id"), _d.event_id, _d.event, _d.body)
        attempts_q = (
            sa.select(
                _a.attempt,
                _a.status_code,
                _a.response_excerpt,
                _a.duration_ms,
                _a.error,
                _a.created_at,
                *delivery_cols,
            )
            .join(t.webhook_deliveries, _d.id == _a.delivery_id)
            .where(_a.endpoint_id == webhook_id)
            .order_by(_a.id.desc())
            .limit(limit)
        )
        unattempted = sa.or_(_d.status == "PENDING", sa.and_(_d.status == "FAILED", _d.attempts == 0))
        pending_q = (
            sa.select(_d.status, _d.attempts, _d.next_attempt_at, _d.updated_at, *delivery_cols)
            .where(_d.endpoint_id == webhook_id, unattempted)
            .order_by(_d.updated_at.desc(), _d.id.desc())
            .limit(limit)
        )
        if event:
            attempts_q = attempts_q.where(_d.event == event)
            pending_q = pending_q.where(_d.event == event)
        async with self._db.read() as conn:
            if await self._row(conn, scope, webhook_id) is None:
                return None
            attempts = (await conn.execute(attempts_q)).all()
            pending = (await conn.execute(pending_q)).all()
        return (
            tuple(
                Attempt(
                    delivery=_delivered(r),
                    attempt=r.attempt,
                    status_code=r.status_code,
                    response_excerpt=r.response_excerpt,
                    duration_ms=r.duration_ms,
                    error=r.error,
                    created_at=r.created_at,
                )
                for r in attempts
            ),
            tuple(
                Unattempted(
                    delivery=_delivered(r),
                    status=r.status,
                    attempts=r.attempts,
                    next_attempt_at=r.next_attempt_at,
                    updated_at=r.updated_at,
                )
                for r in pending
            ),
        )

    @staticmethod
    async def delivered_event(
        conn: AsyncConnection, webhook_id: str, delivery_id: str
    ) -> DeliveredEvent | None:
        row = (
            await conn.execute(
                sa.select(_d.id.label("delivery_id"), _d.event_id, _d.event, _d.body).where(
                    _d.id == delivery_id, _d.endpoint_id == webhook_id
                )
            )
        ).first()
        return None if row is None else _delivered(row)

    @staticmethod
    async def queue(
        conn: AsyncConnection,
        *,
        delivery_id: str,
        endpoint_id: str,
        event_id: str,
        event: str,
        body: str,
        now_ms: int,
    ) -> None:
        """A delivery with its own order key: it waits behind nothing and nothing waits on it."""
        await conn.execute(
            sa.insert(t.webhook_deliveries).values(
                id=delivery_id,
                endpoint_id=endpoint_id,
                event_id=event_id,
                event=event,
                body=body,
                order_key=delivery_id,
                seq=0,
                status="PENDING",
                attempts=0,
                next_attempt_at=now_ms,
                created_at=now_ms,
                updated_at=now_ms,
            )
        )
