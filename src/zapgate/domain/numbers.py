"""WhatsApp numbers as records (pure). Credentials stay sealed: a record carries the stored
ciphertext, never the opened credentials."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zapgate.domain.keys import IssuedKey
from zapgate.domain.webhooks import CreatedEndpoint

# The links of a QR-paired number: every number has its primary link; a dual number also has
# a secondary one (a second device session for the same phone, used when the primary is down).
PRIMARY = "primary"
SECONDARY = "secondary"

# A number's settings when it has not changed them (stored under these names).
DEFAULT_SETTINGS: dict[str, Any] = {
    "historyImportEnabled": True,
    "webhookHistoricalMessages": False,
    "ignoreNewsletters": False,
    "markReadOnSend": True,
    "alwaysOnline": None,
    "rejectCall": None,
    "msgRejectCall": None,
    "readMessages": None,
    "ignoreGroups": None,
    "ignoreStatus": None,
}


@dataclass(frozen=True)
class Number:
    """A number of a workspace, as stored (deleted when ``deleted_at`` is set)."""

    id: str
    workspace_id: str
    name: str
    number: str  # bare digits
    provider: str
    official: bool
    state: str
    health: str
    settings: dict[str, Any]
    pace_per_second: float | None
    pii_mode: str
    pii_retention_days: int | None
    # The provider's key for routing callbacks: Meta phone_number_id, Evolution instance name.
    provider_ref: str | None
    health_reason: str | None
    profile_name: str | None
    state_checked_at: int | None
    connected_at: int | None
    created_at: int
    updated_at: int
    # Sealed (encrypted) credentials, opened only where a provider call needs them.
    credentials_enc: str | None = field(default=None, repr=False)
    deleted_at: int | None = None
    # The second linked device of a dual number (``upgrade-to-dual``): its provider reference
    # (instance name), sealed credentials and link state. ``secondary_ref`` is None while the
    # number has one link.
    secondary_ref: str | None = None
    secondary_credentials_enc: str | None = field(default=None, repr=False)
    secondary_state: str | None = None
    secondary_connected_at: int | None = None

    @property
    def dual(self) -> bool:
        return self.secondary_ref is not None

    @property
    def connected(self) -> bool:
        """Every link the number has is OPEN (the API's ``isFullyConnected``)."""
        return self.state == "OPEN" and (not self.dual or self.secondary_state == "OPEN")

    @property
    def link_open(self) -> bool:
        """At least one link is OPEN: the number can send (through the secondary link while
        the primary is down)."""
        return self.state == "OPEN" or (self.dual and self.secondary_state == "OPEN")

    @property
    def sendable(self) -> bool:
        return self.health == "OK" and self.link_open

    def link_of(self, route: str | None) -> str:
        """Which link a provider callback naming ``route`` (its instance) came through."""
        return SECONDARY if self.dual and route is not None and route == self.secondary_ref else PRIMARY

    def state_of(self, link: str) -> str:
        return (self.secondary_state or "CLOSE") if link == SECONDARY else self.state

    @property
    def effective_settings(self) -> dict[str, Any]:
        """The stored settings over the defaults."""
        return {**DEFAULT_SETTINGS, **(self.settings or {})}


@dataclass(frozen=True)
class NewNumber:
    """A number about to be stored; ``credentials`` are opened (sealed on the way in)."""

    id: str
    workspace_id: str
    name: str
    number: str  # bare digits
    provider: str
    official: bool
    settings: dict[str, Any]
    state: str = "OPEN"
    provider_ref: str | None = None
    credentials: dict[str, Any] | None = field(default=None, repr=False)
    profile_name: str | None = None


@dataclass(frozen=True)
class Capacity:
    """What a workspace may still add: its plan's limit and its live numbers (bare digits)."""

    max_numbers: int | None
    live_numbers: tuple[str, ...]


@dataclass(frozen=True)
class DeletedNumber:
    """A soft-deleted number, restorable until ``restorable_until``."""

    id: str
    name: str
    number: str
    provider: str
    deleted_at: int
    restorable_until: int
    restorable: bool


@dataclass(frozen=True)
class KeyRef:
    """What a number listing shows of one of the number's live keys."""

    name: str
    prefix: str
    last4: str


@dataclass(frozen=True)
class ListedNumber:
    """A number with its live keys, masked."""

    number: Number
    key_refs: tuple[KeyRef, ...] = ()


@dataclass(frozen=True)
class CreatedNumber:
    """A number just added, with what is shown this once: its key, how to link the phone (QR
    kinds), and what the provider said of it (Meta)."""

    number: Number
    key: IssuedKey
    qrcode_base64: str | None = None
    pairing_code: str | None = None
    display_phone_number: str | None = None
    quality_rating: str | None = None
    # The webhook endpoint created with the number (with its secret, shown this once).
    webhook: CreatedEndpoint | None = None


@dataclass(frozen=True)
class PairingCodes:
    """What links a QR-paired number's phone: a QR code (``data:image/png;base64,...``) and,
    when the provider gives one, a code to type instead."""

    qrcode_base64: str | None
    pairing_code: str | None


@dataclass(frozen=True)
class LinkReading:
    """A number's link state: read live from the provider (``stale`` false, at ``read_at``), or
    the last one known (``stale``, as of ``read_at``)."""

    number_id: str
    state: str
    stale: bool
    read_at: int
    # Every link of the number is OPEN (for a number with one link: this one is).
    fully_connected: bool

    @property
    def connected(self) -> bool:
        return self.state == "OPEN"


@dataclass(frozen=True)
class Restored:
    """A soft-deleted number brought back; ``requires_reconnect``: its phone must be linked
    again before it sends."""

    number_id: str
    requires_reconnect: bool
