"""A number's PII mode (``numbers.pii_mode``), enforced.

* ``STORE_INDEFINITE``: nothing is removed.
* ``RELAY_ONLY``: inbound messages are stored without text, sender name and media (the
  webhook still carries them), and none of their media is kept for download
  (``inbound_media``); an outbound message keeps its content only while it may still be sent:
  once READ, FAILED or CANCELED, or DELIVERED for longer than a grace (READ may never come),
  its content, payload and request body (with any template variables) go.
* ``STORE_X_DAYS``: the same removal for messages and inbound messages created more than
  ``pii_retention_days`` ago, whatever their status except QUEUED, and for the inbound media
  kept for download (deleted: nothing of them is worth a row).

The sweeper calls :func:`redact_messages`, :func:`redact_inbound` and :func:`purge_media` with
a bounded batch; a cleared row gets ``redacted_at`` so readers can tell. ``updated_at`` is left
alone: retention purges count from it, and removing content is not a change of the message.
"""

from __future__ import annotations

from dataclasses import dataclass

from zapgate.storage.database import Connection
from zapgate.storage.repositories import redaction as sweeps

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


async def policies(conn: Connection) -> list[Policy]:
    """Every number that removes content, deleted ones included (their rows are still here)."""
    grouped: dict[tuple[str, int | None], list[str]] = {}
    for number_id, mode, days in await sweeps.redacting_numbers(conn):
        grouped.setdefault((mode, days), []).append(number_id)
    return [
        Policy(mode, days, tuple(ids_))
        for (mode, days), ids_ in sorted(grouped.items(), key=lambda item: (item[0][0], item[0][1] or 0))
    ]


# -- outbound ----------------------------------------------------------------------------------


async def _messages_due(
    conn: Connection, policy: Policy, *, now_ms: int, grace_ms: int, limit: int
) -> list[str]:
    if policy.mode == "RELAY_ONLY":
        return await sweeps.settled_messages(
            conn, policy.number_ids, final=FINAL, delivered_before=now_ms - grace_ms, limit=limit
        )
    return await sweeps.messages_created_before(
        conn, policy.number_ids, before=policy.cutoff(now_ms), limit=limit
    )


async def redact_messages(
    conn: Connection, policies_: list[Policy], *, now_ms: int, grace_ms: int, limit: int
) -> int:
    """Clear up to ``limit`` outbound messages due under their number's mode."""
    ids_: list[str] = []
    for policy in policies_:
        if len(ids_) >= limit:
            break
        ids_ += await _messages_due(conn, policy, now_ms=now_ms, grace_ms=grace_ms, limit=limit - len(ids_))
    if not ids_:
        return 0
    await sweeps.clear_messages(conn, ids_, now_ms=now_ms)
    return len(ids_)


# -- inbound -----------------------------------------------------------------------------------


async def redact_inbound(conn: Connection, policies_: list[Policy], *, now_ms: int, limit: int) -> int:
    """Clear text, sender name and media of up to ``limit`` inbound messages, and the senders'
    names kept on their contact when those came from a message as old."""
    found: list[tuple[Policy, list[tuple[str, str, str]]]] = []
    count = 0
    for policy in policies_:
        if count >= limit:
            break
        # RELAY_ONLY: any age (stored before the number switched to it).
        before = None if policy.mode == "RELAY_ONLY" else policy.cutoff(now_ms)
        rows = await sweeps.unredacted_inbound(
            conn, policy.number_ids, created_before=before, limit=limit - count
        )
        found.append((policy, rows))
        count += len(rows)
    if not count:
        return 0
    await sweeps.clear_inbound(conn, [id_ for _, rows in found for id_, _, _ in rows], now_ms=now_ms)
    for policy, rows in found:
        await _forget_names(conn, policy, {(number_id, sender) for _, number_id, sender in rows}, now_ms)
    return count


async def _forget_names(conn: Connection, policy: Policy, senders: set[tuple[str, str]], now_ms: int) -> None:
    """A contact's name comes from its latest inbound message: it goes with that message."""
    if not senders:
        return
    by_number: dict[str, list[str]] = {}
    for number_id, sender in sorted(senders):
        by_number.setdefault(number_id, []).append(sender)
    before = policy.cutoff(now_ms) if policy.mode == "STORE_X_DAYS" else None
    await sweeps.forget_names(conn, by_number, last_inbound_before=before)


# -- kept inbound media ------------------------------------------------------------------------


async def purge_media(conn: Connection, policies_: list[Policy], *, now_ms: int, limit: int) -> int:
    """Delete up to ``limit`` kept inbound media (``GET /v1/media``) due under their number's
    mode: by the rule of the inbound messages they came with (a number purged takes its media
    with it by foreign key)."""
    keys: list[tuple[str, str]] = []
    for policy in policies_:
        if len(keys) >= limit:
            break
        # RELAY_ONLY: any age (kept before the number switched to it).
        before = None if policy.mode == "RELAY_ONLY" else policy.cutoff(now_ms)
        keys += await sweeps.kept_media(
            conn, policy.number_ids, created_before=before, limit=limit - len(keys)
        )
    if keys:
        await sweeps.delete_media(conn, keys)
    return len(keys)
