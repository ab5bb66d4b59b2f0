"""A number's conversation history: outbound messages and inbound messages in one timeline.

A page is one statement: each side reads at most ``offset + page size`` rows from its own index
(newest first), and the database merges the two. The total is one more statement of two index
counts. The partial indexes of migration 0008 serve the unread and group listings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from zapgate.domain.conversations import Direction, HistoryEntry, HistoryQuery, Listing, Retention
from zapgate.storage import tables as t
from zapgate.storage.database import Connection, Database

_m, _i, _n = t.messages.c, t.inbound_messages.c, t.numbers.c

_TEXT = sa.String
_NULL_TEXT = sa.cast(sa.null(), sa.String)
_NULL_MS = sa.cast(sa.null(), sa.BigInteger)

# An inbound message's conversation: the contact for a direct chat, else the group or channel.
_INBOUND_CHAT = sa.case((_i.chat_kind == "phone", _i.sender), else_=sa.func.coalesce(_i.chat_id, _i.sender))


class ConversationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def number(self, number_id: str) -> tuple[str, Retention] | None:
        """The number's provider kind and PII policy (``None``: no such number)."""
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(_n.provider, _n.pii_mode, _n.pii_retention_days).where(_n.id == number_id)
                )
            ).first()
        if row is None:
            return None
        return row.provider, Retention(pii_mode=row.pii_mode, retention_days=row.pii_retention_days)

    @staticmethod
    async def mark_read(conn: Connection, chats: Sequence[tuple[str, str]], now_ms: int) -> None:
        """The number read what these contacts wrote (``(number id, contact)``: a read receipt
        went out with a send): their unread inbound messages get ``read_at``. One statement
        per batch."""
        if chats:
            await conn.execute(
                sa.update(t.inbound_messages)
                .where(
                    _i.number_id == sa.bindparam("n"),
                    _i.sender == sa.bindparam("s"),
                    _i.chat_kind == "phone",
                    sa.text(t.INBOUND_UNREAD),
                )
                .values(read_at=now_ms),
                [{"n": number_id, "s": contact} for number_id, contact in dict.fromkeys(chats)],
            )

    async def page(self, query: HistoryQuery) -> tuple[tuple[HistoryEntry, ...], int]:
        """One page, newest first, and the number of rows the query matches."""
        sides = _sides(query)
        offset = (query.page - 1) * query.page_size
        window = offset + query.page_size
        branches = [
            side.order_by(side.selected_columns.at.desc(), side.selected_columns.id.desc())
            .limit(window)
            .subquery()
            for side in sides
        ]
        selected = [sa.select(b) for b in branches]
        merged = (selected[0] if len(selected) == 1 else sa.union_all(*selected)).subquery()
        page = sa.select(merged).order_by(merged.c.at.desc(), merged.c.id.desc()).limit(query.page_size)
        page = page.offset(offset)
        counts = [sa.select(sa.func.count()).select_from(side.subquery()).scalar_subquery() for side in sides]
        total_expr = counts[0] if len(counts) == 1 else counts[0] + counts[1]
        async with self._db.read() as conn:
            total = int((await conn.execute(sa.select(total_expr))).scalar_one())
            rows = (await conn.execute(page)).all() if total > offset else []
            unread: dict[str, int] = {}
            if query.listing is Listing.UNREAD and rows:
                unread = await _unread_counts(conn, query.number_id, {r.conversation for r in rows})
        return tuple(_entry(r, unread) for r in rows), total


def _sides(query: HistoryQuery) -> list[sa.Select[Any]]:
    """The outbound and inbound selects of the listing, with the same columns."""
    sides: list[sa.Select[Any]] = []
    if query.listing is not Listing.UNREAD:
        where: list[Any] = [_m.number_id == query.number_id]
        if query.listing is Listing.GROUPS:
            where.append(sa.text(t.GROUP_SEND))
        where += _bounds(_m.created_at, query)
        if query.conversation is not None:
            where.append(_m.destination == query.conversation)
        sides.append(_outbound().where(*where))
    inbound_at = _i.created_at if query.listing is Listing.GROUPS else _i.provider_timestamp
    where = [_i.number_id == query.number_id]
    if query.listing is Listing.UNREAD:
        where.append(sa.text(t.INBOUND_UNREAD))
    elif query.listing is Listing.GROUPS:
        where.append(sa.text(t.GROUP_CHAT))
    where += _bounds(inbound_at, query)
    if query.conversation is not None:
        where.append(_INBOUND_CHAT == query.conversation)  # noqa: SIM300 (a SQL expression)
    sides.append(_inbound(inbound_at).where(*where))
    return sides


def _bounds(column: Any, query: HistoryQuery) -> list[Any]:
    found = []
    if query.start_ms is not None:
        found.append(column >= query.start_ms)
    if query.end_ms is not None:
        found.append(column <= query.end_ms)
    return found


def _outbound() -> sa.Select[Any]:
    return sa.select(
        sa.literal(Direction.OUTBOUND.value, _TEXT).label("direction"),
        _m.id.label("id"),
        _m.destination.label("conversation"),
        _m.destination_kind.label("chat_kind"),
        _m.status.label("status"),
        _m.message_type.label("message_type"),
        _m.created_at.label("at"),
        _m.created_at.label("created_at"),
        _m.provider_message_id.label("external_id"),
        _m.origin.label("origin"),
        _m.content.label("text"),
        _NULL_TEXT.label("sender"),
        _NULL_TEXT.label("sender_name"),
        _NULL_TEXT.label("replied_to"),
        sa.cast(sa.null(), sa.JSON).label("media"),
        _m.sent_at.label("sent_at"),
        _m.delivered_at.label("delivered_at"),
        _m.read_at.label("read_at"),
        _m.redacted_at.label("redacted_at"),
    ).select_from(t.messages)


def _inbound(at: Any) -> sa.Select[Any]:
    return sa.select(
        sa.literal(Direction.INBOUND.value, _TEXT).label("direction"),
        _i.id.label("id"),
        _INBOUND_CHAT.label("conversation"),
        _i.chat_kind.label("chat_kind"),
        sa.case((_i.read_at.is_(None), "RECEIVED"), else_="READ").label("status"),
        _i.message_type.label("message_type"),
        at.label("at"),
        _i.created_at.label("created_at"),
        _i.provider_message_id.label("external_id"),
        _NULL_TEXT.label("origin"),
        _i.text.label("text"),
        _i.sender.label("sender"),
        _i.sender_name.label("sender_name"),
        _i.quoted_message_id.label("replied_to"),
        _i.media.label("media"),
        _NULL_MS.label("sent_at"),
        _NULL_MS.label("delivered_at"),
        _i.read_at.label("read_at"),
        _i.redacted_at.label("redacted_at"),
    ).select_from(t.inbound_messages)


async def _unread_counts(conn: Any, number_id: str, conversations: set[str]) -> dict[str, int]:
    """Unread inbound messages of each conversation on the page (one grouped count)."""
    chat = _INBOUND_CHAT.label("conversation")
    rows = await conn.execute(
        sa.select(chat, sa.func.count())
        .where(_i.number_id == number_id, sa.text(t.INBOUND_UNREAD), _INBOUND_CHAT.in_(sorted(conversations)))
        .group_by(_INBOUND_CHAT)
    )
    return {str(conversation): int(count) for conversation, count in rows}


def _entry(row: Any, unread: dict[str, int]) -> HistoryEntry:
    return HistoryEntry(
        id=row.id,
        direction=Direction(row.direction),
        conversation=row.conversation,
        chat_kind=row.chat_kind,
        status=row.status,
        message_type=row.message_type,
        at=int(row.at),
        created_at=int(row.created_at),
        external_id=row.external_id,
        origin=row.origin,
        text=row.text,
        sender=row.sender,
        sender_name=row.sender_name,
        replied_to=row.replied_to,
        media=row.media,
        sent_at=row.sent_at,
        delivered_at=row.delivered_at,
        read_at=row.read_at,
        redacted=row.redacted_at is not None,
        unread_in_conversation=unread.get(row.conversation) if unread else None,
    )
