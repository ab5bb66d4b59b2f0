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
import hashlib
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
    Group,
    Newsletter,
    NumberCheck,
    NumberRef,
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

    # -- directory (deterministic) -------------------------------------------------------

    async def list_groups(self, ref: NumberRef) -> tuple[Group, ...]:
        """Two groups, the same for a number every time."""
        tag = _tag(ref.id)
        return (
            Group(f"1203630{tag}01@g.us", "Sandbox: equipe", 3),
            Group(f"1203630{tag}02@g.us", "Sandbox: clientes", 12),
        )

    async def list_newsletters(self, ref: NumberRef) -> tuple[Newsletter, ...]:
        return (Newsletter(f"1203631{_tag(ref.id)}@newsletter", "Sandbox: novidades"),)

    async def check_numbers(self, ref: NumberRef, numbers: Sequence[str]) -> tuple[NumberCheck, ...]:
        """Every number has WhatsApp but ``NOT_ON_WHATSAPP``; a Brazilian mobile's address
        follows WhatsApp's rule: without the 9th digit in area codes 31 and above, with it
        below (whichever way the caller wrote it)."""
        return tuple(
            NumberCheck(number, False)
            if number == NOT_ON_WHATSAPP
            else NumberCheck(number, True, sandbox_jid(number))
            for number in numbers
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


def _tag(number_id: str) -> str:
    """Eight digits from a number id (stable ids for its simulated groups and channel)."""
    return str(int(hashlib.sha256(number_id.encode()).hexdigest()[:8], 16) % 10**8).zfill(8)


def sandbox_jid(number: str) -> str:
    """The WhatsApp address of ``number`` (E.164) as the sandbox answers it."""
    digits = number.lstrip("+")
    if digits.startswith("55") and len(digits) in (12, 13):
        area, rest = digits[2:4], digits[4:]
        if len(rest) == 9 and rest[0] == "9" and rest[1] in "6789" and int(area) >= 31:
            rest = rest[1:]
        elif len(rest) == 8 and rest[0] in "6789" and int(area) < 31:
            rest = "9" + rest
        digits = "55" + area + rest
    return digits + "@s.whatsapp.net"
