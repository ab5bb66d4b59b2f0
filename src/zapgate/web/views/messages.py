"""Messages on the wire: a send's 202 answer, ``MessageDetails``, the timeline, the list page,
and the list's query parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zapgate import clock, errors
from zapgate.clock import iso
from zapgate.domain import phones
from zapgate.domain.lifecycle import Status
from zapgate.domain.messages import Accepted, Message, MessagePage, MessageQuery, TimelineEntry
from zapgate.services.messages import CancelOutcome

STATUSES = tuple(s.value for s in Status)
LIST_PARAMS = ("page", "pageSize", "status", "startDate", "endDate", "destinationNumber", "label")


def accepted(a: Accepted) -> dict[str, Any]:
    """``POST /v1/messages/send``'s 202 body."""
    body: dict[str, Any] = {
        "id": a.id,
        "correlationId": a.correlation_id,
        "status": "QUEUED",
        "createdAt": iso(a.created_at),
        "origin": a.origin,
        "sourceNumber": a.source_number,
    }
    if a.flow_token is not None:
        body["flowToken"] = a.flow_token
    return body


def details(message: Message) -> dict[str, Any]:
    """``MessageDetails`` (plus additive fields the SDK ignores)."""
    out: dict[str, Any] = {
        "id": message.id,
        "externalMessageId": message.provider_message_id,
        "status": message.status.value,
        "correlationId": message.correlation_id,
        "destinationNumber": message.destination,
        "createdAt": iso(message.created_at),
        "sentAt": iso(message.sent_at),
        "deliveredAt": iso(message.delivered_at),
        "readAt": iso(message.read_at),
        "errorCode": message.error_code,
        "errorMessage": message.error_message,
        "origin": message.origin,
        "metaPricing": message.meta_pricing,
        "failedAt": iso(message.failed_at),
        "canceledAt": iso(message.canceled_at),
        "deliverAt": iso(message.deliver_at),
        "deliverUntil": iso(message.deliver_until),
        "labels": list(message.labels),
        "attempts": message.attempts,
        "numberId": message.number_id,
    }
    if message.template_name:
        out["template"] = message.template_name
    if message.redacted_at is not None:  # content, payload and request removed by the PII mode
        out.update(redacted=True, redactedAt=iso(message.redacted_at))
    return out


def timeline(entries: tuple[TimelineEntry, ...]) -> list[dict[str, Any]]:
    return [
        {
            "status": e.status,
            "at": iso(e.at),
            "source": e.source,
            "applied": e.applied,
            "code": e.code,
            "detail": e.detail,
        }
        for e in entries
    ]


def page(result: MessagePage) -> dict[str, Any]:
    return {
        "messages": [details(m) for m in result.messages],
        "total": result.total,
        "page": result.page,
        "pageSize": result.page_size,
        "totalPages": result.total_pages,
    }


def cancel_outcome(outcome: CancelOutcome) -> dict[str, Any]:
    return {
        "cancelled": list(outcome.cancelled),
        "failed": [{"id": message_id, "reason": reason} for message_id, reason in outcome.failed],
    }


def cancel_ids(body: Any) -> list[str]:
    """``{"messageIds": [...]}``: 1-100 ids."""
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
    return ids_


def list_query(number_id: str, params: Mapping[str, str | None]) -> MessageQuery:
    """The list's query parameters, checked, as a query (``400 VALIDATION_ERROR`` naming the
    parameter otherwise)."""
    return MessageQuery(
        number_id=number_id,
        page=int_param(params.get("page"), "page", 1, 1, 1_000_000),
        page_size=int_param(params.get("pageSize"), "pageSize", 30, 1, 100),
        statuses=_statuses(params.get("status")),
        created_from=date_param(params.get("startDate"), "startDate"),
        created_to=date_param(params.get("endDate"), "endDate"),
        destination=_destination_filter(params.get("destinationNumber")),
        label=params.get("label") or None,
    )


def _statuses(value: str | None) -> tuple[Status, ...]:
    if not value:
        return ()
    wanted = [s.strip().upper() for s in value.split(",") if s.strip()]
    if any(s not in STATUSES for s in wanted):
        raise errors.ValidationFailed(
            f"status must be among {', '.join(STATUSES)}",
            details=[{"field": "status", "message": "unknown"}],
        )
    return tuple(Status(s) for s in wanted)


def int_param(value: str | None, name: str, default: int, lo: int, hi: int) -> int:
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


def date_param(value: str | None, name: str) -> int | None:
    if not value:
        return None
    try:
        return clock.parse_iso(value)
    except clock.DateOutOfRange:
        message = f"must be {clock.BOUNDS_TEXT}"
    except ValueError:
        message = "must be an ISO-8601 date-time, e.g. 2026-07-01T00:00:00Z"
    raise errors.ValidationFailed(f"{name} {message}", details=[{"field": name, "message": message}])


def _destination_filter(value: str | None) -> str | None:
    """The stored form of a destination filter: a JID or a BSUID as given, a phone in E.164
    however it is written (``+`` added to anything else, as destinations are stored)."""
    if not value:
        return None
    if "@" in value or phones.is_bsuid(value):
        return value
    return phones.normalize_e164(value) or "+" + value.removeprefix("+")
