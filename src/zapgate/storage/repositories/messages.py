"""Outbound messages, read side: find one, its timeline, a filtered page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from zapgate.domain.lifecycle import Status
from zapgate.domain.messages import Message, MessagePage, MessageQuery, TimelineEntry
from zapgate.storage import tables as t
from zapgate.storage.database import Database

_m = t.messages.c


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
