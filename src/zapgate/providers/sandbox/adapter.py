"""Sandbox provider.

It is a real provider implementation: the dispatcher calls it like any other, its answers go
through the same outcome path, and its later receipts (delivered, read) are stored as provider
events with a due time and applied by the same receipt worker real callbacks use, so they survive
a restart.

Magic destinations (documented in the README):

* ``+5511900000001`` -> FAILED ``WHATSAPP_NOT_EXIST``
* ``+5511900000002`` -> DELIVERED, never READ
* ``+5511900000003`` -> two transient provider errors, then delivered normally
* ``+5511900000004`` -> SENT, never DELIVERED
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from zapgate import errors
from zapgate.providers import common
from zapgate.providers.base import (
    AcceptedCallback,
    CallbackNumber,
    CallbackRequest,
    Capabilities,
    Features,
    OutboundMessage,
    ProviderEvent,
    ProviderKind,
    Registration,
    ScheduledReceipt,
    SendResult,
)

NOT_ON_WHATSAPP = "+5511900000001"
NEVER_READ = "+5511900000002"
FLAKY = "+5511900000003"
NEVER_DELIVERED = "+5511900000004"
FLAKY_FAILURES = 2


FEATURES = Features(
    label="Sandbox (simulated)",
    registration=Registration.CREATE,
    simulated=True,
    groups=True,
    number_check=True,
    media_source="SANDBOX",
)


class SandboxProvider:
    kind = ProviderKind.SANDBOX
    features = FEATURES

    def __init__(
        self,
        *,
        send_latency: float,
        delivered_after: float,
        read_after: float,
        pace_per_second: float,
        max_in_flight: int,
    ) -> None:
        self._latency = send_latency
        self._delivered_after = delivered_after
        self._read_after = read_after
        self._pace = pace_per_second
        self._max_in_flight = max_in_flight

    def capabilities(self, *, official: bool) -> Capabilities:
        return Capabilities(
            base64_media=True,
            groups=not official,
            newsletters=not official,
            templates_need_approval=official,
            enforces_24h_window=official,
            mark_read_on_send=official,
            default_pace_per_second=self._pace,
            max_in_flight=self._max_in_flight,
        )

    async def send(self, message: OutboundMessage) -> SendResult:
        if self._latency > 0:
            await asyncio.sleep(self._latency)
        destination = message.destination
        if destination == NOT_ON_WHATSAPP:
            raise errors.ProviderPermanentError(
                "The destination is not a WhatsApp user (sandbox)", code="WHATSAPP_NOT_EXIST"
            )
        if destination == FLAKY and message.attempt <= FLAKY_FAILURES:
            raise errors.ProviderTemporaryError(
                f"Sandbox transient error {message.attempt} of {FLAKY_FAILURES}", retry_after=None
            )
        return SendResult(
            provider_message_id="sbx_" + secrets.token_hex(12),
            receipts=self._receipts_for(destination),
            marked_read=message.mark_read and message.mark_read_message_id is not None,
        )

    def parse_callback(self, body: Any) -> list[ProviderEvent]:
        """The sandbox never calls back: its receipts are stored by the dispatcher."""
        return []

    def callback_keys(self, numbers: Sequence[CallbackNumber]) -> object:
        return None

    def accept_callback(self, request: CallbackRequest, keys: object) -> AcceptedCallback:
        raise common.refused()

    def callback_handshake(self, query: Mapping[str, str]) -> str:
        return common.no_handshake(query)

    async def aclose(self) -> None:
        return None

    def _receipts_for(self, destination: str) -> tuple[ScheduledReceipt, ...]:
        if destination == NEVER_DELIVERED:
            return ()
        delivered = ScheduledReceipt("DELIVERED", self._delivered_after)
        if destination == NEVER_READ:
            return (delivered,)
        return (delivered, ScheduledReceipt("READ", self._read_after))
