"""In-memory state of the Meta simulator: registered numbers, the media store, templates,
24 h customer-service windows, rate-limit buckets and what was sent and received."""

from __future__ import annotations

import base64
import hashlib
import random
import time
from dataclasses import dataclass, field
from typing import Any

from zapgate.sim.common import Callback
from zapgate.sim.meta.templates import Template


@dataclass(frozen=True)
class SimNumber:
    """One business phone number the simulator serves."""

    phone_number_id: str
    waba_id: str
    access_token: str = field(repr=False)
    display_phone_number: str
    verified_name: str
    # Signs this number's webhooks instead of the app-level secret when set.
    app_secret: str | None = field(default=None, repr=False)

    def profile(self) -> dict[str, Any]:
        return {
            "display_phone_number": self.display_phone_number,
            "verified_name": self.verified_name,
            "quality_rating": "GREEN",
            "id": self.phone_number_id,
        }


DEFAULT_NUMBER = SimNumber(
    phone_number_id="100000000000001",
    waba_id="200000000000001",
    access_token="sim-meta-token",  # noqa: S106 - a simulator credential
    display_phone_number="15550000001",
    verified_name="Zapgate Sim",
)


@dataclass
class Media:
    id: str
    owner: str  # phone_number_id
    mime: str
    content: bytes = field(repr=False)
    filename: str | None = None
    created: float = field(default_factory=time.time)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def sha256_b64(self) -> str:
        return base64.b64encode(hashlib.sha256(self.content).digest()).decode()


def new_media_id() -> str:
    return str(random.randint(10**15, 10**16 - 1))


@dataclass
class TokenBucket:
    tokens: float | None = None
    updated: float = 0.0

    def take(self, *, capacity: float, rate: float, now: float) -> bool:
        """Take one token; capacity and rate are read per call (config may change)."""
        if self.tokens is None:
            self.tokens = capacity
        else:
            self.tokens = min(capacity, self.tokens + (now - self.updated) * rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class EmittedStatus:
    status: str
    timestamp: str
    callback: Callback | None  # None: no callback URL was configured

    def describe(self) -> dict[str, Any]:
        cb = self.callback
        return {
            "status": self.status,
            "timestamp": self.timestamp,
            "posted": cb is not None,
            "attempts": cb.attempt if cb else 0,
            "httpStatus": cb.status if cb else None,
            "postedAt": cb.posted_at if cb else None,
        }


@dataclass
class Outbound:
    id: str
    phone_number_id: str
    to: str
    wa_id: str
    type: str
    request: dict[str, Any]
    tracker: str | None
    failure: int | None
    failure_details: str | None
    billing: dict[str, Any] | None
    statuses: list[EmittedStatus] = field(default_factory=list)
    at: float = field(default_factory=time.time)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "phoneNumberId": self.phone_number_id,
            "to": self.to,
            "waId": self.wa_id,
            "type": self.type,
            "request": self.request,
            "failure": self.failure,
            "statuses": [s.describe() for s in self.statuses],
            "at": self.at,
        }


@dataclass
class Inbound:
    id: str
    phone_number_id: str
    sender: str
    type: str
    at: float = field(default_factory=time.time)
    read: bool = False
    typing: bool = False

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "phoneNumberId": self.phone_number_id,
            "from": self.sender,
            "type": self.type,
            "at": self.at,
            "readByBusiness": self.read,
            "typingIndicator": self.typing,
        }


@dataclass
class MetaState:
    numbers: dict[str, SimNumber]
    app_secret: str
    callback_url: str | None
    media: dict[str, Media] = field(default_factory=dict)
    templates: dict[str, Template] = field(default_factory=dict)
    windows: dict[tuple[str, str], float] = field(default_factory=dict)
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    pair_buckets: dict[tuple[str, str], TokenBucket] = field(default_factory=dict)
    conversations: dict[tuple[str, str, str], tuple[str, int]] = field(default_factory=dict)
    outbound: dict[str, Outbound] = field(default_factory=dict)
    inbound: dict[str, Inbound] = field(default_factory=dict)

    def clear(self) -> None:
        """``/_sim/reset``: forget runtime data; numbers and the callback URL stay."""
        for store in (
            self.media,
            self.templates,
            self.windows,
            self.buckets,
            self.pair_buckets,
            self.conversations,
            self.outbound,
            self.inbound,
        ):
            store.clear()

    def token_known(self, token: str) -> bool:
        return any(n.access_token == token for n in self.numbers.values())

    def waba_numbers(self, waba_id: str) -> list[SimNumber]:
        return [n for n in self.numbers.values() if n.waba_id == waba_id]

    def secret_for(self, number: SimNumber | None) -> str:
        return number.app_secret if number and number.app_secret else self.app_secret

    def window_open(self, pnid: str, wa_id: str, *, seconds: float) -> bool:
        opened = self.windows.get((pnid, wa_id))
        return opened is not None and time.time() - opened < seconds

    def find_template(self, waba_id: str, name: str, language: str) -> Template | None:
        for template in self.templates.values():
            if (template.waba_id, template.name, template.language) == (waba_id, name, language):
                return template
        return None

    def conversation(self, pnid: str, wa_id: str, category: str) -> tuple[str, int]:
        """A conversation id that stays the same for 24 h per (number, user, category)."""
        key = (pnid, wa_id, category)
        current = self.conversations.get(key)
        if current is None or current[1] <= time.time():
            current = (random.randbytes(16).hex(), int(time.time()) + 86400)
            self.conversations[key] = current
        return current


# Meta-specific switches of ``/_sim/config`` (on top of ``common.DEFAULT_CONFIG``).
META_DEFAULTS: dict[str, Any] = {
    # Throughput per business number (token bucket, messages per second) -> 130429.
    "mps": 80,
    # Pair rate per (number, user): burst size and refill per second -> 131056.
    "pairBurst": 45,
    "pairRatePerSecond": 1 / 6,
    # Free-form sends need an open 24 h customer-service window (opened by an inbound message).
    "enforceWindow": True,
    "windowSeconds": 86400,
    # Outside the window: synchronous 400 (true) instead of HTTP 200 + async failed (false).
    "windowErrorSync": False,
    # Statuses due in the same tick (statusDelayMs) share one POST.
    "batchStatuses": False,
    # messages[].message_status of template sends: accepted | held_for_quality_assessment | paused.
    "templateMessageStatus": "accepted",
    # Input digits -> wa_id, for numbers WhatsApp normalises (e.g. Brazil's extra 9).
    "waIdOverrides": {},
    # Lifetime of the media download URL returned by GET /{media-id}.
    "mediaUrlTtlSeconds": 300,
}
