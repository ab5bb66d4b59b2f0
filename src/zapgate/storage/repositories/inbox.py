"""Received provider callbacks and inbound messages: the inbox queue, its batches and the rows they write.
Methods taking ``conn`` run in the caller's unit of work.

Hot path (the inbox worker applies thousands of callbacks a second): received callbacks are
``provider_events`` dicts passed straight to one bulk insert per batch, no record per callback; a
batch's numbers are read in one statement, one :class:`Number` per number."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate.domain.inbound import ID_MAX, NAME_MAX, Inbound, QuotedMessage, SealedCallbackNumber
from zapgate.domain.numbers import Number
from zapgate.storage import tables as t
from zapgate.storage.database import Database
from zapgate.storage.repositories.numbers import number_record as _number

_n, _i, _c, _m, _tp, _me = (
    t.numbers.c,
    t.inbound_messages.c,
    t.contacts.c,
    t.messages.c,
    t.templates.c,
    t.message_events.c,
)

_SIZES = {
    "sender_name": NAME_MAX,
    "provider_message_id": ID_MAX,
    "quoted_message_id": ID_MAX,
    "chat_id": ID_MAX,
    "reply_id": 256,
    "sender": 80,
}


def fitted(inbound: Inbound) -> Inbound:
    """What a provider sent, cut to the columns' sizes rather than refused, so one odd callback
    cannot stall the inbox (PostgreSQL refuses a longer value; WhatsApp's names have at most 25
    characters and its ids about 60)."""
    cut: dict[str, Any] = {
        name: value[:size]
        for name, size in _SIZES.items()
        if isinstance(value := getattr(inbound, name), str) and len(value) > size
    }
    return replace(inbound, **cut) if cut else inbound


class InboxRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- receiving callbacks -----------------------------------------------------------------

    @staticmethod
    async def store_callbacks(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ``provider_events`` rows as they are, in one statement."""
        await conn.execute(sa.insert(t.provider_events), rows)

    async def callback_numbers(self, provider: str) -> tuple[SealedCallbackNumber, ...]:
        """Every live number of a provider kind."""
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(_n.id, _n.provider_ref, _n.credentials_enc).where(
                        _n.provider == provider, _n.deleted_at.is_(None)
                    )
                )
            ).all()
        return tuple(SealedCallbackNumber(r.id, r.provider_ref, r.credentials_enc) for r in rows)

    async def callback_number(self, provider: str, number_id: str) -> SealedCallbackNumber | None:
        """The live number of a provider kind with this id; None when there is none."""
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(_n.provider_ref, _n.credentials_enc, _n.secondary_credentials_enc).where(
                        _n.id == number_id, _n.provider == provider, _n.deleted_at.is_(None)
                    )
                )
            ).first()
        if row is None:
            return None
        return SealedCallbackNumber(
            number_id, row.provider_ref, row.credentials_enc, row.secondary_credentials_enc
        )

    # --- the numbers a batch is for ----------------------------------------------------------

    @staticmethod
    async def live_numbers(conn: AsyncConnection, number_ids: Collection[str]) -> dict[str, Number]:
        """The live numbers among these ids, by id (one statement)."""
        query = sa.select(t.numbers).where(_n.id.in_(number_ids), _n.deleted_at.is_(None))
        return {row.id: _number(row) for row in (await conn.execute(query)).all()}

    @staticmethod
    async def live_number_by_route(conn: AsyncConnection, provider: str, route: str) -> Number | None:
        """The live number of a provider kind with this provider reference."""
        row = (
            await conn.execute(
                sa.select(t.numbers).where(
                    _n.deleted_at.is_(None), _n.provider == provider, _n.provider_ref == route
                )
            )
        ).first()
        return None if row is None else _number(row)

    @staticmethod
    async def number(conn: AsyncConnection, number_id: str) -> Number:
        """The number with this id (deleted or not); raises when there is none."""
        return _number((await conn.execute(sa.select(t.numbers).where(_n.id == number_id))).one())

    @staticmethod
    async def number_provider(conn: AsyncConnection, number_id: str) -> str:
        """The provider kind of the number with this id; raises when there is none."""
        provider: str = (await conn.execute(sa.select(_n.provider).where(_n.id == number_id))).scalar_one()
        return provider

    # --- what callbacks change ---------------------------------------------------------------

    @staticmethod
    async def record_link(
        conn: AsyncConnection,
        number_id: str,
        *,
        state: str,
        now_ms: int,
        health: str | None = None,
        health_reason: str | None = None,
        profile_name: str | None = None,
        connected: bool = False,
    ) -> None:
        """The link state checked now; ``health`` (with its reason) and ``profile_name`` are
        written when given, ``connected_at`` when ``connected``."""
        values: dict[str, Any] = {"state": state, "state_checked_at": now_ms, "updated_at": now_ms}
        if health is not None:
            values["health"] = health
            values["health_reason"] = health_reason
        if profile_name:
            values["profile_name"] = profile_name
        if connected:
            values["connected_at"] = now_ms
        await conn.execute(sa.update(t.numbers).where(_n.id == number_id).values(**values))

    @staticmethod
    async def record_secondary_link(
        conn: AsyncConnection, number_id: str, *, state: str, now_ms: int, connected: bool = False
    ) -> None:
        """A dual number's secondary link state checked now; ``secondary_connected_at`` when
        ``connected``."""
        values: dict[str, Any] = {"secondary_state": state, "updated_at": now_ms}
        if connected:
            values["secondary_connected_at"] = now_ms
        await conn.execute(sa.update(t.numbers).where(_n.id == number_id).values(**values))

    @staticmethod
    async def mark_health(
        conn: AsyncConnection, number_id: str, health: str, reason: str | None, *, now_ms: int
    ) -> None:
        await conn.execute(
            sa.update(t.numbers)
            .where(_n.id == number_id)
            .values(health=health, health_reason=reason, updated_at=now_ms)
        )

    @staticmethod
    async def move_template(
        conn: AsyncConnection,
        number_id: str,
        *,
        provider_template_id: str | None,
        name: str,
        status: str,
        reason: str | None,
        now_ms: int,
    ) -> None:
        """Set the verdict of the number's live template with Meta's id, or with this name when
        there is no id."""
        where = [_tp.number_id == number_id, _tp.deleted_at.is_(None)]
        if provider_template_id:
            where.append(_tp.provider_template_id == provider_template_id)
        else:
            where.append(_tp.name == name)
        await conn.execute(
            sa.update(t.templates)
            .where(*where)
            .values(meta_status=status, approve_at=None, updated_at=now_ms, rejection_reason=reason)
        )

    @staticmethod
    async def timeline_count(conn: AsyncConnection, message_id: str, code: str) -> int:
        """How many timeline rows of the message carry this code."""
        count: int = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(t.message_events)
                .where(_me.message_id == message_id, _me.code == code)
            )
        ).scalar_one()
        return count

    # --- inbound messages --------------------------------------------------------------------

    @staticmethod
    async def inbound_seen(conn: AsyncConnection, number_id: str, provider_message_id: str) -> bool:
        """Whether the number stored an inbound message with this provider id."""
        found = await conn.execute(
            sa.select(_i.id).where(_i.number_id == number_id, _i.provider_message_id == provider_message_id)
        )
        return found.first() is not None

    @staticmethod
    async def insert_inbound(
        conn: AsyncConnection, inbound: Inbound, *, inbound_id: str, at: int, keep_content: bool, now_ms: int
    ) -> None:
        """Store an inbound message (already :func:`fitted`); without ``keep_content`` its text,
        name and media are not stored and it is marked redacted."""
        content: dict[str, Any] = (
            {"text": inbound.text, "sender_name": inbound.sender_name, "media": inbound.media}
            if keep_content
            else {"text": None, "sender_name": None, "media": sa.null(), "redacted_at": now_ms}
        )
        await conn.execute(
            sa.insert(t.inbound_messages).values(
                id=inbound_id,
                number_id=inbound.number_id,
                sender=inbound.sender,
                message_type=inbound.message_type,
                provider_message_id=inbound.provider_message_id,
                quoted_message_id=inbound.quoted_message_id,
                chat_kind=inbound.chat_kind,
                chat_id=inbound.chat_id,
                reply_id=inbound.reply_id,
                provider_timestamp=at,
                created_at=now_ms,
                **content,
            )
        )

    @staticmethod
    async def quoted(conn: AsyncConnection, number_id: str, provider_message_id: str) -> QuotedMessage | None:
        """The number's outbound message with this provider id."""
        found = (
            await conn.execute(
                sa.select(_m.content).where(
                    _m.number_id == number_id, _m.provider_message_id == provider_message_id
                )
            )
        ).first()
        return None if found is None else QuotedMessage(found.content)

    @staticmethod
    async def touch_contact(
        conn: AsyncConnection,
        *,
        number_id: str,
        contact: str,
        at: int,
        provider_message_id: str | None,
        name: str | None,
    ) -> None:
        """Record the contact's latest inbound message (and ``name`` when given), unless a later
        one is recorded already."""
        found = (
            await conn.execute(
                sa.select(_c.last_inbound_at).where(_c.number_id == number_id, _c.contact == contact)
            )
        ).first()
        values: dict[str, Any] = {"last_inbound_at": at, "last_inbound_provider_id": provider_message_id}
        if name:
            values["name"] = name
        if found is None:
            await conn.execute(sa.insert(t.contacts).values(number_id=number_id, contact=contact, **values))
        elif found.last_inbound_at is None or found.last_inbound_at <= at:
            await conn.execute(
                sa.update(t.contacts).where(_c.number_id == number_id, _c.contact == contact).values(**values)
            )
