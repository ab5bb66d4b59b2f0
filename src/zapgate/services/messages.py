"""Reading and cancelling messages: domain records in, domain records out (the wire shapes are
``web``'s, the SQL is the repository's)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zapgate import errors
from zapgate.container import Container
from zapgate.domain.lifecycle import Status
from zapgate.domain.messages import Message, MessagePage, MessageQuery, TimelineEntry
from zapgate.services import status_changes
from zapgate.storage.database import Connection


async def get(container: Container, *, number_id: str, ref: str) -> Message:
    """By internal id, correlation id or provider id, within the number."""
    found = await container.repos.messages.find(number_id, ref)
    if found is None:
        raise errors.NotFound("Message not found", code="MESSAGE_NOT_FOUND")
    return found


async def timeline(container: Container, *, number_id: str, message_id: str) -> tuple[TimelineEntry, ...]:
    return await container.repos.messages.timeline(number_id, message_id)


async def request_body(container: Container, *, number_id: str, message_id: str) -> Any:
    """The request body as the API accepted it (None for a message stored without one)."""
    return await container.repos.messages.request_body(number_id, message_id)


async def list_messages(container: Container, query: MessageQuery) -> MessagePage:
    if (
        query.created_from is not None
        and query.created_to is not None
        and query.created_from > query.created_to
    ):
        raise errors.ValidationFailed("startDate must not be after endDate", code="INVALID_DATE_RANGE")
    return await container.repos.messages.page(query)


@dataclass(frozen=True)
class CancelOutcome:
    cancelled: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]  # (message id, NOT_FOUND | ALREADY_SENT | NOT_SCHEDULED)


async def cancel(container: Container, *, number_id: str, message_ids: Sequence[str]) -> CancelOutcome:
    """Cancel scheduled messages (QUEUED with a future deliverAt), each on its own merits."""
    cancelled: list[str] = []
    failed: list[tuple[str, str]] = []
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        for message_id in dict.fromkeys(message_ids):
            reason = await _cancel_one(conn, container, number_id, message_id, now)
            if reason is None:
                cancelled.append(message_id)
            else:
                failed.append((message_id, reason))
    container.wake.webhooks.set()
    return CancelOutcome(tuple(cancelled), tuple(failed))


async def _cancel_one(
    conn: Connection, container: Container, number_id: str, message_id: str, now: int
) -> str | None:
    row = await status_changes.load_for_update(conn, message_id)
    if row is None or row.number_id != number_id:
        return "NOT_FOUND"
    if row.status != "QUEUED":
        return "ALREADY_SENT"
    if row.deliver_at <= now or (row.lease_until is not None and row.lease_until > now):
        return "NOT_SCHEDULED"
    await status_changes.apply(
        conn, row, status_changes.Change(Status.CANCELED, "api"), now_ms=now, metrics=container.metrics
    )
    return None
