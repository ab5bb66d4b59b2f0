"""The provider seam: our own types in and out, foreign errors translated at each adapter's edge."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Capabilities:
    base64_media: bool
    groups: bool
    newsletters: bool
    templates_need_approval: bool
    enforces_24h_window: bool
    mark_read_on_send: bool
    default_pace_per_second: float
    max_in_flight: int


@dataclass(frozen=True)
class NumberRef:
    id: str
    number: str  # bare digits
    provider: str
    official: bool
    credentials: dict[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class OutboundMessage:
    message_id: str
    number: NumberRef
    destination: str
    destination_kind: str  # phone | group | newsletter
    mode: str
    payload: dict[str, Any]
    attempt: int
    mark_read: bool


@dataclass(frozen=True)
class ScheduledReceipt:
    """A status the provider will report later (the sandbox's simulated recipient)."""

    status: str  # DELIVERED | READ | FAILED
    after_seconds: float
    code: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    receipts: tuple[ScheduledReceipt, ...] = ()


class Provider(Protocol):
    kind: str

    def capabilities(self, *, official: bool) -> Capabilities: ...

    async def send(self, message: OutboundMessage) -> SendResult: ...
