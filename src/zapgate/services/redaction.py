"""A number's PII mode (``numbers.pii_mode``), enforced.

* ``STORE_INDEFINITE``: nothing is removed.
* ``RELAY_ONLY``: inbound messages are stored without text, sender name and media (the
  webhook still carries them); an outbound message keeps its content only while it may still
  be sent: once READ, FAILED or CANCELED, or DELIVERED for longer than a grace (READ may
  never come), its content, payload and request body (with any template variables) go.
* ``STORE_X_DAYS``: the same removal for messages and inbound messages created more than
  ``pii_retention_days`` ago, whatever their status except QUEUED.

The sweeper calls :func:`redact_messages` and :func:`redact_inbound` with a bounded batch; a
cleared row gets ``redacted_at`` so readers can tell. ``updated_at`` is left alone: retention
purges count from it, and removing content is not a change of the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate.storage import tables as t

DAY_MS = 86_400_000
FINAL = ("READ", "FAILED", "CANCELED")


def stores_inbound_content(pii_mode: str) -> bool:
    return pii_mode != "RELAY_ONLY"


@dataclass(frozen=True)
class Policy:
    """Numbers sharing a mode (and window): their rows are found with one indexed query."""

    mode: str
    days: int | None
    number_ids: tuple[str, ...]

    def cutoff(self, now_ms: int) -> int:
        return now_ms - (self.days or 0) * DAY_MS


async def policies(conn: AsyncConnection) -> list[Policy]:
    """Every number that removes content, deleted ones included (their rows are still here)."""
    n = t.numbers.c
    rows = (
        await conn.execute(
            sa.select(n.id, n.pii_mode, n.pii_retention_days).where(
                n.pii_mode.in_(("RELAY_ONLY", "STORE_X_DAYS"))
            )
        )
    ).all()
    grouped: dict[tuple[str, int | None], list[str]] = {}
    for row in rows:
        grouped.setdefault((row.pii_mode, row.pii_retention_days), []).append(row.id)
    return [
        Policy(mode, days, tuple(ids_))
        for (mode, days), ids_ in sorted(grouped.items(), key=lambda item: (item[0][0], item[0][1] or 0))
    ]


# -- outbound ----------------------------------------------------------------------------------


def _message_due(policy: Policy, now_ms: int, grace_ms: int) -> Any:
    m = t.messages.c
    # ix_messages_unredacted's own predicate, word for word: a range of it per number.
    base = sa.and_(m.number_id.in_(policy.number_ids), sa.text(t.UNREDACTED))
    if policy.mode == "RELAY_ONLY":
        return sa.and_(
            base,
            sa.or_(m.status.in_(FINAL), sa.and_(m.status == "DELIVERED", m.delivered_at < now_ms - grace_ms)),
        )
    return sa.and_(base, m.created_at < policy.cutoff(now_ms))


async def redact_messages(
    conn: AsyncConnection, policies_: list[Policy], *, now_ms: int, grace_ms: int, limit: int
) -> int:
    """Clear up to ``limit`` outbound messages due under their number's mode."""
    m = t.messages.c
    ids_: list[str] = []
    for policy in policies_:
        if len(ids_) >= limit:
            break
        ids_ += (
            (
                await conn.execute(
                    sa.select(m.id).where(_message_due(policy, now_ms, grace_ms)).limit(limit - len(ids_))
                )
            )
            .scalars()
            .all()
        )
    if not ids_:
        return 0
    # QUEUED is checked again: a SENT message may have been put back in the queue since.
    await conn.execute(
        sa.update(t.messages)
        .where(m.id.in_(ids_), m.redacted_at.is_(None), m.status != "QUEUED")
        .values(content=None, payload={}, request=sa.null(), redacted_at=now_ms)
    )
    return len(ids_)


# -- inbound -----------------------------------------------------------------------------------


def _inbound_due(policy: Policy, now_ms: int) -> Any:
    i = t.inbound_messages.c
    base = sa.and_(i.number_id.in_(policy.number_ids), i.redacted_at.is_(None))
    if policy.mode == "RELAY_ONLY":
        return base  # stored before the number switched to it
    return sa.and_(base, i.created_at < policy.cutoff(now_ms))


async def redact_inbound(conn: AsyncConnection, policies_: list[Policy], *, now_ms: int, limit: int) -> int:
    """Clear text, sender name and media of up to ``limit`` inbound messages, and the senders'
    names kept on their contact when those came from a message as old."""
    i = t.inbound_messages.c
    found: list[tuple[Policy, list[Any]]] = []
    count = 0
    for policy in policies_:
        if count >= limit:
            break
        rows = list(
            (
                await conn.execute(
                    sa.select(i.id, i.number_id, i.sender)
                    .where(_inbound_due(policy, now_ms))
                    .limit(limit - count)
                )
            ).all()
        )
        found.append((policy, rows))
        count += len(rows)
    if not count:
        return 0
    await conn.execute(
        sa.update(t.inbound_messages)
        .where(i.id.in_([r.id for _, rows in found for r in rows]))
        .values(text=None, sender_name=None, media=sa.null(), redacted_at=now_ms)
    )
    for policy, rows in found:
        await _forget_names(conn, policy, {(r.number_id, r.sender) for r in rows}, now_ms)
    return count


async def _forget_names(
    conn: AsyncConnection, policy: Policy, senders: set[tuple[str, str]], now_ms: int
) -> None:
    """A contact's name comes from its latest inbound message: it goes with that message."""
    if not senders:
        return
    c = t.contacts.c
    by_number: dict[str, list[str]] = {}
    for number_id, sender in sorted(senders):
        by_number.setdefault(number_id, []).append(sender)
    # One primary-key range per number (a row-value IN scans the table on SQLite).
    where = [
        sa.or_(
            *[
                sa.and_(c.number_id == number_id, c.contact.in_(contacts))
                for number_id, contacts in by_number.items()
            ]
        ),
        c.name.is_not(None),
    ]
    if policy.mode == "STORE_X_DAYS":
        where.append(c.last_inbound_at < policy.cutoff(now_ms))
    await conn.execute(sa.update(t.contacts).where(*where).values(name=None))
