"""A number's conversations as its history reads them: inbound and outbound messages in one
timeline (pure records).

A row's place in the timeline (``at``) is the provider's timestamp for an inbound message and
the acceptance time for an outbound one (so a page is read from two indexes, and a queued send
has its place before it is sent)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Direction(StrEnum):
    INBOUND = "INBOUND"
    OUTBOUND = "OUTBOUND"


class Listing(StrEnum):
    """Which history: everything, the unread inbound messages, or the group conversations."""

    ALL = "all"
    UNREAD = "unread"
    GROUPS = "groups"


@dataclass(frozen=True)
class HistoryQuery:
    number_id: str
    listing: Listing = Listing.ALL
    page: int = 1
    page_size: int = 30
    start_ms: int | None = None  # inclusive bounds on ``at`` (on ``created_at`` for groups)
    end_ms: int | None = None
    conversation: str | None = None  # one contact's (or group's) messages only


@dataclass(frozen=True)
class Retention:
    """The number's PII policy, as the history applies it."""

    pii_mode: str
    retention_days: int | None

    @property
    def relay_only(self) -> bool:
        return self.pii_mode == "RELAY_ONLY"

    def lower_bound(self, now_ms: int) -> int | None:
        """The oldest ``at`` a STORE_X_DAYS number still keeps (older rows are being deleted)."""
        if self.pii_mode != "STORE_X_DAYS" or not self.retention_days:
            return None
        return now_ms - self.retention_days * 86_400_000


@dataclass(frozen=True)
class HistoryEntry:
    """One message of a conversation (times are epoch milliseconds)."""

    id: str
    direction: Direction
    conversation: str  # the contact's number (E.164) or id, or the group's / channel's id
    chat_kind: str  # phone | group | newsletter
    status: str  # an outbound status; RECEIVED or READ inbound
    message_type: str
    at: int
    created_at: int
    external_id: str | None = None
    origin: str | None = None  # outbound only
    text: str | None = None
    sender: str | None = None  # inbound: who wrote it (in a group: the member)
    sender_name: str | None = None
    replied_to: str | None = None
    media: dict[str, Any] | None = None  # inbound: {id, url, mimeType, fileName, caption}
    sent_at: int | None = None
    delivered_at: int | None = None
    read_at: int | None = None
    redacted: bool = False
    unread_in_conversation: int | None = None  # the unread listing only


@dataclass(frozen=True)
class HistoryPage:
    entries: tuple[HistoryEntry, ...]
    total: int
    page: int
    page_size: int
    provider: str  # the number's provider kind
    media_source: str  # its name in ``media`` (``Features.media_source``)
    notice: str | None = None

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.page_size)
