"""Reading and cancelling messages."""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa

from zapgate import clock, errors
from zapgate.clock import iso
from zapgate.container import Container
from zapgate.domain import phones
from zapgate.domain.lifecycle import Status
from zapgate.services import status_changes
from zapgate.storage import tables as t

STATUSES = tuple(s.value for s in Status)


def details(row: Any) -> dict[str, Any]:
    """``MessageDetails`` (plus additive fields the SDK ignores)."""
    out: dict[str, Any] = {
        "id": row.id,
        "externalMessageId": row.provider_message_id,
        "status": row.status,
        "correlationId": row.correlation_id,
        "destinationNumber": row.destination,
        "createdAt": iso(row.created_at),
        "sentAt": iso(row.sent_at),
        "deliveredAt": iso(row.delivered_at),
        "readAt": iso(row.read_at),
        "errorCode": row.error_code,
        "errorMessage": row.error_message,
        "origin": row.origin,
        "metaPricing": row.meta_pricing,
        "failedAt": iso(row.failed_at),
        "canceledAt": iso(row.canceled_at),
        "deliverAt": iso(row.deliver_at),
        "deliverUntil": iso(row.deliver_until),
        "labels": row.labels or [],
        "attempts": row.attempts,
        "numberId": row.number_id,
    }
    if row.template_name:
        out["template"] = row.template_name
    if row.redacted_at is not None:  # content, payload and request removed by the PII mode
        out.update(redacted=True, redactedAt=iso(row.redacted_at))
    return out


async def get(container: Container, *, number_id: str, ref: str) -> dict[str, Any]:
    """By internal id, correlation id or provider id, within the number."""
    m = t.messages.c
    query = (
        sa.select(t.messages)
        .where(
            m.number_id == number_id,
            sa.or_(m.id == ref, m.correlation_id == ref, m.provider_message_id == ref),
        )
        .limit(1)
    )
    async with container.db.read() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        raise errors.NotFound("Message not found", code="MESSAGE_NOT_FOUND")
    return details(row)


async def timeline(container: Container, *, number_id: str, message_id: str) -> list[dict[str, Any]]:
    e, m = t.message_events.c, t.messages.c
    query = (
        sa.select(t.message_events)
        .join(t.messages, m.id == e.message_id)
        .where(m.number_id == number_id, m.id == message_id)
        .order_by(e.id)
    )
    async with container.db.read() as conn:
        rows = (await conn.execute(query)).all()
    return [
        {
            "status": r.status,
            "at": iso(r.at),
            "source": r.source,
            "applied": r.applied,
            "code": r.code,
            "detail": r.detail,
        }
        for r in rows
    ]


async def request_body(container: Container, *, number_id: str, message_id: str) -> Any:
    """The request body as the API accepted it (None for a message stored without one)."""
    m = t.messages.c
    query = sa.select(m.request).where(m.number_id == number_id, m.id == message_id)
    async with container.db.read() as conn:
        return (await conn.execute(query)).scalar_one_or_none()


def _int_param(value: str | None, name: str, default: int, lo: int, hi: int) -> int:
    if value is None or value == "":
        return default
    try:
        parsed = int(value)
    except ValueError:
        raise errors.ValidationFailed(
            f"{name} must be an integer", details=[{"field": name, "message": "must be an integer"}]
        ) from None
    if not lo <= parsed <= hi:
        raise errors.ValidationFailed(
            f"{name} must be between {lo} and {hi}", details=[{"field": name, "message": f"{lo}-{hi}"}]
        )
    return parsed


def _date_param(value: str | None, name: str) -> int | None:
    if not value:
        return None
    try:
        return clock.parse_iso(value)
    except clock.DateOutOfRange:
        message = f"must be {clock.BOUNDS_TEXT}"
    except ValueError:
        message = "must be an ISO-8601 date-time, e.g. 2026-07-01T00:00:00Z"
    raise errors.ValidationFailed(f"{name} {message}", details=[{"field": name, "message": message}])


def _destination_filter(value: str) -> str:
    """The stored form of a destination filter: a JID or a BSUID as given, a phone in E.164
    however it is written (``+`` added to anything else, as destinations are stored)."""
    if "@" in value or phones.is_bsuid(value):
        return value
    return phones.normalize_e164(value) or "+" + value.removeprefix("+")


async def list_messages(
    container: Container, *, number_id: str, params: dict[str, str | None]
) -> dict[str, Any]:
    page = _int_param(params.get("page"), "page", 1, 1, 1_000_000)
    page_size = _int_param(params.get("pageSize"), "pageSize", 30, 1, 100)
    start = _date_param(params.get("startDate"), "startDate")
    end = _date_param(params.get("endDate"), "endDate")
    if start is not None and end is not None and start > end:
        raise errors.ValidationFailed("startDate must not be after endDate", code="INVALID_DATE_RANGE")
    m = t.messages.c
    where = [m.number_id == number_id]
    status = params.get("status")
    if status:
        wanted = [s.strip().upper() for s in status.split(",") if s.strip()]
        if any(s not in STATUSES for s in wanted):
            raise errors.ValidationFailed(
                f"status must be among {', '.join(STATUSES)}",
                details=[{"field": "status", "message": "unknown"}],
            )
        where.append(m.status.in_(wanted))
    if start is not None:
        where.append(m.created_at >= start)
    if end is not None:
        where.append(m.created_at <= end)
    if params.get("destinationNumber"):
        where.append(m.destination == _destination_filter(str(params["destinationNumber"])))
    label = params.get("label")
    async with container.db.read() as conn:
        if label:
            lb = t.message_labels.c
            where.append(
                sa.exists().where(lb.message_id == m.id, lb.label == label, lb.number_id == number_id)
            )
        total = (
            await conn.execute(sa.select(sa.func.count()).select_from(t.messages).where(*where))
        ).scalar_one()
        page_rows = (
            await conn.execute(
                sa.select(t.messages)
                .where(*where)
                .order_by(m.created_at.desc(), m.id.desc())
                .limit(page_size)
                .offset((page - 1) * page_size)
            )
        ).all()
    return {
        "messages": [details(r) for r in page_rows],
        "total": int(total),
        "page": page,
        "pageSize": page_size,
        "totalPages": math.ceil(int(total) / page_size),
    }


async def cancel(container: Container, *, number_id: str, body: Any) -> dict[str, Any]:
    ids_ = body.get("messageIds") if isinstance(body, dict) else None
    if not isinstance(ids_, list) or not ids_ or not all(isinstance(i, str) for i in ids_):
        raise errors.ValidationFailed(
            "messageIds must be a non-empty array of ids",
            details=[{"field": "messageIds", "message": "required"}],
        )
    if len(ids_) > 100:
        raise errors.ValidationFailed(
            "At most 100 messageIds per call", details=[{"field": "messageIds", "message": "at most 100"}]
        )
    cancelled: list[str] = []
    failed: list[dict[str, str]] = []
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        for message_id in dict.fromkeys(ids_):
            reason = await _cancel_one(conn, container, number_id, message_id, now)
            if reason is None:
                cancelled.append(message_id)
            else:
                failed.append({"id": message_id, "reason": reason})
    container.wake.webhooks.set()
    return {"cancelled": cancelled, "failed": failed}


async def _cancel_one(
    conn: Any, container: Container, number_id: str, message_id: str, now: int
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
