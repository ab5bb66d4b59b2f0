"""Outbound messages: the read side (find one, its timeline, a filtered page) and the accept
path (the sending number, the 24 h window, Idempotency-Keys, and the group commit's quota count
and inserts, which run in the batch's transaction as module functions taking ``conn``).

The group commit is measured per message: :func:`insert_accepted` passes each
:class:`PendingSend`'s ``row`` dict straight to one INSERT per batch and builds no record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa

from zapgate.clock import parse_iso
from zapgate.domain.lifecycle import Status
from zapgate.domain.messages import (
    Accepted,
    HeldKey,
    Message,
    MessagePage,
    MessageQuery,
    PendingSend,
    Reservation,
    SendingNumber,
    TimelineEntry,
)
from zapgate.storage import tables as t
from zapgate.storage.database import Connection, Database

_m, _idem = t.messages.c, t.idempotency_keys.c


def _message(row: Any) -> Message:
    return Message(
        id=row.id,
        number_id=row.number_id,
        status=Status(row.status),
        correlation_id=row.correlation_id,
        destination=row.destination,
        origin=row.origin,
        created_at=row.created_at,
        deliver_at=row.deliver_at,
        attempts=row.attempts,
        provider_message_id=row.provider_message_id,
        template_name=row.template_name,
        deliver_until=row.deliver_until,
        sent_at=row.sent_at,
        delivered_at=row.delivered_at,
        read_at=row.read_at,
        failed_at=row.failed_at,
        canceled_at=row.canceled_at,
        error_code=row.error_code,
        error_message=row.error_message,
        meta_pricing=row.meta_pricing,
        labels=tuple(row.labels or ()),
        redacted_at=row.redacted_at,
        lease_until=row.lease_until,
    )


class MessageRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, number_id: str, ref: str) -> Message | None:
        """By internal id, correlation id or provider id, within the number."""
        query = (
            sa.select(t.messages)
            .where(
                _m.number_id == number_id,
                sa.or_(_m.id == ref, _m.correlation_id == ref, _m.provider_message_id == ref),
            )
            .limit(1)
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _message(row)

    async def timeline(self, number_id: str, message_id: str) -> tuple[TimelineEntry, ...]:
        e = t.message_events.c
        query = (
            sa.select(t.message_events)
            .join(t.messages, _m.id == e.message_id)
            .where(_m.number_id == number_id, _m.id == message_id)
            .order_by(e.id)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return tuple(
            TimelineEntry(
                status=r.status, at=r.at, source=r.source, applied=r.applied, code=r.code, detail=r.detail
            )
            for r in rows
        )

    async def request_body(self, number_id: str, message_id: str) -> Any:
        """The request body as the API accepted it (None for a message stored without one)."""
        query = sa.select(_m.request).where(_m.number_id == number_id, _m.id == message_id)
        async with self._db.read() as conn:
            return (await conn.execute(query)).scalar_one_or_none()

    async def page(self, query: MessageQuery) -> MessagePage:
        where: list[Any] = [_m.number_id == query.number_id]
        if query.statuses:
            where.append(_m.status.in_([s.value for s in query.statuses]))
        if query.created_from is not None:
            where.append(_m.created_at >= query.created_from)
        if query.created_to is not None:
            where.append(_m.created_at <= query.created_to)
        if query.destination is not None:
            where.append(_m.destination == query.destination)
        if query.label:
            lb = t.message_labels.c
            where.append(
                sa.exists().where(
                    lb.message_id == _m.id, lb.label == query.label, lb.number_id == query.number_id
                )
            )
        async with self._db.read() as conn:
            total = (
                await conn.execute(sa.select(sa.func.count()).select_from(t.messages).where(*where))
            ).scalar_one()
            rows = (
                await conn.execute(
                    sa.select(t.messages)
                    .where(*where)
                    .order_by(_m.created_at.desc(), _m.id.desc())
                    .limit(query.page_size)
                    .offset((query.page - 1) * query.page_size)
                )
            ).all()
        return MessagePage(
            messages=tuple(_message(r) for r in rows),
            total=int(total),
            page=query.page,
            page_size=query.page_size,
        )

    # --- the accept path ---------------------------------------------------------------------

    async def sending_number(self, workspace_id: str, number_id: str) -> SendingNumber | None:
        """The workspace's live number with its workspace's plan; None when there is none."""
        n, w = t.numbers, t.workspaces
        query = (
            sa.select(
                n.c.id,
                n.c.workspace_id,
                n.c.number,
                n.c.provider,
                n.c.official,
                n.c.settings,
                n.c.state,
                w.c.plan,
                w.c.monthly_message_limit,
            )
            .join(w, w.c.id == n.c.workspace_id)
            .where(n.c.id == number_id, n.c.workspace_id == workspace_id, n.c.deleted_at.is_(None))
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return SendingNumber(
            id=row.id,
            workspace_id=row.workspace_id,
            number=row.number,
            provider=row.provider,
            official=bool(row.official),
            settings=row.settings,
            state=row.state,
            plan=row.plan,
            monthly_message_limit=row.monthly_message_limit,
        )

    async def last_inbound_at(self, number_id: str, contact: str) -> int | None:
        """When the contact last wrote to the number (None: never)."""
        c = t.contacts.c
        query = sa.select(c.last_inbound_at).where(c.number_id == number_id, c.contact == contact)
        async with self._db.read() as conn:
            last = (await conn.execute(query)).scalar()
        return None if last is None else int(last)

    async def claim_key(self, r: Reservation, *, now_ms: int, lock_ms: int, ttl_ms: int) -> HeldKey | None:
        """Claim ``r``'s Idempotency-Key (IN_PROGRESS, locked for ``lock_ms``, kept ``ttl_ms``),
        replacing an expired record or an unlocked unfinished one; or, while a live record is
        done or still locked, write nothing and return it. One transaction, the record locked.
        """
        try:
            return await self._claim_key(r, now_ms, lock_ms, ttl_ms)
        except sa.exc.IntegrityError:
            # Two first requests raced to insert the key (PostgreSQL; SQLite has one writer): the
            # other one won, so read what it left.
            return await self._claim_key(r, now_ms, lock_ms, ttl_ms)

    async def _claim_key(self, r: Reservation, now_ms: int, lock_ms: int, ttl_ms: int) -> HeldKey | None:
        async with self._db.write() as conn:
            row = (
                await conn.execute(sa.select(t.idempotency_keys).where(_key_is(r)).with_for_update())
            ).first()
            if row is not None and _held(row, now_ms):
                return HeldKey(
                    state=row.state,
                    request_hash=row.request_hash,
                    accepted=_stored_accepted(row.response_body),
                )
            if row is not None:
                await conn.execute(sa.delete(t.idempotency_keys).where(_key_is(r)))
            await conn.execute(
                sa.insert(t.idempotency_keys).values(
                    workspace_id=r.workspace_id,
                    number_id=r.number_id,
                    key=r.key,
                    request_hash=r.request_hash,
                    state="IN_PROGRESS",
                    locked_until=now_ms + lock_ms,
                    created_at=now_ms,
                    expires_at=now_ms + ttl_ms,
                )
            )
        return None

    async def release_key(self, r: Reservation) -> None:
        """Forget ``r``'s key unless its request finished (one transaction)."""
        async with self._db.write() as conn:
            await conn.execute(sa.delete(t.idempotency_keys).where(_key_is(r), _idem.state == "IN_PROGRESS"))


def _held(row: Any, now_ms: int) -> bool:
    """A live key record that is done, or still locked by a request in progress."""
    if row.expires_at <= now_ms:
        return False
    return bool(row.state == "DONE" or (row.locked_until is not None and row.locked_until > now_ms))


def _key_is(r: Reservation) -> sa.ColumnElement[bool]:
    return sa.and_(_idem.workspace_id == r.workspace_id, _idem.number_id == r.number_id, _idem.key == r.key)


# --- the group commit of accepted sends (in the batch's transaction) -------------------------


async def used_this_month(conn: Connection, workspace_id: str, since_ms: int) -> int:
    """The workspace's messages created since ``since_ms``, its row locked first so that quota
    checks of one workspace serialise across nodes (a no-op on SQLite, one writer)."""
    await conn.execute(
        sa.select(t.workspaces.c.id).where(t.workspaces.c.id == workspace_id).with_for_update()
    )
    used = (
        await conn.execute(
            sa.select(sa.func.count())
            .select_from(t.messages)
            .where(_m.workspace_id == workspace_id, _m.created_at >= since_ms)
        )
    ).scalar_one()
    return int(used)


async def insert_accepted(conn: Connection, accepted: Sequence[PendingSend]) -> None:
    """The messages (QUEUED), their first timeline entry and their labels, one INSERT each for
    the whole batch, then the stored 202 of each send made with an Idempotency-Key."""
    await conn.execute(sa.insert(t.messages), [p.row for p in accepted])
    await conn.execute(
        sa.insert(t.message_events),
        [
            {
                "message_id": p.row["id"],
                "status": "QUEUED",
                "at": p.row["created_at"],
                "source": "api",
                "applied": True,
            }
            for p in accepted
        ],
    )
    labels = [
        {
            "message_id": p.row["id"],
            "label": label,
            "number_id": p.row["number_id"],
            "created_at": p.row["created_at"],
        }
        for p in accepted
        for label in p.labels
    ]
    if labels:
        await conn.execute(sa.insert(t.message_labels), labels)
    for p in accepted:
        if p.reservation is not None:
            await conn.execute(
                sa.update(t.idempotency_keys)
                .where(_key_is(p.reservation))
                .values(
                    state="DONE",
                    locked_until=None,
                    response_status=202,  # the column predates the record: what its answer was
                    response_body=orjson.dumps(_accepted_record(p.accepted)).decode(),
                )
            )


def _accepted_record(a: Accepted) -> dict[str, Any]:
    return {
        "id": a.id,
        "correlation_id": a.correlation_id,
        "created_at": a.created_at,
        "origin": a.origin,
        "source_number": a.source_number,
        "flow_token": a.flow_token,
    }


def _stored_accepted(body: str | None) -> Accepted | None:
    """The accepted send an Idempotency-Key record keeps. Records written before this form
    (within the key's 24 h at an upgrade) hold the API's answer itself: read those too."""
    if body is None:
        return None
    stored = orjson.loads(body)
    if "correlation_id" in stored:
        return Accepted(**stored, replayed=True)
    return Accepted(
        id=stored["id"],
        correlation_id=stored["correlationId"],
        created_at=parse_iso(stored["createdAt"]),
        origin=stored["origin"],
        source_number=stored["sourceNumber"],
        flow_token=stored.get("flowToken"),
        replayed=True,
    )
