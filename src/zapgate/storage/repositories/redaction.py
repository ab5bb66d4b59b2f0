"""PII redaction sweeps: the rows a number's PII mode says to clear, and clearing them.
Functions of the caller's transaction (``conn``); the sweeper bounds each batch."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import sqlalchemy as sa

from zapgate.storage import tables as t
from zapgate.storage.database import Connection

_m, _i, _c, _n, _im = t.messages.c, t.inbound_messages.c, t.contacts.c, t.numbers.c, t.inbound_media.c


async def redacting_numbers(conn: Connection) -> list[tuple[str, str, int | None]]:
    """``(number id, pii mode, retention days)`` of every number that removes content, deleted
    ones included (their rows are still here)."""
    rows = (
        await conn.execute(
            sa.select(_n.id, _n.pii_mode, _n.pii_retention_days).where(
                _n.pii_mode.in_(("RELAY_ONLY", "STORE_X_DAYS"))
            )
        )
    ).all()
    return [(row.id, row.pii_mode, row.pii_retention_days) for row in rows]


# -- outbound ----------------------------------------------------------------------------------


def _unredacted(number_ids: Sequence[str]) -> sa.ColumnElement[bool]:
    # ix_messages_unredacted's own predicate, word for word: a range of it per number.
    return sa.and_(_m.number_id.in_(number_ids), sa.text(t.UNREDACTED))


async def settled_messages(
    conn: Connection,
    number_ids: Sequence[str],
    *,
    final: Collection[str],
    delivered_before: int,
    limit: int,
) -> list[str]:
    """Ids of up to ``limit`` unredacted messages of these numbers in a ``final`` status, or
    DELIVERED before ``delivered_before``."""
    due = sa.and_(
        _unredacted(number_ids),
        sa.or_(_m.status.in_(final), sa.and_(_m.status == "DELIVERED", _m.delivered_at < delivered_before)),
    )
    return await _message_ids(conn, due, limit)


async def messages_created_before(
    conn: Connection, number_ids: Sequence[str], *, before: int, limit: int
) -> list[str]:
    """Ids of up to ``limit`` unredacted messages of these numbers created before ``before``."""
    return await _message_ids(conn, sa.and_(_unredacted(number_ids), _m.created_at < before), limit)


async def _message_ids(conn: Connection, where: sa.ColumnElement[bool], limit: int) -> list[str]:
    return list((await conn.execute(sa.select(_m.id).where(where).limit(limit))).scalars().all())


async def clear_messages(conn: Connection, message_ids: Sequence[str], *, now_ms: int) -> None:
    """Clear content, payload and request of these messages, unless redacted already or QUEUED
    (a SENT message may have been put back in the queue since it was found)."""
    await conn.execute(
        sa.update(t.messages)
        .where(_m.id.in_(message_ids), _m.redacted_at.is_(None), _m.status != "QUEUED")
        .values(content=None, payload={}, request=sa.null(), redacted_at=now_ms)
    )


# -- inbound -----------------------------------------------------------------------------------


async def unredacted_inbound(
    conn: Connection, number_ids: Sequence[str], *, created_before: int | None, limit: int
) -> list[tuple[str, str, str]]:
    """``(id, number id, sender)`` of up to ``limit`` unredacted inbound messages of these
    numbers (created before ``created_before``, if given)."""
    where: sa.ColumnElement[bool] = sa.and_(_i.number_id.in_(number_ids), _i.redacted_at.is_(None))
    if created_before is not None:
        where = sa.and_(where, _i.created_at < created_before)
    rows = (await conn.execute(sa.select(_i.id, _i.number_id, _i.sender).where(where).limit(limit))).all()
    return [(row.id, row.number_id, row.sender) for row in rows]


async def clear_inbound(conn: Connection, inbound_ids: Sequence[str], *, now_ms: int) -> None:
    """Clear text, sender name and media of these inbound messages."""
    await conn.execute(
        sa.update(t.inbound_messages)
        .where(_i.id.in_(inbound_ids))
        .values(text=None, sender_name=None, media=sa.null(), redacted_at=now_ms)
    )


async def forget_names(
    conn: Connection, senders: Mapping[str, Sequence[str]], *, last_inbound_before: int | None
) -> None:
    """Clear the names kept on these contacts (``{number id: [contact, ...]}``), of those whose
    latest inbound message came before ``last_inbound_before``, if given."""
    # One primary-key range per number (a row-value IN scans the table on SQLite).
    where = [
        sa.or_(
            *[
                sa.and_(_c.number_id == number_id, _c.contact.in_(contacts))
                for number_id, contacts in senders.items()
            ]
        ),
        _c.name.is_not(None),
    ]
    if last_inbound_before is not None:
        where.append(_c.last_inbound_at < last_inbound_before)
    await conn.execute(sa.update(t.contacts).where(*where).values(name=None))


# -- kept inbound media ------------------------------------------------------------------------


async def kept_media(
    conn: Connection, number_ids: Sequence[str], *, created_before: int | None, limit: int
) -> list[tuple[str, str]]:
    """``(number id, media id)`` of up to ``limit`` kept media of these numbers (created before
    ``created_before``, if given): a range of ix_inbound_media_number_created per number."""
    where: sa.ColumnElement[bool] = _im.number_id.in_(number_ids)
    if created_before is not None:
        where = sa.and_(where, _im.created_at < created_before)
    rows = (await conn.execute(sa.select(_im.number_id, _im.media_id).where(where).limit(limit))).all()
    return [(row.number_id, row.media_id) for row in rows]


async def delete_media(conn: Connection, keys: Sequence[tuple[str, str]]) -> None:
    """Delete these kept media (``(number id, media id)``), in one statement."""
    by_number: dict[str, list[str]] = {}
    for number_id, media_id in keys:
        by_number.setdefault(number_id, []).append(media_id)
    # One primary-key range per number (a row-value IN scans the table on SQLite).
    await conn.execute(
        sa.delete(t.inbound_media).where(
            sa.or_(
                *[
                    sa.and_(_im.number_id == number_id, _im.media_id.in_(media_ids))
                    for number_id, media_ids in by_number.items()
                ]
            )
        )
    )
