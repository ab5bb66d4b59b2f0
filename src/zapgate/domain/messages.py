"""Outbound messages as the read side sees them: frozen records, a query and a page (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from zapgate.domain.lifecycle import Status


@dataclass(frozen=True)
class Message:
    """One outbound message (times are epoch milliseconds)."""

    id: str
    number_id: str
    status: Status
    correlation_id: str
    destination: str
    origin: str
    created_at: int
    deliver_at: int
    attempts: int
    provider_message_id: str | None = None
    template_name: str | None = None
    deliver_until: int | None = None
    sent_at: int | None = None
    delivered_at: int | None = None
    read_at: int | None = None
    failed_at: int | None = None
    canceled_at: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    meta_pricing: dict[str, Any] | None = None
    labels: tuple[str, ...] = ()
    redacted_at: int | None = None
    lease_until: int | None = None


@dataclass(frozen=True)
class TimelineEntry:
    status: str
    at: int
    source: str
    applied: bool
    code: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class MessageQuery:
    """A page of one number's outbound log, newest first; every filter optional."""

    number_id: str
    page: int = 1
    page_size: int = 30
    statuses: tuple[Status, ...] = ()
    created_from: int | None = None
    created_to: int | None = None
    destination: str | None = None  # as stored (E.164 with +, a JID or a BSUID)
    label: str | None = None


@dataclass(frozen=True)
class MessagePage:
    messages: tuple[Message, ...]
    total: int
    page: int
    page_size: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.page_size)


# -- the accept path -------------------------------------------------------------------------


@dataclass(frozen=True)
class SendingNumber:
    """A live number as the accept path needs it, with its workspace's plan."""

    id: str
    workspace_id: str
    number: str
    provider: str
    official: bool
    settings: dict[str, Any] | None
    state: str
    plan: str
    monthly_message_limit: int | None


@dataclass(frozen=True)
class Reservation:
    """An Idempotency-Key claimed for one request body (``request_hash``)."""

    workspace_id: str
    number_id: str
    key: str
    request_hash: str


@dataclass(frozen=True)
class Accepted:
    """A send taken into the queue (QUEUED): what its answer says. ``replayed`` when it is the
    stored answer to an earlier request with the same Idempotency-Key."""

    id: str
    correlation_id: str
    created_at: int
    origin: str
    source_number: str
    flow_token: str | None = None
    replayed: bool = False


@dataclass(frozen=True)
class HeldKey:
    """A live Idempotency-Key record that another request holds: ``DONE`` with the accepted send
    to replay, or still locked by a request in progress."""

    state: str
    request_hash: str
    accepted: Accepted | None


@dataclass
class PendingSend:
    """An accepted send waiting for its group commit: ``row`` is the ``messages`` row exactly as
    inserted (a dict, so the batch goes to one INSERT without conversion)."""

    row: dict[str, Any]
    labels: tuple[str, ...]
    accepted: Accepted
    reservation: Reservation | None
    monthly_limit: int | None
